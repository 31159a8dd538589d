// What one cgroup's files say, read from cgroup v2 where the controller is there and from the v1
// hierarchies otherwise (a hybrid host has both), in one shape:
//
//   v2                                  v1
//   cpu.stat usage/user/system_usec     cpuacct.usage, cpuacct.usage_user, cpuacct.usage_sys (ns)
//   cpu.stat nr_periods, nr_throttled,  cpu/cpu.stat nr_periods, nr_throttled, throttled_time (ns)
//            throttled_usec
//   memory.current, memory.max          memory.usage_in_bytes, memory.limit_in_bytes
//   memory.stat inactive_file, anon,    memory.stat total_inactive_file, total_rss,
//               pgfault, pgmajfault                 total_pgfault, total_pgmajfault
//   io.stat rbytes wbytes rios wios     blkio.throttle.io_service_bytes_recursive, io_serviced_recursive
//   pids.current, pids.max              pids/pids.current, pids.max
import { join } from 'node:path';
import { parseKeyValues, readNumber, readSmall } from '../../src/host/read.ts';

/** The directories of one cgroup: in the v2 hierarchy and per v1 controller (only those that exist). */
export interface CgroupDirs {
  unified?: string;
  v1: Map<string, string>;
}

export interface CpuStats {
  usageSeconds: number;
  userSeconds?: number;
  systemSeconds?: number;
}

export interface ThrottlingStats {
  periods: number;
  throttledPeriods: number;
  throttledSeconds: number;
}

export interface MemoryStats {
  usage: number;
  /** usage - inactive_file, floored at 0: what the kubelet evicts on. */
  workingSet: number;
  rss?: number;
  /** Absent when unlimited. */
  limit?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface DeviceIo {
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

export interface CgroupStats {
  cpu?: CpuStats;
  throttling?: ThrottlingStats;
  memory?: MemoryStats;
  /** "major:minor" -> counts. */
  io?: Map<string, DeviceIo>;
  pids?: { current: number; limit?: number };
}

/** v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on x86-64): anything this big is no limit. */
const V1_UNLIMITED = 2 ** 62;

type Source = 'v2' | 'v1' | 'none';

/**
 * Which hierarchy answered for each kind of number last time, so the next reads go straight there:
 * on a hybrid host most v2 files do not exist, and a failed open costs more than a read. Kinds that
 * had no answer are tried again after RECHECK_AFTER collections (a controller may be enabled later);
 * a planned read that fails makes the next one try both again.
 */
export interface StatsPlan {
  cpu?: Source;
  throttling?: Source;
  memory?: Source;
  io?: Source;
  pids?: Source;
  reads: number;
}

const RECHECK_AFTER = 30;

export function newStatsPlan(): StatsPlan {
  return { reads: 0 };
}

export function readCgroupStats(dirs: CgroupDirs, plan: StatsPlan = newStatsPlan()): CgroupStats {
  const out: CgroupStats = {};
  if (++plan.reads % RECHECK_AFTER === 0) {
    for (const k of ['cpu', 'throttling', 'memory', 'io', 'pids'] as const) if (plan[k] === 'none') delete plan[k];
  }
  // One kind: the v2 reader where the plan says v2 (or nothing is known), else the v1 one.
  const read = <T>(kind: Exclude<keyof StatsPlan, 'reads'>, v2: () => T | undefined, v1: () => T | undefined): T | undefined => {
    const p = plan[kind];
    if (p === 'none') return undefined;
    let value: T | undefined;
    let source: Source = 'none';
    if (p !== 'v1' && (value = v2()) !== undefined) source = 'v2';
    else if (p !== 'v2' && (value = v1()) !== undefined) source = 'v1';
    if (p && source === 'none') delete plan[kind]; // the planned one failed: try both next time
    else plan[kind] = source;
    return value;
  };
  let v2cpu: Map<string, number> | undefined | null = null; // read once for both cpu and throttling
  const v2 = () => {
    if (v2cpu === null) {
      const text = dirs.unified ? readSmall(join(dirs.unified, 'cpu.stat')) : undefined;
      v2cpu = text ? parseKeyValues(text) : undefined;
    }
    return v2cpu;
  };
  const cpu = read('cpu', () => (v2()?.has('usage_usec') ? cpuFromV2(v2()!) : undefined), () => cpuFromV1(dirs.v1.get('cpuacct')));
  if (cpu) out.cpu = cpu;
  const throttling = read('throttling', () => (v2()?.has('nr_periods') ? throttlingFromV2(v2()!) : undefined), () => throttlingFromV1(dirs.v1.get('cpu')));
  if (throttling) out.throttling = throttling;
  const memory = read('memory', () => (dirs.unified ? memoryFromV2(dirs.unified) : undefined), () => memoryFromV1(dirs.v1.get('memory')));
  if (memory) out.memory = memory;
  const io = read('io', () => (dirs.unified ? ioFromV2(dirs.unified) : undefined), () => ioFromV1(dirs.v1.get('blkio')));
  if (io) out.io = io;
  const pids = read('pids', () => pidsFrom(dirs.unified), () => pidsFrom(dirs.v1.get('pids')));
  if (pids) out.pids = pids;
  return out;
}

function cpuFromV2(s: Map<string, number>): CpuStats {
  const out: CpuStats = { usageSeconds: (s.get('usage_usec') ?? 0) / 1e6 };
  if (s.has('user_usec')) out.userSeconds = s.get('user_usec')! / 1e6;
  if (s.has('system_usec')) out.systemSeconds = s.get('system_usec')! / 1e6;
  return out;
}

function cpuFromV1(dir: string | undefined): CpuStats | undefined {
  if (!dir) return undefined;
  const usage = readNumber(join(dir, 'cpuacct.usage'));
  if (usage === undefined) return undefined;
  const out: CpuStats = { usageSeconds: usage / 1e9 };
  const user = readNumber(join(dir, 'cpuacct.usage_user'));
  const sys = readNumber(join(dir, 'cpuacct.usage_sys'));
  if (user !== undefined) out.userSeconds = user / 1e9;
  if (sys !== undefined) out.systemSeconds = sys / 1e9;
  return out;
}

function throttlingFromV2(s: Map<string, number>): ThrottlingStats {
  return { periods: s.get('nr_periods') ?? 0, throttledPeriods: s.get('nr_throttled') ?? 0, throttledSeconds: (s.get('throttled_usec') ?? 0) / 1e6 };
}

function throttlingFromV1(dir: string | undefined): ThrottlingStats | undefined {
  const text = dir ? readSmall(join(dir, 'cpu.stat')) : undefined;
  if (!text) return undefined;
  const s = parseKeyValues(text);
  if (!s.has('nr_periods')) return undefined;
  return { periods: s.get('nr_periods')!, throttledPeriods: s.get('nr_throttled') ?? 0, throttledSeconds: (s.get('throttled_time') ?? 0) / 1e9 };
}

function memoryFromV2(dir: string): MemoryStats | undefined {
  const usage = readNumber(join(dir, 'memory.current'));
  if (usage === undefined) return undefined;
  const stat = parseKeyValues(readSmall(join(dir, 'memory.stat')) ?? '');
  const out: MemoryStats = { usage, workingSet: Math.max(0, usage - (stat.get('inactive_file') ?? 0)) };
  if (stat.has('anon')) out.rss = stat.get('anon')!;
  const limit = readNumber(join(dir, 'memory.max')); // "max" reads as undefined
  if (limit !== undefined) out.limit = limit;
  if (stat.has('pgfault')) out.pageFaults = stat.get('pgfault')!;
  if (stat.has('pgmajfault')) out.majorPageFaults = stat.get('pgmajfault')!;
  return out;
}

function memoryFromV1(dir: string | undefined): MemoryStats | undefined {
  if (!dir) return undefined;
  const usage = readNumber(join(dir, 'memory.usage_in_bytes'));
  if (usage === undefined) return undefined;
  const stat = parseKeyValues(readSmall(join(dir, 'memory.stat')) ?? '');
  const out: MemoryStats = { usage, workingSet: Math.max(0, usage - (stat.get('total_inactive_file') ?? 0)) };
  if (stat.has('total_rss')) out.rss = stat.get('total_rss')!;
  const limit = readNumber(join(dir, 'memory.limit_in_bytes'));
  if (limit !== undefined && limit < V1_UNLIMITED) out.limit = limit;
  if (stat.has('total_pgfault')) out.pageFaults = stat.get('total_pgfault')!;
  if (stat.has('total_pgmajfault')) out.majorPageFaults = stat.get('total_pgmajfault')!;
  return out;
}

/** io.stat: `254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per device. */
export function parseIoStat(text: string): Map<string, DeviceIo> {
  const out = new Map<string, DeviceIo>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (!f[0] || !f[0].includes(':')) continue;
    const d: DeviceIo = { readBytes: 0, writeBytes: 0, reads: 0, writes: 0 };
    for (let i = 1; i < f.length; i++) {
      const eq = f[i]!.indexOf('=');
      const v = Number(f[i]!.slice(eq + 1));
      switch (f[i]!.slice(0, eq)) {
        case 'rbytes': d.readBytes = v; break;
        case 'wbytes': d.writeBytes = v; break;
        case 'rios': d.reads = v; break;
        case 'wios': d.writes = v; break;
      }
    }
    out.set(f[0], d);
  }
  return out;
}

function ioFromV2(dir: string): Map<string, DeviceIo> | undefined {
  const text = readSmall(join(dir, 'io.stat'));
  return text === undefined ? undefined : parseIoStat(text);
}

/** blkio's `254:0 Read 4096` lines (Write, Sync, Async, Discard, Total too) -> device -> Read/Write. */
export function parseBlkioRw(text: string): Map<string, { read: number; write: number }> {
  const out = new Map<string, { read: number; write: number }>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length !== 3 || !f[0]!.includes(':')) continue;
    let d = out.get(f[0]!);
    if (!d) out.set(f[0]!, (d = { read: 0, write: 0 }));
    if (f[1] === 'Read') d.read = Number(f[2]);
    else if (f[1] === 'Write') d.write = Number(f[2]);
  }
  return out;
}

function ioFromV1(dir: string | undefined): Map<string, DeviceIo> | undefined {
  if (!dir) return undefined;
  // The throttle policy's counters are kept whether or not a limit is set (the CFQ/BFQ ones only
  // under that scheduler); the _recursive files include descendants, as v2's io.stat does.
  const read = (name: string) => readSmall(join(dir, `${name}_recursive`)) ?? readSmall(join(dir, name));
  const bytes = read('blkio.throttle.io_service_bytes');
  if (bytes === undefined) return undefined;
  const ops = parseBlkioRw(read('blkio.throttle.io_serviced') ?? '');
  const out = new Map<string, DeviceIo>();
  for (const [dev, b] of parseBlkioRw(bytes)) {
    const o = ops.get(dev);
    out.set(dev, { readBytes: b.read, writeBytes: b.write, reads: o?.read ?? 0, writes: o?.write ?? 0 });
  }
  return out;
}

function pidsFrom(dir: string | undefined): { current: number; limit?: number } | undefined {
  if (!dir) return undefined;
  const current = readNumber(join(dir, 'pids.current'));
  if (current === undefined) return undefined;
  const limit = readNumber(join(dir, 'pids.max'));
  return limit === undefined ? { current } : { current, limit };
}
