// The jvm_usdt receiver's config. Every key has a default: `jvm_usdt:` alone watches every JVM on
// the machine, attaches every probe group and reports every 10s.
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/types.ts';
import { MAX_BOUNDS } from './layout.ts';

/** Probe groups, as written in `probes:`. The memory pool usage comes with `gc`. */
export const PROBE_GROUPS = ['gc', 'safepoints', 'vm_operations', 'threads', 'classes'] as const;
export type ProbeGroup = (typeof PROBE_GROUPS)[number];

const pid = z.number({ error: 'expected a process id' }).int('expected a process id').positive('expected a process id above 0');
const pattern = (what: string) => z.string({ error: `expected ${what} (* and ? match any text and any one character)` }).min(1, `expected ${what}, got an empty string`);
const list = <T extends z.ZodType>(item: T, what: string) => z.array(item, { error: `expected a list of ${what}` }).default([]);

/** Histogram bucket bounds in seconds: ascending, positive, at most the kernel's MAX_BOUNDS. */
const bounds = (defaults: number[]) =>
  z
    .array(z.number({ error: 'expected a number of seconds' }).positive('expected bounds above 0 seconds'), { error: 'expected a list of bucket bounds in seconds' })
    .min(1, 'expected at least one bucket bound')
    .max(MAX_BOUNDS, `at most ${MAX_BOUNDS} bucket bounds (the kernel histogram's size)`)
    .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), 'expected bucket bounds in increasing order')
    .default(defaults);

export const DEFAULT_GC_BOUNDS = [0.01, 0.1, 1, 10];
export const DEFAULT_PAUSE_BOUNDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

export const jvmUsdtConfigSchema = z.strictObject({
  /** How often the kernel maps and the JVMs' hsperfdata are read and the metrics emitted. */
  collection_interval: duration('10s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
  /** Probe groups attached to each JVM; [] attaches nothing (hsperfdata only). */
  probes: z
    .array(z.enum(PROBE_GROUPS, { error: `expected one of ${PROBE_GROUPS.join(', ')}` }), { error: `expected a list of probe groups (${PROBE_GROUPS.join(', ')})` })
    .default([...PROBE_GROUPS]),
  /** Read each JVM's hsperfdata file (heap and metaspace usage, threads, classes, runtime version). */
  hsperfdata: z.boolean({ error: 'expected true or false' }).default(true),
  filters: z
    .strictObject({
      /** Only these processes. */
      pids: list(pid, 'process ids'),
      /** Only JVMs whose executable (full path or base name) matches one of these patterns. */
      executables: list(pattern('an executable path or name pattern'), 'executable patterns'),
      /** Only JVMs whose main class (or -jar path, or module class) matches one of these patterns. */
      main_classes: list(pattern('a main class pattern'), 'main class patterns'),
      /** Only JVMs whose cgroup path (v2, else v1) starts with one of these. */
      cgroups: list(z.string({ error: 'expected a cgroup path like /system.slice/app.service' }).startsWith('/', 'expected a cgroup path starting with /'), 'cgroup paths'),
    })
    .default({ pids: [], executables: [], main_classes: [], cgroups: [] }),
  discovery: z
    .strictObject({
      /** After a process starts (exec), how long to keep looking for libjvm.so in its mappings. */
      attach_wait: duration('10s'),
      /** How often /proc is scanned for JVMs the exec events missed (0 never). */
      rescan_interval: duration('1m'),
    })
    .default({ attach_wait: 10_000, rescan_interval: 60_000 }),
  /** JVMs watched at once; more are reported in the log and left alone. */
  max_jvms: positiveInt(64).refine((n) => n <= 4096, 'expected at most 4096 JVMs'),
  /** Bucket bounds of jvm.gc.duration (the semantic conventions' advice). */
  gc_duration_buckets: bounds(DEFAULT_GC_BOUNDS),
  /** Bucket bounds of jvm.safepoint.duration and jvm.vm_operation.duration. */
  pause_duration_buckets: bounds(DEFAULT_PAUSE_BOUNDS),
  logs: z
    .strictObject({
      /** One log record per garbage collection (cause, duration, bytes freed) on the logs signal. */
      enabled: z.boolean({ error: 'expected true or false' }).default(false),
    })
    .default({ enabled: false }),
});

export type JvmUsdtConfig = z.infer<typeof jvmUsdtConfigSchema>;
