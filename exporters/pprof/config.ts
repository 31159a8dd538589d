// The pprof exporter's config.
import { z } from 'zod';
import { endpoint, nonNegativeInt } from '../../src/config/types.ts';

export const pprofConfigSchema = z.strictObject({
  /** Where the gzipped profile.proto files go (created if missing); relative to the config file's directory. */
  directory: z.string({ error: 'expected a directory path' }).min(1, 'expected a directory path').default('./bpfcol-data/pprof'),
  /** One file per process (or container) per window; false: one file per window holding every process. */
  file_per_process: z.boolean({ error: 'expected true or false' }).default(true),
  /** Files kept in `directory` (the oldest written by this exporter are removed); 0 keeps all. */
  max_files: nonNegativeInt(1000),
  /**
   * HTTP endpoint serving the latest window (`/debug/pprof/profile`, `?pid=N` for one process) and an
   * index (`/profiles`); "" serves nothing.
   */
  endpoint: z.union([z.literal(''), endpoint()], { error: 'expected host:port, or "" for no HTTP endpoint' }).default('127.0.0.1:6060'),
});

export type PprofConfig = z.infer<typeof pprofConfigSchema>;
