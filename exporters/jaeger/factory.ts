// The jaeger exporter: traces to Jaeger's collector. By default OTLP (what Jaeger ≥ 1.35 and v2
// take), sent by the otlp / otlp_http exporters themselves with Jaeger's endpoints and
// plain-text default; `protocol: thrift_http` speaks Jaeger's own Thrift over HTTP for older
// Jaegers. All three go through the exporter helper (queue, retries).
import type { CreateSettings, Exporter, ExporterFactory } from '../../src/component/component.ts';
import { newExporter } from '../../src/exporterhelper/exporter.ts';
import type { OtlpConfig } from '../otlp/config.ts';
import { otlpFactory } from '../otlp/factory.ts';
import type { OtlpHttpConfig } from '../otlp_http/config.ts';
import { otlpHttpFactory } from '../otlp_http/factory.ts';
import { endpointOf, type JaegerConfig, jaegerConfigSchema, validateJaegerConfig } from './config.ts';
import { ThriftHttpSender } from './thrift-sender.ts';

function createTraces(settings: CreateSettings, config: JaegerConfig): Exporter<'traces'> {
  const problems = validateJaegerConfig(config);
  if (problems.length > 0) throw new Error(`${settings.id.text}: ${problems.join('; ')}`);
  const common = {
    tls: config.tls,
    headers: config.headers,
    compression: config.compression ?? 'gzip',
    timeout: config.timeout,
    sending_queue: config.sending_queue,
    retry_on_failure: config.retry_on_failure,
    profiles: { enabled: false }, // Jaeger takes traces only.
  };
  switch (config.protocol) {
    case 'otlp_grpc': {
      const otlp: OtlpConfig = { ...common, endpoint: endpointOf(config) };
      return otlpFactory.create.traces!(settings, otlp);
    }
    case 'otlp_http': {
      const otlpHttp: OtlpHttpConfig = { ...common, endpoint: endpointOf(config), encoding: 'proto' };
      return otlpHttpFactory.create.traces!(settings, otlpHttp);
    }
    case 'thrift_http': {
      const helper = { sending_queue: config.sending_queue, retry_on_failure: config.retry_on_failure, timeout: 0 };
      return newExporter('traces', settings, helper, new ThriftHttpSender(settings, config));
    }
  }
}

export const jaegerFactory: ExporterFactory<JaegerConfig> = {
  kind: 'exporter',
  type: 'jaeger',
  description: 'Sends traces to Jaeger\'s collector: OTLP gRPC or HTTP (Jaeger ≥ 1.35, v2), or Thrift over HTTP (/api/traces, any Jaeger)',
  configSchema: jaegerConfigSchema,
  validate: validateJaegerConfig,
  create: { traces: createTraces },
};
