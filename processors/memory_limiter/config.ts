// The memory_limiter processor's settings, as in the Collector's memorylimiterprocessor. The
// schema gives the Collector's defaults (which are not a working config: check_interval and a
// limit must be set); validateMemoryLimiterConfig says what is missing.
import { z } from 'zod';
import { duration, nonNegativeInt } from '../../src/config/types.ts';

const percentage = () =>
  z
    .number({ error: 'expected a whole percentage from 0 to 100' })
    .int('expected a whole percentage from 0 to 100')
    .min(0, 'expected a whole percentage from 0 to 100')
    .max(100, 'expected a whole percentage from 0 to 100')
    .default(0);

export const memoryLimiterConfigSchema = z.strictObject({
  /** Time between measurements of memory usage; required (the Collector recommends 1s). */
  check_interval: duration('0s'),
  /** The hard limit in MiB of the process's resident memory. */
  limit_mib: nonNegativeInt(0),
  /** The largest growth expected between two checks; 0 means 20% of the hard limit. */
  spike_limit_mib: nonNegativeInt(0),
  /** The hard limit as a percentage of total memory (used when limit_mib is 0). */
  limit_percentage: percentage(),
  /** The spike limit as a percentage of total memory; 0 means 20% of the hard limit. */
  spike_limit_percentage: percentage(),
});

export type MemoryLimiterConfig = z.infer<typeof memoryLimiterConfigSchema>;

/** The Collector's checks across keys; each problem names the key it is about. */
export function validateMemoryLimiterConfig(c: MemoryLimiterConfig): string[] {
  const problems: string[] = [];
  if (c.check_interval <= 0) {
    problems.push('check_interval must be greater than zero: expected a duration like 1s');
  }
  if (c.limit_mib === 0 && c.limit_percentage === 0) {
    problems.push('limit_mib or limit_percentage must be greater than zero');
  }
  if (c.limit_mib > 0 && c.spike_limit_mib >= c.limit_mib) {
    problems.push(`spike_limit_mib (${c.spike_limit_mib}) must be smaller than limit_mib (${c.limit_mib})`);
  }
  if (c.limit_mib === 0 && c.limit_percentage > 0 && c.spike_limit_percentage >= c.limit_percentage) {
    problems.push(
      `spike_limit_percentage (${c.spike_limit_percentage}) must be smaller than limit_percentage (${c.limit_percentage})`,
    );
  }
  return problems;
}
