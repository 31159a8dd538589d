// The prometheusremotewrite exporter's settings, with the Collector's names and defaults
// (contrib exporter/prometheusremotewriteexporter), and the exporter helper's queue and retries.
import { z } from 'zod';
import { clientTlsSchema, duration, httpUrl, positiveInt } from '../../src/config/types.ts';
import { exporterHelperSchema, validateExporterHelper } from '../../src/exporterhelper/config.ts';
import { headersSchema } from '../otlp/config.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const prwConfigSchema = z.strictObject({
  /** The remote-write URL, like http://prometheus:9090/api/v1/write. Required. */
  endpoint: httpUrl().optional(),
  /** Prefix of every metric name (`<namespace>_<name>`). */
  namespace: z.string({ error: 'expected a string' }).default(''),
  /** Labels added to every series. */
  external_labels: z
    .record(
      z.string().regex(LABEL_NAME, { error: (i) => `expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "${String(i.input)}"` }),
      z.string({ error: 'expected a string label value' }),
      { error: (issue) => (issue.code === 'invalid_key' ? issue.issues[0]?.message : issue.code === 'invalid_type' ? 'expected a map of label name to value' : undefined) },
    )
    .default({}),
  /** HTTP headers sent with every request (X-Scope-OrgID for Mimir, an Authorization...). */
  headers: headersSchema,
  /** TLS for https endpoints. */
  tls: clientTlsSchema,
  /** Time allowed for each request. */
  timeout: duration('5s'),
  /** Requests are split so that none carries more than this many bytes (before compression). */
  max_batch_size_bytes: positiveInt(3_000_000),
  /** Every resource attribute also becomes a label on every series. */
  resource_to_telemetry_conversion: z.strictObject({ enabled: z.boolean({ error: 'expected true or false' }).default(false) }).default({ enabled: false }),
  /** One target_info series per resource, with its attributes as labels. */
  target_info: z.strictObject({ enabled: z.boolean({ error: 'expected true or false' }).default(true) }).default({ enabled: true }),
  /** Add the unit and _total suffixes of the standard translation. */
  add_metric_suffixes: z.boolean({ error: 'expected true or false' }).default(true),
  sending_queue: exporterHelperSchema.sending_queue,
  retry_on_failure: exporterHelperSchema.retry_on_failure,
});

export type PrwConfig = z.infer<typeof prwConfigSchema>;

export function validatePrwConfig(config: PrwConfig): string[] {
  const problems: string[] = [];
  if (!config.endpoint) problems.push('endpoint must be set: expected a URL like http://prometheus:9090/api/v1/write');
  if (config.timeout <= 0) problems.push('timeout must be greater than zero: expected a duration like 5s');
  if ((config.tls.cert_file === undefined) !== (config.tls.key_file === undefined))
    problems.push('tls.cert_file and tls.key_file go together: expected both (a client certificate) or neither');
  return [...problems, ...validateExporterHelper(config)];
}
