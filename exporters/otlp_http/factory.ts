// The otlp_http exporter: sends traces, metrics and logs over OTLP/HTTP (protobuf or JSON), as
// the Collector's otlp_http exporter (formerly otlphttp, which the Collector still accepts as an alias),
// and profiles (protobuf) when `profiles.enabled` (development status in OpenTelemetry).
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { type ExportSignal, profilesDisabled } from '../otlp/export-signal.ts';
import { otlpWithHelper } from '../otlp/exporter.ts';
import { type OtlpHttpConfig, otlpHttpConfigSchema, signalUrl, validateOtlpHttpConfig } from './config.ts';
import { httpTransport } from './http-transport.ts';

function create<S extends ExportSignal>(signal: S) {
  return (settings: CreateSettings, config: OtlpHttpConfig) => {
    // A profiles pipeline through an exporter with profiles off: refuse to start, naming the key.
    if (signal === 'profiles' && !config.profiles.enabled) throw profilesDisabled(settings.id.text);
    const url = signalUrl(config, signal);
    if (!url) throw new Error(`${settings.id.text}: no URL for ${signal}: expected endpoint or ${signal}_endpoint`);
    return otlpWithHelper(signal, settings, config, () => httpTransport(signal, url, config, settings));
  };
}

export const otlpHttpFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  description: 'Sends traces, metrics, logs and (with profiles.enabled) profiles to an OTLP/HTTP endpoint, protobuf or JSON (the Collector\'s otlp_http / otlphttp exporter)',
  configSchema: otlpHttpConfigSchema,
  validate: validateOtlpHttpConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
