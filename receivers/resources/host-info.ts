// Facts about the host that every collector needs, read once (clock tick, page size, boot time,
// cgroup mounts) or once per collection (block device names).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type CgroupHierarchies, findCgroupHierarchies } from '../../src/host/cgroups.ts';
import { readLink, readSmall } from '../../src/host/read.ts';
import { type DiskStat, parseDiskstats, parseProcStat } from './procfs.ts';

function getconf(name: string, fallback: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

export interface HostInfoOptions {
  rootPath: string;
  /** Cgroup mounts to use instead of discovering them (tests, fixtures). */
  hierarchies?: CgroupHierarchies;
}

export class HostInfo {
  readonly rootPath: string;
  readonly procRoot: string;
  /** USER_HZ: the unit of /proc/stat and /proc/PID/stat times. */
  readonly clockTicks: number;
  readonly pageSize: number;
  readonly bootTimeUnixNano: bigint;
  readonly hierarchies: CgroupHierarchies;
  /** The host's network namespace (`net:[4026531840]`): containers sharing it are host-network ones. */
  readonly hostNetns: string | undefined;
  #diskstats: DiskStat[] | undefined;

  constructor(options: HostInfoOptions) {
    this.rootPath = options.rootPath;
    this.procRoot = join(options.rootPath, 'proc');
    // USER_HZ is 100 on every Linux architecture bpfcol runs on; getconf confirms it.
    this.clockTicks = getconf('CLK_TCK', 100);
    this.pageSize = getconf('PAGESIZE', 4096);
    const stat = readSmall(`${this.procRoot}/stat`);
    this.bootTimeUnixNano = BigInt(stat ? parseProcStat(stat).bootTimeSeconds : 0) * 1_000_000_000n;
    this.hierarchies = options.hierarchies ?? findCgroupHierarchies({ under: options.rootPath });
    // pid 1 may be out of reach (no ptrace access to it in some sandboxes): then our own is the host's.
    this.hostNetns = readLink(`${this.procRoot}/1/ns/net`) ?? readLink(`${this.procRoot}/self/ns/net`);
  }

  /** /proc/diskstats, read at most once per collection (see newCollection). */
  diskstats(): DiskStat[] {
    this.#diskstats ??= parseDiskstats(readSmall(`${this.procRoot}/diskstats`) ?? '');
    return this.#diskstats;
  }

  /** "major:minor" -> block device name, from this collection's /proc/diskstats. */
  deviceName(majorMinor: string): string {
    const [major, minor] = majorMinor.split(':').map(Number);
    return this.diskstats().find((d) => d.major === major && d.minor === minor)?.name ?? majorMinor;
  }

  /** Forgets what was read for the previous collection. */
  newCollection(): void {
    this.#diskstats = undefined;
  }
}
