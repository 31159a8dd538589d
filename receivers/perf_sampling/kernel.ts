// The kernel side of perf_sampling as TypeScript sees it: opens bpf/build/perf_sampling.bpf.o with
// the config in its read-only globals, attaches one CPU-clock perf event per online CPU, announces
// processes seen for the first time (a ring buffer), and drains the sample counts and stacks.
//
// Reading without racing the programs: counts, stacks and counters exist twice (_a, _b, or by
// side), read through the runtime's DoubleBuffer (bpf/common/double_buffer.h has the kernel half):
// drain() points the programs at the other side, waits until none still writes to the old one,
// then reads and empties it.
import { PerfSoftware, PerfType, onlineCpus } from '../../src/bpf/attach/perf-event.ts';
import { DoubleBuffer } from '../../src/bpf/double-buffer.ts';
import { readCounter } from '../../src/bpf/map.ts';
import { BpfObject, bpfObjectPath } from '../../src/bpf/object.ts';
import { type ProbeReport, checkRequirements, probeKernel } from '../../src/bpf/probe.ts';
import { RingBuffer } from '../../src/bpf/ringbuf.ts';
import { KERNEL_FILTER_MAX, type PerfSamplingConfig } from './config.ts';
import { LAYOUTS, MAX_DEPTH, NewProcess, OVERFLOW_STACK, SampleKey } from './layout.ts';

export const TRACEPOINTS = ['sched/sched_process_exec', 'sched/sched_process_exit'] as const;

/** Longest wait for programs still writing to the old side before it is read anyway (counted as late). */
const INFLIGHT_WAIT_MS = 200;

/** One distinct sample and how many times it was taken. */
export interface CountedSample {
  key: SampleKey;
  count: number;
}

export interface Drained {
  /** When the programs were switched to the other side: the end of what was read (ns since the epoch). */
  timeUnixNano: bigint;
  samples: CountedSample[];
  /** Stack id -> instruction pointers (low 48 bits, see decodeStack), leaf first. */
  stacks: Map<number, number[]>;
  /** What the kernel counted for exactly these samples. */
  counters: KernelCounters;
  /** A program still wrote to the side after the wait: a few samples may land in the next read. */
  late: boolean;
}

/** Counts of the kernel program (PERF_STAT_* in bpf/perf_sampling.h). */
export interface KernelCounters {
  /** Samples taken (idle and filtered-out ones included). */
  samples: number;
  /** Samples not counted: the counts map was full. */
  countsFull: number;
  /** Stacks lost because their bucket held another stack in both stack maps. */
  stackCollisions: number;
  userStackErrors: number;
  kernelStackErrors: number;
}

const STAT_NAMES = ['samples', 'countsFull', 'stackCollisions', 'userStackErrors', 'kernelStackErrors'] as const;

export function zeroCounters(): KernelCounters {
  return { samples: 0, countsFull: 0, stackCollisions: 0, userStackErrors: 0, kernelStackErrors: 0 };
}

/** What this kernel lacks for the config, one sentence each (empty: it can run). */
export function missingKernelFeatures(_config: PerfSamplingConfig, report?: ProbeReport): string[] {
  const r = report ?? probeKernel({ tracepoints: [...TRACEPOINTS] });
  return checkRequirements({ tracepoints: [...TRACEPOINTS], ringBuffer: true, perfEvents: true }, r);
}

function u32Array(values: readonly number[], length: number): Uint8Array {
  const out = Buffer.alloc(length * 4);
  values.forEach((v, i) => out.writeUInt32LE(v, i * 4));
  return out;
}

/**
 * The overflow stack map: a quarter of the main one, and of another power of two, so a stack
 * lands in another bucket (the kernel rounds sizes up to powers of two).
 */
export function overflowEntries(main: number): number {
  return Math.max(64, Math.ceil(main / 4));
}

/**
 * A stack-map value: up to MAX_DEPTH u64 instruction pointers, zero after the last, as the low 48
 * bits of each address in a plain number (exact: user addresses are below 2^47, kernel ones all
 * share their top 16 bits; numbers keep symbolizing free of BigInt arithmetic).
 */
export function decodeStack(value: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 8 <= value.byteLength; at += 8) {
    const lo = value.readUInt32LE(at);
    const hi = value.readUInt32LE(at + 4);
    if (lo === 0 && hi === 0) break;
    out.push((hi & 0xffff) * 4294967296 + lo);
  }
  return out;
}

/** The full kernel address of a low-48-bit one (kernel addresses have their top 16 bits set). */
export function kernelAddress(addr48: number): bigint {
  return 0xffff000000000000n | BigInt(addr48);
}

export class PerfSamplingKernel {
  readonly object: BpfObject;
  readonly #buffer: DoubleBuffer;
  /** Totals of each side's counters at its last read. */
  readonly #seen = [zeroCounters(), zeroCounters()];
  #ring: RingBuffer | undefined;
  #draining: Promise<Drained> | undefined;

  private constructor(object: BpfObject) {
    this.object = object;
    this.#buffer = new DoubleBuffer(object, { maxWaitMs: INFLIGHT_WAIT_MS });
  }

  /**
   * Opens, loads and attaches; new processes go to onNewProcesses as they are first sampled.
   * Throws (having attached nothing) when something fails.
   */
  static open(config: PerfSamplingConfig, onNewProcesses: (records: NewProcess[]) => void): PerfSamplingKernel {
    const { pids } = config.filters;
    const object = BpfObject.open(bpfObjectPath('perf_sampling'), {
      rodata: {
        include_idle: config.include_idle ? 1 : 0,
        kernel_stacks: config.kernel_stacks ? 1 : 0,
        user_stacks: config.user_stacks ? 1 : 0,
        n_pids: pids.length,
        pids: u32Array(pids, KERNEL_FILTER_MAX),
      },
      maxEntries: {
        counts_a: config.kernel_map_entries,
        counts_b: config.kernel_map_entries,
        stacks_a: config.stack_map_entries,
        stacks_b: config.stack_map_entries,
        overflow_stacks_a: overflowEntries(config.stack_map_entries),
        overflow_stacks_b: overflowEntries(config.stack_map_entries),
      },
    });
    const kernel = new PerfSamplingKernel(object);
    try {
      for (const [name, layout] of Object.entries(LAYOUTS)) object.checkLayout(name, layout);
      const depth = object.map('stacks_a').valueSize / 8;
      if (depth !== MAX_DEPTH) throw new Error(`stack map holds ${depth} frames, the layout expects ${MAX_DEPTH}`);
      // The ring first, so no announcement made by the first samples is missed.
      kernel.#ring = new RingBuffer(object, 'new_processes', (batch) => onNewProcesses(batch.decode(NewProcess)));
      object.program('on_exec').attachTracepoint('sched', 'sched_process_exec');
      object.program('on_exit').attachTracepoint('sched', 'sched_process_exit');
      object.program('on_sample').attachPerfEvent({
        type: PerfType.SOFTWARE,
        config: PerfSoftware.CPU_CLOCK,
        frequency: config.frequency,
        cpus: onlineCpus(),
      });
    } catch (err) {
      kernel.close();
      throw err;
    }
    return kernel;
  }

  /** Reads and resets what the programs counted since the last call. Calls never overlap. */
  drain(): Promise<Drained> {
    const run = (this.#draining ?? Promise.resolve()).then(
      () => this.#drain(),
      () => this.#drain(),
    );
    this.#draining = run;
    return run;
  }

  async #drain(): Promise<Drained> {
    const { suffix, timeUnixNano, late } = await this.#buffer.flip();
    const old = suffix === 'a' ? 0 : 1;
    const samples = this.object
      .map(`counts_${suffix}`)
      .lookupAndDeleteAll()
      .map((e) => ({ key: SampleKey.decode(e.key), count: Number(e.value.readBigUInt64LE(0)) }));
    const stacks = new Map<number, number[]>();
    for (const e of this.object.map(`stacks_${suffix}`).lookupAndDeleteAll()) {
      stacks.set(e.key.readUInt32LE(0), decodeStack(e.value));
    }
    for (const e of this.object.map(`overflow_stacks_${suffix}`).lookupAndDeleteAll()) {
      stacks.set(e.key.readUInt32LE(0) | OVERFLOW_STACK, decodeStack(e.value));
    }
    const totals = this.#sideCounters(old);
    const last = this.#seen[old]!;
    const counters = zeroCounters();
    for (const name of STAT_NAMES) counters[name] = totals[name] - last[name];
    this.#seen[old] = totals;
    return { timeUnixNano, samples, stacks, counters, late };
  }

  /** Totals (since load) of one side's counters, summed over CPUs. */
  #sideCounters(side: number): KernelCounters {
    const stats = this.object.map('stats');
    const out = zeroCounters();
    STAT_NAMES.forEach((name, i) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(side * STAT_NAMES.length + i);
      for (const v of stats.lookupPerCpu(key) ?? []) out[name] += Number(v.readBigUInt64LE(0));
    });
    return out;
  }

  /** Hands over announcements still in the ring (before a last drain). */
  drainAnnouncements(): void {
    this.#ring?.drain();
  }

  /** Counts since load, both sides (samples after the last drain included). */
  counters(): KernelCounters {
    const a = this.#sideCounters(0);
    const b = this.#sideCounters(1);
    const out = zeroCounters();
    for (const name of STAT_NAMES) out[name] = a[name] + b[name];
    return out;
  }

  /** New processes not announced because the ring was full (since load). */
  announcementsLost(): bigint {
    return this.#ring?.lost() ?? readCounter(this.object.map('new_processes_lost'));
  }

  /** Detaches everything. Idempotent. */
  close(): void {
    this.#ring?.stop();
    this.#ring = undefined;
    this.object.close();
  }
}
