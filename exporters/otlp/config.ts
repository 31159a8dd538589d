// The otlp exporter's settings, as in the Collector's otlpexporter (configgrpc client settings).
import { z } from 'zod';
import { clientTlsSchema, duration } from '../../src/config/types.ts';
import { exporterHelperSchema, validateExporterHelper } from '../../src/exporterhelper/config.ts';

/** `host:port`, or `http://host:port` (plain text) / `https://host:port` (TLS), as configgrpc accepts. */
const GRPC_ENDPOINT = /^(https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[^:\s/[\]]+):\d{1,5}\/?$/;

export const headersSchema = z
  .record(z.string(), z.string({ error: 'expected a header value (a string)' }), { error: 'expected a map of header names to values' })
  .default({});

export const compressionSchema = z
  .enum(['gzip', 'none'], { error: (issue) => `expected gzip or none, got ${JSON.stringify(issue.input)}` })
  .default('gzip');

/** The profiles signal: off unless asked for (development status in OpenTelemetry). */
export const profilesSwitchSchema = z
  .strictObject({
    /** Send profiles; the receiving Collector needs --feature-gates=service.profilesSupport. */
    enabled: z.boolean({ error: 'expected true or false' }).default(false),
  })
  .default({ enabled: false });

export const otlpConfigSchema = z.strictObject({
  /** Where to send: `host:port` (or `https://host:port`, `http://host:port`). Required. */
  endpoint: z
    .string({ error: 'expected host:port' })
    .default('')
    .refine((s) => s === '' || GRPC_ENDPOINT.test(s), { error: (issue) => `expected host:port, got "${String(issue.input)}"` }),
  /** TLS is on unless `insecure: true` (or an http:// endpoint). */
  tls: clientTlsSchema,
  /** gRPC metadata sent with every request (an API key, a tenant). */
  headers: headersSchema,
  /** Compression of each request. */
  compression: compressionSchema,
  /** Deadline of each export call. */
  timeout: duration('5s'),
  /** Queue and retries, as the Collector's exporterhelper (src/exporterhelper/README.md). */
  sending_queue: exporterHelperSchema.sending_queue,
  retry_on_failure: exporterHelperSchema.retry_on_failure,
  /** The profiles signal (development status in OpenTelemetry), off by default. */
  profiles: profilesSwitchSchema,
});

export type OtlpConfig = z.infer<typeof otlpConfigSchema>;

export function validateOtlpConfig(config: OtlpConfig): string[] {
  const problems: string[] = [];
  if (config.endpoint === '') problems.push('endpoint must be set: expected host:port of an OTLP/gRPC receiver, like collector:4317');
  if (config.timeout <= 0) problems.push('timeout must be greater than zero: expected a duration like 5s');
  if ((config.tls.cert_file === undefined) !== (config.tls.key_file === undefined))
    problems.push('tls.cert_file and tls.key_file go together: expected both (a client certificate) or neither');
  return [...problems, ...validateExporterHelper(config)];
}

/** The gRPC target and whether it uses TLS, from the endpoint's scheme or `tls.insecure`. */
export function grpcTarget(config: OtlpConfig): { target: string; secure: boolean } {
  const m = /^(https?):\/\/(.*?)\/?$/.exec(config.endpoint);
  if (m) return { target: m[2]!, secure: m[1] === 'https' };
  return { target: config.endpoint, secure: !config.tls.insecure };
}
