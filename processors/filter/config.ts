// The filter processor's settings, in the shape of the Collector's filterprocessor match
// properties (`include` / `exclude` per signal, `match_type` strict or regexp).
import { z } from 'zod';
import { severityNumber } from './match.ts';

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });
const strings = (what: string) => z.array(z.string({ error: `expected ${what}` }), { error: `expected a list of ${what}s` });
const keyValues = z.array(
  z.strictObject({
    key: z.string({ error: 'expected an attribute key' }).min(1, 'expected a non-empty attribute key'),
    /** Absent: the key only has to be there. */
    value: scalar.optional(),
  }),
  { error: 'expected a list of {key, value}' },
);
const matchType = z.enum(['strict', 'regexp'], { error: 'expected strict or regexp' }).default('strict');

export const spanPropertiesSchema = z.strictObject({
  match_type: matchType,
  /** service.name of the span's resource. */
  services: strings('a service name').optional(),
  span_names: strings('a span name').optional(),
  /** SPAN_KIND_SERVER, SERVER, server ... */
  span_kinds: strings('a span kind').optional(),
  /** Span attributes; all must match. */
  attributes: keyValues.optional(),
  /** Resource attributes; all must match. */
  resources: keyValues.optional(),
  /** Instrumentation scopes; any may match. */
  libraries: z.array(z.strictObject({ name: z.string(), version: z.string().optional() })).optional(),
});

export const metricPropertiesSchema = z.strictObject({
  match_type: matchType,
  metric_names: strings('a metric name').optional(),
  /** Resource attributes; all must match. */
  resource_attributes: keyValues.optional(),
  /** Data point attributes; all must match (bpfcol: the Collector's legacy metric filter has no point attributes). */
  attributes: keyValues.optional(),
});

const SEVERITY = z.union([z.number().int().min(1).max(24), z.string()], { error: 'expected a severity number 1-24 or a name like INFO' });

export const logPropertiesSchema = z.strictObject({
  match_type: matchType,
  resource_attributes: keyValues.optional(),
  record_attributes: keyValues.optional(),
  severity_texts: strings('a severity text').optional(),
  severity_number: z.strictObject({ min: SEVERITY, match_undefined: z.boolean().default(false) }).optional(),
  /** Log bodies (as text). */
  bodies: strings('a body').optional(),
});

const PATTERN_FIELDS = ['services', 'span_names', 'metric_names', 'severity_texts', 'bodies'] as const;

function checkProperties(props: Record<string, unknown> & { match_type: 'strict' | 'regexp' }, ctx: z.RefinementCtx): void {
  if (!Object.keys(props).some((k) => k !== 'match_type' && props[k] !== undefined)) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one property to match on besides match_type' });
  }
  const severity = props.severity_number as { min: number | string } | undefined;
  if (severity && severityNumber(severity.min) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['severity_number', 'min'], message: `expected a severity number 1-24 or a name like INFO, got "${String(severity.min)}"` });
  }
  if (props.match_type !== 'regexp') return;
  const check = (text: string, path: (string | number)[]) => {
    try {
      new RegExp(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path, message: `expected a regular expression: ${(error as Error).message}` });
    }
  };
  for (const field of PATTERN_FIELDS) (props[field] as string[] | undefined)?.forEach((t, i) => check(t, [field, i]));
  for (const field of ['attributes', 'resources', 'resource_attributes', 'record_attributes']) {
    (props[field] as { value?: unknown }[] | undefined)?.forEach((kv, i) => {
      if (typeof kv.value === 'string') check(kv.value, [field, i, 'value']);
    });
  }
}

function includeExclude<T extends z.ZodObject>(props: T) {
  const checked = props.superRefine((p, ctx) => checkProperties(p as never, ctx));
  return z.strictObject({ include: checked.optional(), exclude: checked.optional() }).default({});
}

export const configSchema = z.strictObject({
  /** Spans: kept when they match `include` (if given) and do not match `exclude` (if given). */
  spans: includeExclude(spanPropertiesSchema),
  /** Metric data points: as spans; a metric with no point left is removed. */
  metrics: includeExclude(metricPropertiesSchema),
  /** Log records: as spans. */
  logs: includeExclude(logPropertiesSchema),
});

export type FilterConfig = z.infer<typeof configSchema>;
export type SpanProperties = z.infer<typeof spanPropertiesSchema>;
export type MetricProperties = z.infer<typeof metricPropertiesSchema>;
export type LogProperties = z.infer<typeof logPropertiesSchema>;
export type KeyValueMatch = NonNullable<SpanProperties['attributes']>[number];
