// The flamegraph exporter's config.
import { z } from 'zod';
import { nonNegativeInt } from '../../src/config/types.ts';

export const flamegraphConfigSchema = z.strictObject({
  /** Where the .svg and .folded files go (created if missing); relative to the config file's directory. */
  directory: z.string({ error: 'expected a directory path' }).min(1, 'expected a directory path').default('./bpfcol-data/flamegraphs'),
  /** One graph per window holding every process (false), or one per process (or container) per window. */
  file_per_process: z.boolean({ error: 'expected true or false' }).default(false),
  /** Graphs kept in `directory` (with their .folded files; the oldest written go first); 0 keeps all. 120: an hour of 30 s windows. */
  max_files: nonNegativeInt(120),
  /** The graph's title; the subtitle says the window, the samples and the processes. */
  title: z.string({ error: 'expected a title' }).default('CPU flame graph'),
  /** Width of the SVG in pixels. */
  width: z.number({ error: 'expected a width in pixels' }).int('expected a whole number of pixels').min(200, 'expected at least 200 pixels').default(1200),
  /** Frames narrower than this many pixels are left out (their samples still count in their parents). */
  min_width: z.number({ error: 'expected a width in pixels' }).min(0, 'expected 0 or more pixels').default(0.5),
});

export type FlamegraphConfig = z.infer<typeof flamegraphConfigSchema>;
