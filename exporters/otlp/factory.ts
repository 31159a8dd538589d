// The otlp exporter: sends traces, metrics and logs over OTLP/gRPC, as the Collector's otlp exporter,
// and profiles when `profiles.enabled` (development status in OpenTelemetry).
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { type OtlpConfig, otlpConfigSchema, validateOtlpConfig } from './config.ts';
import { type ExportSignal, profilesDisabled } from './export-signal.ts';
import { otlpWithHelper } from './exporter.ts';
import { grpcTransport } from './grpc-transport.ts';

function create<S extends ExportSignal>(signal: S) {
  return (settings: CreateSettings, config: OtlpConfig) => {
    // A profiles pipeline through an exporter with profiles off: refuse to start, naming the key.
    if (signal === 'profiles' && !config.profiles.enabled) throw profilesDisabled(settings.id.text);
    return otlpWithHelper(signal, settings, config, () => grpcTransport(signal, config, settings));
  };
}

export const otlpFactory: ExporterFactory<OtlpConfig> = {
  kind: 'exporter',
  type: 'otlp',
  description: 'Sends traces, metrics, logs and (with profiles.enabled) profiles to an OTLP/gRPC endpoint (the Collector\'s otlp / otlp_grpc exporter)',
  configSchema: otlpConfigSchema,
  validate: validateOtlpConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
