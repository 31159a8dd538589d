// Perf events: one sampling event per CPU (all online CPUs by default), by frequency or period,
// each running the program (SEC("perf_event")) on every sample.
import { readFileSync } from 'node:fs';
import { Link } from '../link.ts';
import type { AttachTarget } from './target.ts';

/** perf_event_attr.type */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;
/** perf_event_attr.config for PerfType.SOFTWARE */
export const PerfSoftware = { CPU_CLOCK: 0, TASK_CLOCK: 1, PAGE_FAULTS: 2, CONTEXT_SWITCHES: 3, CPU_MIGRATIONS: 4 } as const;
/** perf_event_attr.config for PerfType.HARDWARE (absent on most VMs: see probeKernel().perfEvents) */
export const PerfHardware = { CPU_CYCLES: 0, INSTRUCTIONS: 1, CACHE_REFERENCES: 2, CACHE_MISSES: 3 } as const;

export interface PerfEventOptions {
  type: number;
  config: number | bigint;
  /** Samples per second per CPU. Give this or period. */
  frequency?: number;
  /** One sample every `period` events. Give this or frequency. */
  period?: number | bigint;
  /** CPUs to sample on; all online CPUs by default. */
  cpus?: number[];
  /** Only this process (-1, the default: every process). */
  pid?: number;
}

/** Parses a kernel CPU list such as "0-3,5,7-8". */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    if (a === undefined || Number.isNaN(a)) throw new Error(`bad CPU list '${text}'`);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

export function attachPerfEvent(program: AttachTarget, options: PerfEventOptions): Link {
  const { frequency, period } = options;
  if ((frequency === undefined) === (period === undefined)) {
    throw new Error('attachPerfEvent: give exactly one of frequency (samples/s) or period');
  }
  const sample = frequency ?? period ?? 0;
  if (typeof sample === 'number' ? !(sample > 0) : sample <= 0n) {
    throw new Error('attachPerfEvent: frequency/period must be positive');
  }
  const cpus = options.cpus ?? onlineCpus();
  const link = program
    .native()
    .attachPerfEvent(program.name, options.type, options.config, sample, frequency !== undefined, cpus, options.pid ?? -1);
  const how = frequency !== undefined ? `${frequency} Hz` : `every ${period}`;
  return new Link(link, `perf_event type=${options.type} config=${options.config} ${how} on cpus ${cpus.join(',')}`, program);
}
