// The spanmetrics connector's settings, with the Collector's keys and defaults.
import { z } from 'zod';
import { duration, nonNegativeInt, parseDuration, positiveInt } from '../../src/config/types.ts';

/** A duration like 2ms, kept in milliseconds (fractions allowed: 100us = 0.1). */
const bucket = z.string({ error: 'expected a duration like 10ms' }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 10ms, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

export const dimensionSchema = z.strictObject({
  /** Looked up in the span's attributes, then its resource's. */
  name: z.string({ error: 'expected an attribute name' }).min(1, 'expected a non-empty attribute name'),
  /** Used when the attribute is absent; without it the dimension is left out. */
  default: z.string().optional(),
});

export const DEFAULT_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000];

const RESERVED = ['service.name', 'span.name', 'span.kind', 'status.code'];

export const configSchema = z
  .strictObject({
    histogram: z
      .strictObject({
        disable: z.boolean().default(false),
        /** Unit of the duration histogram: ms or s. */
        unit: z.enum(['ms', 's'], { error: 'expected ms or s' }).default('ms'),
        explicit: z.strictObject({ buckets: z.array(bucket).min(1, 'expected at least one bucket').optional() }).optional(),
        exponential: z.strictObject({ max_size: positiveInt(160) }).optional(),
      })
      .default({ disable: false, unit: 'ms' }),
    dimensions: z.array(dimensionSchema).default([]),
    /** Of service.name, span.name, span.kind, status.code. */
    exclude_dimensions: z.array(z.string()).default([]),
    /** Accepted for Collector configs; use aggregation_cardinality_limit. */
    dimensions_cache_size: positiveInt(1000),
    /** Resources (services) whose metrics are kept at once; the least recently seen goes first. */
    resource_metrics_cache_size: positiveInt(1000),
    /** Resource attributes that tell resources apart (all when empty). */
    resource_metrics_key_attributes: z.array(z.string()).default([]),
    aggregation_temporality: z
      .enum(['AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_DELTA'], { error: 'expected AGGREGATION_TEMPORALITY_CUMULATIVE or AGGREGATION_TEMPORALITY_DELTA' })
      .default('AGGREGATION_TEMPORALITY_CUMULATIVE'),
    /** Prefix of the metric names: `<namespace>.calls`, `<namespace>.duration`. */
    namespace: z.string().default('traces.span.metrics'),
    metrics_flush_interval: duration('15s'),
    /** Resources with no span for this long are no longer exported; 0 keeps them. */
    metrics_expiration: duration('0'),
    /** Delta temporality: how many series remember their last flush time (the next point's start). */
    metric_timestamp_cache_size: positiveInt(1000),
    /** Series per metric per resource before new ones go to the overflow series; 0 = no limit. */
    aggregation_cardinality_limit: nonNegativeInt(0),
    exemplars: z.strictObject({ enabled: z.boolean().default(false), max_per_data_point: positiveInt(5) }).default({ enabled: false, max_per_data_point: 5 }),
    events: z.strictObject({ enabled: z.boolean().default(false), dimensions: z.array(dimensionSchema).default([]) }).default({ enabled: false, dimensions: [] }),
    /** Scope names whose spans get span.instrumentation.scope.name/version dimensions. */
    include_instrumentation_scope: z.array(z.string()).default([]),
  })
  .superRefine((c, ctx) => {
    if (c.histogram.explicit && c.histogram.exponential) {
      ctx.addIssue({ code: 'custom', path: ['histogram'], message: 'use either explicit or exponential buckets, not both' });
    }
    const seen = new Set(RESERVED);
    c.dimensions.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['dimensions', i, 'name'], message: `duplicate dimension name ${d.name}` });
      seen.add(d.name);
    });
    if (c.events.enabled && c.events.dimensions.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['events', 'dimensions'], message: 'expected at least one dimension when events are enabled' });
    }
    if (c.metrics_flush_interval <= 0) ctx.addIssue({ code: 'custom', path: ['metrics_flush_interval'], message: 'expected a duration above 0' });
  });

export type SpanMetricsConfig = z.infer<typeof configSchema>;
export type Dimension = z.infer<typeof dimensionSchema>;
