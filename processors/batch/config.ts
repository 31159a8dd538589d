// The batch processor's settings, as in the Collector's batchprocessor.
import { z } from 'zod';
import { duration, nonNegativeInt, positiveInt } from '../../src/config/types.ts';

export const batchConfigSchema = z
  .strictObject({
    /** Items (spans, data points, log records, samples) that make a batch go out at once. */
    send_batch_size: positiveInt(8192),
    /** The most items one outgoing batch may hold; 0 means no limit. */
    send_batch_max_size: nonNegativeInt(0),
    /** How long a partial batch waits before it goes out anyway; 0 sends every batch at once. */
    timeout: duration('200ms'),
  })
  .refine((c) => c.send_batch_max_size === 0 || c.send_batch_max_size >= c.send_batch_size, {
    path: ['send_batch_max_size'],
    error: (issue) => {
      const c = issue.input as { send_batch_size: number; send_batch_max_size: number };
      return `expected 0 (no limit) or a number at least send_batch_size (${c.send_batch_size}), got ${c.send_batch_max_size}`;
    },
  });

export type BatchConfig = z.infer<typeof batchConfigSchema>;
