// The exporter helper's settings, with the Collector's exporterhelper names and defaults, for
// exporters to spread into their own schema: `{ ...exporterHelperSchema, endpoint: ... }`.
import { z } from 'zod';
import { duration, positiveInt } from '../config/types.ts';

export const SIZERS = ['requests', 'items', 'bytes'] as const;
export type Sizer = (typeof SIZERS)[number];

export const sendingQueueSchema = z
  .strictObject({
    /** Queue batches and send them in the background; consume resolves once a batch is queued. */
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    /** How many batches are sent at once. */
    num_consumers: positiveInt(10),
    /** Capacity, in the unit `sizer` says. */
    queue_size: positiveInt(1000),
    /** What queue_size counts: requests (batches), items (spans, points, records) or bytes (OTLP protobuf size). */
    sizer: z.enum(SIZERS, { error: (issue) => `expected requests, items or bytes, got ${JSON.stringify(issue.input)}` }).default('requests'),
    /** Wait for room when the queue is full instead of refusing the batch. */
    block_on_overflow: z.boolean({ error: 'expected true or false' }).default(false),
    /** A storage extension (`file_storage[/name]`) that makes the queue persistent. */
    storage: z.string({ error: 'expected the id of a storage extension, like file_storage' }).optional(),
  })
  .default({ enabled: true, num_consumers: 10, queue_size: 1000, sizer: 'requests', block_on_overflow: false });
export type SendingQueueConfig = z.infer<typeof sendingQueueSchema>;

function nonNegativeNumber(defaultValue: number) {
  return z.number({ error: 'expected a number' }).min(0, 'expected 0 or more').default(defaultValue);
}

export const retryOnFailureSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    /** Wait after the first failure. */
    initial_interval: duration('5s'),
    /** Longest wait between two attempts. */
    max_interval: duration('30s'),
    /** Give up after this long since the first attempt (0: never). */
    max_elapsed_time: duration('300s'),
    /** Each wait is the previous one times this. */
    multiplier: z.number({ error: 'expected a number' }).min(1, 'expected 1 or more').default(1.5),
    /** Each wait is randomized by ± this fraction (jitter). */
    randomization_factor: nonNegativeNumber(0.5).refine((v) => v <= 1, 'expected a number from 0 to 1'),
  })
  .default({ enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5 });
export type RetryConfig = z.infer<typeof retryOnFailureSchema>;

/** Keys an exporter spreads into its schema; `timeout` is the deadline of one attempt. */
export const exporterHelperSchema = {
  sending_queue: sendingQueueSchema,
  retry_on_failure: retryOnFailureSchema,
  timeout: duration('5s'),
};

export interface ExporterHelperConfig {
  sending_queue: SendingQueueConfig;
  retry_on_failure: RetryConfig;
  /** Milliseconds; 0: no deadline beyond the exporter's own. */
  timeout: number;
}

/** Problems the schema cannot see; exporters add them to their own validate(). */
export function validateExporterHelper(config: ExporterHelperConfig): string[] {
  const problems: string[] = [];
  const r = config.retry_on_failure;
  if (r.enabled && r.initial_interval <= 0) problems.push('retry_on_failure.initial_interval must be greater than zero: expected a duration like 5s');
  if (r.enabled && r.max_interval < r.initial_interval)
    problems.push('retry_on_failure.max_interval must not be shorter than initial_interval: expected a duration like 30s');
  if (config.timeout < 0) problems.push('timeout must not be negative: expected a duration like 5s');
  const q = config.sending_queue;
  if (q.storage !== undefined && !q.enabled) problems.push('sending_queue.storage needs sending_queue.enabled: true');
  return problems;
}
