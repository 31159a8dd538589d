// Parsers of the /proc files the node and process metrics come from. Formats: proc(5) and the
// kernel's Documentation/filesystems/proc.rst, Documentation/admin-guide/iostats.rst.
import { unescapeMountField } from '../../src/host/cgroups.ts';

/** Times of /proc/stat's cpu lines, in clock ticks (USER_HZ). guest time is already in user. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  total: CpuTimes;
  /** Logical CPU number -> times. */
  perCpu: Map<number, CpuTimes>;
  /** Boot time, seconds since the epoch (btime). */
  bootTimeSeconds: number;
}

function cpuTimes(fields: string[]): CpuTimes {
  const n = (i: number) => Number(fields[i] ?? 0) || 0;
  return { user: n(1), nice: n(2), system: n(3), idle: n(4), iowait: n(5), irq: n(6), softirq: n(7), steal: n(8) };
}

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { total: cpuTimes([]), perCpu: new Map(), bootTimeSeconds: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu')) {
      const fields = line.split(/\s+/);
      const name = fields[0]!;
      if (name === 'cpu') out.total = cpuTimes(fields);
      else out.perCpu.set(Number(name.slice(3)), cpuTimes(fields));
    } else if (line.startsWith('btime ')) {
      out.bootTimeSeconds = Number(line.slice(6));
    }
  }
  return out;
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] {
  const [a = '0', b = '0', c = '0'] = text.split(' ');
  return [Number(a), Number(b), Number(c)];
}

/** /proc/meminfo in bytes (`MemTotal: 16384 kB` -> MemTotal -> 16777216). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rest = line.slice(colon + 1).trim();
    const space = rest.indexOf(' ');
    const value = Number(space < 0 ? rest : rest.slice(0, space));
    if (!Number.isFinite(value)) continue;
    out.set(line.slice(0, colon), rest.endsWith('kB') ? value * 1024 : value);
  }
  return out;
}

/** One line of /proc/diskstats. Sectors are always 512 bytes there, whatever the device's. */
export interface DiskStat {
  major: number;
  minor: number;
  name: string;
  readsCompleted: number;
  readsMerged: number;
  sectorsRead: number;
  msReading: number;
  writesCompleted: number;
  writesMerged: number;
  sectorsWritten: number;
  msWriting: number;
  inProgress: number;
  msDoingIo: number;
  weightedMs: number;
}

export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = (i: number) => Number(f[i]);
    out.push({
      major: n(0),
      minor: n(1),
      name: f[2]!,
      readsCompleted: n(3),
      readsMerged: n(4),
      sectorsRead: n(5),
      msReading: n(6),
      writesCompleted: n(7),
      writesMerged: n(8),
      sectorsWritten: n(9),
      msWriting: n(10),
      inProgress: n(11),
      msDoingIo: n(12),
      weightedMs: n(13),
    });
  }
  return out;
}

export interface NetDevStat {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev (or /proc/PID/net/dev: the interfaces of that process's network namespace). */
export function parseNetDev(text: string): NetDevStat[] {
  const out: NetDevStat[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || !name) continue;
    out.push({
      name,
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrors: f[2]!,
      rxDropped: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrors: f[10]!,
      txDropped: f[11]!,
    });
  }
  return out;
}

export interface MountEntry {
  device: string;
  mountPoint: string;
  type: string;
  options: string[];
}

/** /proc/PID/mounts (fstab format, octal escapes). */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ device: unescapeMountField(f[0]!), mountPoint: unescapeMountField(f[1]!), type: f[2]!, options: f[3]!.split(',') });
  }
  return out;
}

/** The fields of /proc/PID/stat the process metrics use. Times in clock ticks, rss in pages. */
export interface PidStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  numThreads: number;
  /** Start time after boot, clock ticks. */
  startTime: number;
  vsizeBytes: number;
  rssPages: number;
}

/** /proc/PID/stat; the command name may hold spaces and parentheses, so fields count from the last ')'. */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5).
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0] ?? '',
    ppid: n(4),
    utime: n(14),
    stime: n(15),
    numThreads: n(20),
    startTime: n(22),
    vsizeBytes: n(23),
    rssPages: n(24),
  };
}

/** /proc/uptime: seconds since boot. */
export function parseUptime(text: string): number {
  return Number(text.split(' ')[0]);
}
