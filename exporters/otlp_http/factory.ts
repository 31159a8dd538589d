// The otlp_http exporter: sends traces, metrics and logs over OTLP/HTTP (protobuf or JSON), as
// the Collector's otlp_http exporter (formerly otlphttp, which the Collector still accepts as an alias).
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import type { OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import { otlpWithHelper } from '../otlp/exporter.ts';
import { type OtlpHttpConfig, otlpHttpConfigSchema, signalUrl, validateOtlpHttpConfig } from './config.ts';
import { httpTransport } from './http-transport.ts';

function create<S extends OtlpSignal>(signal: S) {
  return (settings: CreateSettings, config: OtlpHttpConfig) => {
    const url = signalUrl(config, signal);
    if (!url) throw new Error(`${settings.id.text}: no URL for ${signal}: expected endpoint or ${signal}_endpoint`);
    return otlpWithHelper(signal, settings, config, () => httpTransport(signal, url, config, settings));
  };
}

export const otlpHttpFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  description: 'Sends traces, metrics and logs to an OTLP/HTTP endpoint, protobuf or JSON (the Collector\'s otlp_http / otlphttp exporter)',
  configSchema: otlpHttpConfigSchema,
  validate: validateOtlpHttpConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
  },
};
