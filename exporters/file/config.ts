// The file exporter's settings, as in the Collector's fileexporter (contrib).
import { z } from 'zod';
import { duration, nonNegativeInt } from '../../src/config/types.ts';

const rotationSchema = z.strictObject({
  /** Size in MiB at which the file is rotated; fractions are allowed (0.5 = 512 KiB). */
  max_megabytes: z
    .number({ error: 'expected a size in MiB above 0' })
    .positive('expected a size in MiB above 0')
    .default(100),
  /** Days to keep rotated files, by the timestamp in their name; 0 keeps them regardless of age. */
  max_days: nonNegativeInt(0),
  /** Rotated files to keep; 0 keeps all. */
  max_backups: nonNegativeInt(100),
  /** Local time instead of UTC in rotated file names. */
  localtime: z.boolean({ error: 'expected true or false' }).default(false),
});

export const fileConfigSchema = z.strictObject({
  /** The file to write; relative paths are resolved against the config file's directory. Required. */
  path: z.string({ error: 'expected a file path' }).default(''),
  /** json: one OTLP/JSON Export*ServiceRequest per line; proto: length-prefixed OTLP/protobuf. */
  format: z.enum(['json', 'proto']).default('json'),
  /** Rotation by size, as lumberjack does it; absent means no rotation. */
  rotation: rotationSchema.optional(),
  /** How often written data is fsynced to disk. */
  flush_interval: duration('1s'),
  /** Append to an existing file instead of truncating it at start. */
  append: z.boolean({ error: 'expected true or false' }).default(false),
  /** Create the file's directory (and its parents) when it is missing, as the Collector's option. */
  create_directory: z.boolean({ error: 'expected true or false' }).default(false),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type RotationConfig = z.infer<typeof rotationSchema>;

/** The Collector's checks that need more than one key; each problem names its key. */
export function validateFileConfig(c: FileConfig): string[] {
  const problems: string[] = [];
  if (c.path.trim() === '') problems.push('path must be non-empty: expected the file to write, like ./out/traces.jsonl');
  if (c.append && c.rotation) problems.push('append and rotation enabled at the same time is not supported');
  if (c.flush_interval <= 0) problems.push('flush_interval must be greater than zero: expected a duration like 1s');
  return problems;
}
