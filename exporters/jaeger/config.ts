// The jaeger exporter's settings: which of Jaeger's collector protocols to speak, where, and the
// otlp exporters' client keys (Jaeger's collector listens in plain text by default, so does this).
import { z } from 'zod';
import { clientTlsSchema, duration } from '../../src/config/types.ts';
import { exporterHelperSchema, validateExporterHelper } from '../../src/exporterhelper/config.ts';
import { compressionSchema, headersSchema, otlpConfigSchema } from '../otlp/config.ts';
import { otlpHttpConfigSchema } from '../otlp_http/config.ts';

export const PROTOCOLS = ['otlp_grpc', 'otlp_http', 'thrift_http'] as const;
export type JaegerProtocol = (typeof PROTOCOLS)[number];

/** Jaeger's default collector endpoints. */
export const DEFAULT_ENDPOINTS: Record<JaegerProtocol, string> = {
  otlp_grpc: 'localhost:4317',
  otlp_http: 'http://localhost:4318',
  thrift_http: 'http://localhost:14268/api/traces',
};

/** The client TLS settings, plain text unless told otherwise (Jaeger's collector default). */
const jaegerTlsSchema = clientTlsSchema
  .unwrap()
  .extend({ insecure: z.boolean({ error: 'expected true or false' }).default(true) })
  .default({ insecure: true, insecure_skip_verify: false });

export const jaegerConfigSchema = z.strictObject({
  /** otlp_grpc (Jaeger ≥ 1.35 and v2, port 4317), otlp_http (port 4318) or thrift_http (/api/traces on 14268, any Jaeger). */
  protocol: z.enum(PROTOCOLS, { error: (issue) => `expected otlp_grpc, otlp_http or thrift_http, got ${JSON.stringify(issue.input)}` }).default('otlp_grpc'),
  /** host:port for otlp_grpc, a base URL for otlp_http, the full /api/traces URL for thrift_http; Jaeger's default when absent. */
  endpoint: z.string({ error: 'expected an endpoint (host:port, or a URL)' }).optional(),
  tls: jaegerTlsSchema,
  headers: headersSchema,
  /** gzip for the OTLP protocols; none for thrift_http (Jaeger 1.x's collector does not read gzip there). */
  compression: compressionSchema.unwrap().optional(),
  timeout: duration('5s'),
  sending_queue: exporterHelperSchema.sending_queue,
  retry_on_failure: exporterHelperSchema.retry_on_failure,
});

export type JaegerConfig = z.infer<typeof jaegerConfigSchema>;

export function endpointOf(config: JaegerConfig): string {
  return config.endpoint ?? DEFAULT_ENDPOINTS[config.protocol];
}

export function validateJaegerConfig(config: JaegerConfig): string[] {
  const problems: string[] = [];
  const endpoint = endpointOf(config);
  if (config.protocol === 'otlp_grpc') {
    const r = otlpConfigSchema.shape.endpoint.safeParse(endpoint);
    if (!r.success) problems.push(`endpoint: ${r.error.issues[0]!.message} (protocol otlp_grpc)`);
  } else {
    const r = otlpHttpConfigSchema.shape.endpoint.safeParse(endpoint);
    if (!r.success) problems.push(`endpoint: ${r.error.issues[0]!.message} (protocol ${config.protocol})`);
  }
  if (config.timeout <= 0) problems.push('timeout must be greater than zero: expected a duration like 5s');
  if ((config.tls.cert_file === undefined) !== (config.tls.key_file === undefined))
    problems.push('tls.cert_file and tls.key_file go together: expected both (a client certificate) or neither');
  return [...problems, ...validateExporterHelper(config)];
}
