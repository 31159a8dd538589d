// The otlp exporter: sends traces, metrics and logs over OTLP/gRPC, as the Collector's otlp exporter.
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import type { OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import { type OtlpConfig, otlpConfigSchema, validateOtlpConfig } from './config.ts';
import { otlpWithHelper } from './exporter.ts';
import { grpcTransport } from './grpc-transport.ts';

function create<S extends OtlpSignal>(signal: S) {
  return (settings: CreateSettings, config: OtlpConfig) => otlpWithHelper(signal, settings, config, () => grpcTransport(signal, config, settings));
}

export const otlpFactory: ExporterFactory<OtlpConfig> = {
  kind: 'exporter',
  type: 'otlp',
  description: 'Sends traces, metrics and logs to an OTLP/gRPC endpoint (the Collector\'s otlp / otlp_grpc exporter)',
  configSchema: otlpConfigSchema,
  validate: validateOtlpConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
  },
};
