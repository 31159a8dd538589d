// The file_storage extension's settings, with the Collector's (contrib extension/storage/filestorage) names.
import { z } from 'zod';
import { duration } from '../../src/config/types.ts';

export const fileStorageConfigSchema = z.strictObject({
  /** Where every client keeps its records, one subdirectory per component and signal. */
  directory: z.string({ error: 'expected a directory path' }).min(1, 'expected a directory path').default('/var/lib/bpfcol/file_storage'),
  /** Create `directory` (and its parents) when it is missing, instead of failing at start. */
  create_directory: z.boolean({ error: 'expected true or false' }).default(false),
  /** Permissions of a directory it creates, as an octal string. */
  directory_permissions: z
    .string({ error: 'expected octal permissions like "0750"' })
    .regex(/^0?[0-7]{3}$/, { error: (issue) => `expected octal permissions like "0750", got ${JSON.stringify(issue.input)}` })
    .default('0750'),
  /** How long to wait for another process to release a client's directory. */
  timeout: duration('1s'),
  /** fsync every record (and the directory) before it counts as stored; false survives a crash of bpfcol but not of the machine. */
  fsync: z.boolean({ error: 'expected true or false' }).default(true),
  /** Accepted for configs written for the Collector; records are files removed one by one, so there is nothing to compact. */
  compaction: z.record(z.string(), z.unknown(), { error: 'expected a map (compaction is accepted and ignored)' }).optional(),
});

export type FileStorageConfig = z.infer<typeof fileStorageConfigSchema>;
