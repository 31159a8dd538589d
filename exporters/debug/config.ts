// The debug exporter's settings, as in the Collector's debugexporter.
import { z } from 'zod';
import { positiveInt } from '../../src/config/types.ts';

export const debugConfigSchema = z.strictObject({
  /** basic: one summary line per batch; normal: about one line per item; detailed: every field. */
  verbosity: z.enum(['basic', 'normal', 'detailed']).default('basic'),
  /** Messages logged each second before sampling starts (zap's sampler, as in the Collector). */
  sampling_initial: positiveInt(2),
  /** After the initial ones, every Nth message of a second is logged; 1 logs them all. */
  sampling_thereafter: positiveInt(1),
});

export type DebugConfig = z.infer<typeof debugConfigSchema>;
