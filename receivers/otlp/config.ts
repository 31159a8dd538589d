// The otlp receiver's config, laid out as the OpenTelemetry Collector's otlpreceiver:
// `protocols: { grpc: {...}, http: {...} }`. A protocol absent from the config is not started;
// one written without settings (`grpc:` in YAML, i.e. null, or `grpc: {}`) runs with the defaults.
import { z } from 'zod';
import { endpoint, nonNegativeInt, positiveInt, serverTlsSchema } from '../../src/config/types.ts';

const MIB = 1024 * 1024;

export const GRPC_DEFAULT_ENDPOINT = '127.0.0.1:4317';
export const HTTP_DEFAULT_ENDPOINT = '127.0.0.1:4318';
export const DEFAULT_MAX_RECV_MSG_SIZE_MIB = 4;
export const DEFAULT_MAX_REQUEST_BODY_SIZE = 20 * MIB;

/** `grpc:` with nothing after it is null in YAML and means "on, with the defaults". */
function enabledWithDefaults<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? {} : value), schema.optional());
}

/** A URL path; a missing leading slash is added, as the Collector does. */
function urlPath(defaultValue: string) {
  return z
    .string({ error: 'expected a URL path like /v1/traces' })
    .min(1, 'expected a URL path like /v1/traces')
    .default(defaultValue)
    .transform((path) => (path.startsWith('/') ? path : '/' + path));
}

const grpcSchema = z.strictObject({
  endpoint: endpoint(GRPC_DEFAULT_ENDPOINT),
  max_recv_msg_size_mib: positiveInt(DEFAULT_MAX_RECV_MSG_SIZE_MIB),
  tls: serverTlsSchema,
});

const corsSchema = z.strictObject({
  allowed_origins: z.array(z.string({ error: 'expected an origin like https://*.example.com' })).default([]),
  allowed_headers: z.array(z.string({ error: 'expected a header name' })).default([]),
  max_age: nonNegativeInt(0),
});

const httpSchema = z.strictObject({
  endpoint: endpoint(HTTP_DEFAULT_ENDPOINT),
  traces_url_path: urlPath('/v1/traces'),
  metrics_url_path: urlPath('/v1/metrics'),
  logs_url_path: urlPath('/v1/logs'),
  max_request_body_size: positiveInt(DEFAULT_MAX_REQUEST_BODY_SIZE),
  cors: corsSchema.optional(),
  tls: serverTlsSchema,
});

export const otlpReceiverConfigSchema = z.strictObject({
  protocols: z
    .strictObject({
      grpc: enabledWithDefaults(grpcSchema),
      http: enabledWithDefaults(httpSchema),
    })
    .default({}),
});

export type OtlpReceiverConfig = z.infer<typeof otlpReceiverConfigSchema>;
export type GrpcConfig = z.infer<typeof grpcSchema>;
export type HttpConfig = z.infer<typeof httpSchema>;
export type CorsConfig = z.infer<typeof corsSchema>;

/** What the schema alone cannot say: the Collector refuses an otlp receiver without protocols. */
export function validateOtlpReceiverConfig(config: OtlpReceiverConfig): string[] {
  const { grpc, http } = config.protocols;
  if (!grpc && !http) {
    return ['protocols: expected at least one of grpc or http (write `grpc:` or `http:` for the defaults)'];
  }
  return [];
}
