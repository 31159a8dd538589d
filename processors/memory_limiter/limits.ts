// The soft and hard limits in bytes, from the config and (for percentages) the memory this
// process may use: the machine's, or its cgroup's limit when that is lower.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { MemoryLimiterConfig } from './config.ts';

export const MIB = 1024 * 1024;

export interface MemoryLimits {
  hardBytes: number;
  softBytes: number;
  spikeBytes: number;
}

function readLimit(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const n = Number(text);
    // cgroup v2 says "max" for no limit; v1 says a huge number.
    return Number.isFinite(n) && n > 0 && n < 2 ** 60 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The lowest memory limit of this process's cgroup (v2, walking up the hierarchy) or cgroup v1. */
export function cgroupMemoryLimit(root = '/sys/fs/cgroup', procCgroup = '/proc/self/cgroup'): number | undefined {
  const limits: number[] = [];
  const push = (n: number | undefined) => n !== undefined && limits.push(n);
  let own: string | undefined;
  try {
    own = readFileSync(procCgroup, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
  } catch {
    own = undefined;
  }
  if (own) {
    for (let dir = join(root, own); dir.startsWith(root) && dir !== root; dir = dirname(dir)) {
      push(readLimit(join(dir, 'memory.max')));
    }
  }
  push(readLimit(join(root, 'memory.max'))); // inside a container the namespace root is the own cgroup
  push(readLimit(join(root, 'memory', 'memory.limit_in_bytes'))); // cgroup v1
  return limits.length ? Math.min(...limits) : undefined;
}

/** What the process may use: total memory, or the cgroup limit when lower. */
export function totalMemory(): number {
  const machine = totalmem();
  const cgroup = cgroupMemoryLimit();
  return cgroup !== undefined && cgroup < machine ? cgroup : machine;
}

export function computeLimits(c: MemoryLimiterConfig, total: () => number = totalMemory): MemoryLimits {
  let hard: number;
  let spike: number;
  if (c.limit_mib > 0) {
    hard = c.limit_mib * MIB;
    spike = c.spike_limit_mib > 0 ? c.spike_limit_mib * MIB : hard / 5;
  } else {
    const t = total();
    hard = (t * c.limit_percentage) / 100;
    spike = c.spike_limit_percentage > 0 ? (t * c.spike_limit_percentage) / 100 : hard / 5;
  }
  return { hardBytes: hard, spikeBytes: spike, softBytes: hard - spike };
}
