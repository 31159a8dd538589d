// The perf_sampling receiver's config. Every key has a default: `perf_sampling:` alone samples
// every CPU 99 times a second and emits one profile per process every 30s.
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/types.ts';

/** Filters compiled into the kernel program hold at most this many pids. */
export const KERNEL_FILTER_MAX = 16;

const bool = (value: boolean) => z.boolean({ error: 'expected true or false' }).default(value);

const pid = z.number({ error: 'expected a process id' }).int('expected a process id').positive('expected a process id above 0');

export const perfSamplingConfigSchema = z.strictObject({
  /** Samples per second on each CPU (PERF_COUNT_SW_CPU_CLOCK). 99 avoids beating with 100 Hz timers. */
  frequency: z
    .number({ error: 'expected a number of samples per second' })
    .int('expected a whole number of samples per second')
    .min(1, 'expected at least 1 sample per second')
    .max(10_000, 'expected at most 10000 samples per second')
    .default(99),
  /** Length of one profile: samples of a window are aggregated and emitted together. */
  window: duration('30s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
  /**
   * How often the kernel maps are drained inside a window (a window is several reads): a shorter
   * read keeps the stack maps emptier, so fewer stacks collide. The window is split evenly into
   * reads no longer than this.
   */
  read_interval: duration('5s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
  /** One profile per process, or per container (processes outside containers stay one each). */
  group_by: z.enum(['process', 'container'], { error: 'expected process or container' }).default('process'),
  /** Count the idle task's samples (pid 0, the CPU doing nothing). */
  include_idle: bool(false),
  /** Walk kernel stacks (frames from /proc/kallsyms). */
  kernel_stacks: bool(true),
  /** Walk user stacks (frame pointers: code built without them shows short stacks). */
  user_stacks: bool(true),
  /** Frames naming the process (and thread) at the root of each stack, as the seed's flame graph. */
  process_frames: bool(true),
  thread_frames: bool(false),
  filters: z
    .strictObject({
      /** Only these processes (in the kernel). Empty: every process. */
      pids: z.array(pid, { error: 'expected a list of process ids' }).max(KERNEL_FILTER_MAX, `at most ${KERNEL_FILTER_MAX} pids (the kernel filter's size)`).default([]),
    })
    .default({ pids: [] }),
  /** Distinct (process, thread, stacks) entries per read; samples beyond are counted as lost. */
  kernel_map_entries: positiveInt(16384),
  /** Stacks per read; a stack whose hash bucket is taken is counted as lost (its sample is kept). */
  stack_map_entries: positiveInt(16384),
  symbolizer: z
    .strictObject({
      /** ELF files whose symbols are kept in memory (least recently used ones are dropped). */
      max_cached_files: positiveInt(512),
      /** Processes whose mappings are remembered after they exit, to symbolize their last samples. */
      max_cached_processes: positiveInt(4096),
      /** Read /tmp/perf-PID.map files for JIT frames (JVM, Node with --perf-basic-prof). */
      perf_maps: bool(true),
      /**
       * Ask a JVM whose JIT frames cannot be named for its perf map (as `jcmd PID Compiler.perfmap`
       * does: the attach protocol, SIGQUIT included). Off by default: a JVM run with -Xrs takes
       * SIGQUIT badly.
       */
      jvm_perf_maps: bool(false),
      /** At most one request per JVM per this duration (a perf map is a snapshot of the code cache). */
      jvm_perf_map_interval: duration('1m'),
    })
    .default({ max_cached_files: 512, max_cached_processes: 4096, perf_maps: true, jvm_perf_maps: false, jvm_perf_map_interval: 60_000 }),
  metrics: z
    .strictObject({
      /** Processes with a process.cpu.samples series; the rest fold into one overflow series. */
      max_series: positiveInt(2000),
      /** A process not sampled for this long loses its series. */
      series_expiration: duration('5m'),
    })
    .default({ max_series: 2000, series_expiration: 300_000 }),
});

export type PerfSamplingConfig = z.infer<typeof perfSamplingConfigSchema>;

/** Reads per window and the time between them: the window split evenly, no read longer than read_interval. */
export function readSchedule(config: Pick<PerfSamplingConfig, 'window' | 'read_interval'>): { readsPerWindow: number; everyMs: number } {
  const readsPerWindow = Math.max(1, Math.ceil(config.window / config.read_interval));
  return { readsPerWindow, everyMs: config.window / readsPerWindow };
}
