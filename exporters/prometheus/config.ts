// Config of the prometheus exporter, with the keys and defaults of the Collector's prometheusexporter.
import { z } from 'zod';
import { duration, endpoint } from '../../src/config/types.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const prometheusConfigSchema = z.strictObject({
  /** Where Prometheus scrapes, path /metrics. */
  endpoint: endpoint('127.0.0.1:9464'),
  /** Prefix of every metric name (`<namespace>_<name>`); invalid characters become `_`. */
  namespace: z.string({ error: 'expected a string' }).default(''),
  /** Labels added to every series (not to target_info). */
  const_labels: z
    .record(
      z.string().regex(LABEL_NAME, { error: (i) => `expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "${String(i.input)}"` }),
      z.string({ error: 'expected a string label value' }),
      {
        // Keep the key's own message (what a label name must look like) rather than a generic one.
        error: (issue) =>
          issue.code === 'invalid_key' ? issue.issues[0]?.message : issue.code === 'invalid_type' ? 'expected a map of label name to value' : undefined,
      },
    )
    .default({}),
  /** Write each sample's timestamp (the point's time) after its value. */
  send_timestamps: z.boolean({ error: 'expected true or false' }).default(false),
  /** A series not updated for this long is no longer served. */
  metric_expiration: duration('5m'),
  /** Every resource attribute also becomes a label on every series. */
  resource_to_telemetry_conversion: z
    .strictObject({ enabled: z.boolean({ error: 'expected true or false' }).default(false) }, { error: 'expected a map with the key enabled' })
    .default({ enabled: false }),
  /** Leave out the otel_scope_* labels. */
  without_scope_info: z.boolean({ error: 'expected true or false' }).default(false),
  /** Accepted for Collector configs; only false: bpfcol serves the Prometheus text format. */
  enable_open_metrics: z
    .boolean({ error: 'expected true or false' })
    .default(false)
    .refine((v) => !v, 'expected false: OpenMetrics output is not supported, bpfcol serves the Prometheus text format'),
});

export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;
