// The otlp_http exporter's settings, as in the Collector's otlp_http (formerly otlphttp) exporter.
import { z } from 'zod';
import { clientTlsSchema, duration } from '../../src/config/types.ts';
import { exporterHelperSchema, validateExporterHelper } from '../../src/exporterhelper/config.ts';
import { compressionSchema, headersSchema, profilesSwitchSchema } from '../otlp/config.ts';
import { type ExportSignal, httpPath } from '../otlp/export-signal.ts';

function url() {
  return z
    .string({ error: 'expected a URL like http://host:port' })
    .refine(
      (s) => {
        try {
          return ['http:', 'https:'].includes(new URL(s).protocol);
        } catch {
          return false;
        }
      },
      { error: (issue) => `expected a URL like http://host:port, got "${String(issue.input)}"` },
    );
}

export const otlpHttpConfigSchema = z.strictObject({
  /** Base URL; /v1/traces, /v1/metrics, /v1/logs (and /v1development/profiles) are appended. */
  endpoint: url().optional(),
  /** Full URL for traces, used as is instead of endpoint + /v1/traces. */
  traces_endpoint: url().optional(),
  /** Full URL for metrics, used as is instead of endpoint + /v1/metrics. */
  metrics_endpoint: url().optional(),
  /** Full URL for logs, used as is instead of endpoint + /v1/logs. */
  logs_endpoint: url().optional(),
  /** Full URL for profiles, used as is instead of endpoint + /v1development/profiles. */
  profiles_endpoint: url().optional(),
  /** TLS for https URLs (the scheme decides whether TLS is used). */
  tls: clientTlsSchema,
  /** HTTP headers sent with every request. */
  headers: headersSchema,
  /** Content-Encoding of each request body. */
  compression: compressionSchema,
  /** proto (application/x-protobuf) or json (application/json). */
  encoding: z.enum(['proto', 'json'], { error: (issue) => `expected proto or json, got ${JSON.stringify(issue.input)}` }).default('proto'),
  /** Time allowed for each request, from connecting to reading the response. */
  timeout: duration('30s'),
  /** Queue and retries, as the Collector's exporterhelper (src/exporterhelper/README.md). */
  sending_queue: exporterHelperSchema.sending_queue,
  retry_on_failure: exporterHelperSchema.retry_on_failure,
  /** The profiles signal (development status in OpenTelemetry), off by default. */
  profiles: profilesSwitchSchema,
});

export type OtlpHttpConfig = z.infer<typeof otlpHttpConfigSchema>;

export function validateOtlpHttpConfig(config: OtlpHttpConfig): string[] {
  const problems: string[] = [];
  if (!config.endpoint && !config.traces_endpoint && !config.metrics_endpoint && !config.logs_endpoint && !config.profiles_endpoint)
    problems.push('endpoint must be set (or traces_endpoint, metrics_endpoint, logs_endpoint, profiles_endpoint): expected a URL like http://collector:4318');
  // bpfcol has an OTLP/JSON codec for traces, metrics and logs, not for profiles.
  if (config.profiles.enabled && config.encoding === 'json')
    problems.push('profiles.enabled needs encoding: proto: bpfcol sends profiles as protobuf only (use a second otlp_http exporter for JSON traces, metrics and logs)');
  if (config.timeout <= 0) problems.push('timeout must be greater than zero: expected a duration like 30s');
  if ((config.tls.cert_file === undefined) !== (config.tls.key_file === undefined))
    problems.push('tls.cert_file and tls.key_file go together: expected both (a client certificate) or neither');
  return [...problems, ...validateExporterHelper(config)];
}

/** The URL a signal is sent to: its own *_endpoint, or endpoint + /v1/<signal> (/v1development/profiles). */
export function signalUrl(config: OtlpHttpConfig, signal: ExportSignal): string | undefined {
  const override = config[`${signal}_endpoint`];
  if (override) return override;
  if (!config.endpoint) return undefined;
  return config.endpoint.replace(/\/$/, '') + httpPath(signal);
}
