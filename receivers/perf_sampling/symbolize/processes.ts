// What the symbolizer knows of a process: its name, cgroup/container, the pid its own namespace
// gives it (perf maps are named by that one), and a copy of its executable mappings, read when it
// was first sampled, so its last samples can be symbolized after it exits.
import { basename } from 'node:path';
import { containerFromCgroupPath, podFromCgroupPath, primaryCgroupPath, readProcessCgroups } from '../../../src/host/cgroups.ts';
import { readLink, readSmall } from '../../../src/host/read.ts';
import { type Mapping, readMaps } from './proc-maps.ts';
import type { PerfMap } from './perf-map.ts';

export interface ProcessInfo {
  tgid: number;
  /** Base name of the executable (process.executable.name); the comm for kernel threads. */
  name: string;
  exePath?: string;
  cgroupId: bigint;
  cgroupPath?: string;
  containerId?: string;
  podUid?: string;
  /** The pid in the process's own pid namespace (the innermost NSpid). */
  nsPid: number;
  /** Executable mappings as last read; [] when never read. */
  maps: Mapping[];
  /** When the maps were last read (performance.now()), -Infinity when never. */
  mapsReadAt: number;
  /** False once /proc/PID is gone (its cached maps are all there is). */
  alive: boolean;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart. */
  startTicks?: number;
  /** When a sample of it was last seen (Date.now()). */
  lastSeen: number;
  perfMap?: PerfMap | null;
}

/** Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold spaces). */
export function parseStartTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : undefined;
}

/** The innermost pid of an NSpid line of /proc/PID/status. */
export function parseNsPid(status: string, fallback: number): number {
  const m = /^NSpid:\s*([\d\s]+)$/m.exec(status);
  const pids = m?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  return pids.at(-1) ?? fallback;
}

/** Reads a process from /proc now. comm and cgroupId come from the kernel's record of the sample. */
export function readProcess(tgid: number, comm: string, cgroupId: bigint, procRoot = '/proc'): ProcessInfo {
  const dir = `${procRoot}/${tgid}`;
  const exePath = readLink(`${dir}/exe`);
  const maps = readMaps(tgid, procRoot);
  const cgroups = readProcessCgroups(tgid, procRoot);
  const cgroupPath = cgroups ? primaryCgroupPath(cgroups) : undefined;
  const status = readSmall(`${dir}/status`);
  const stat = readSmall(`${dir}/stat`);
  const exeName = exePath ? basename(exePath.replace(/ \(deleted\)$/, '')) : undefined;
  return {
    tgid,
    name: exeName || comm,
    exePath: exePath?.replace(/ \(deleted\)$/, ''),
    cgroupId,
    cgroupPath,
    containerId: cgroupPath ? containerFromCgroupPath(cgroupPath)?.id : undefined,
    podUid: cgroupPath ? podFromCgroupPath(cgroupPath)?.uid : undefined,
    nsPid: status ? parseNsPid(status, tgid) : tgid,
    maps: maps ?? [],
    mapsReadAt: maps ? performance.now() : -Infinity,
    alive: maps !== undefined,
    startTicks: stat ? parseStartTicks(stat) : undefined,
    lastSeen: Date.now(),
  };
}
