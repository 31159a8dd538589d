// The metrics_aggregation processor's settings.
import { z } from 'zod';
import { duration, nonNegativeInt } from '../../src/config/types.ts';

const names = z.array(z.string({ error: 'expected a metric name' }), { error: 'expected a list of metric names' }).min(1, 'expected at least one metric name');
const keys = z.array(z.string({ error: 'expected an attribute key' }), { error: 'expected a list of attribute keys' });

export const ruleSchema = z
  .strictObject({
    /** The metrics this rule folds, by name. */
    metric_names: names,
    /** `strict`: equal names; `regexp`: the name matches the expression somewhere (anchor it with ^ and $). */
    match_type: z.enum(['strict', 'regexp'], { error: 'expected strict or regexp' }).default('strict'),
    /** Point attributes to keep; every other one is folded away. */
    keep_attributes: keys.optional(),
    /** Point attributes to fold away; every other one is kept. */
    drop_attributes: keys.optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.keep_attributes && rule.drop_attributes) {
      ctx.addIssue({ code: 'custom', message: 'give keep_attributes or drop_attributes, not both' });
    }
    if (rule.match_type === 'regexp') {
      rule.metric_names.forEach((n, i) => {
        try {
          new RegExp(n);
        } catch (error) {
          ctx.addIssue({ code: 'custom', path: ['metric_names', i], message: `expected a regular expression: ${(error as Error).message}` });
        }
      });
    }
  });

export const configSchema = z
  .strictObject({
    /** How often the aggregated series go out. */
    interval: duration('60s'),
    /** Temporality of the sums and histograms sent out: `cumulative` or `delta`. */
    aggregation_temporality: z.enum(['cumulative', 'delta'], { error: 'expected cumulative or delta' }).default('cumulative'),
    /** What the first point of a cumulative input series counts for: auto, keep or drop. */
    initial_value: z.enum(['auto', 'keep', 'drop'], { error: 'expected auto, keep or drop' }).default('auto'),
    /** Series per metric (per resource and scope) before new ones fold into the overflow series; 0 = no limit. */
    max_series: nonNegativeInt(10_000),
    /** Series (input and cumulative output) not updated for this long are forgotten; 0 keeps them. */
    expiration: duration('5m'),
    /** How the latest values of the folded gauge series combine: sum, min, max, mean or last. */
    gauge_aggregation: z.enum(['sum', 'min', 'max', 'mean', 'last'], { error: 'expected sum, min, max, mean or last' }).default('sum'),
    /** Which metrics are folded and how; the first rule whose names match applies. Others pass unchanged. */
    rules: z.array(ruleSchema).default([]),
  })
  .refine((c) => c.interval > 0, { path: ['interval'], message: 'expected a duration above 0' });

export type MetricsAggregationConfig = z.infer<typeof configSchema>;
export type AggregationRule = z.infer<typeof ruleSchema>;
