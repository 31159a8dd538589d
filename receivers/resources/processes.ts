// Per-process metrics from /proc/PID: CPU time, memory, file descriptors, threads and storage
// bytes, one resource per process (process.pid, process.executable.name, and the cgroup and
// container it runs in, so k8s_metadata can name its pod).
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { CgroupIdIndex, describeProcessCgroup } from '../../src/host/cgroups.ts';
import { listDir, parseKeyValues, readLink, readSmall } from '../../src/host/read.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { type CollectionBuilder, attr } from './builder.ts';
import type { ResourcesConfig } from './config.ts';
import type { HostInfo } from './host-info.ts';
import { PROCESS } from './metrics.ts';
import { parsePidStat } from './procfs.ts';

const CPU_USER = [attr.str('cpu.mode', 'user')];
const CPU_SYSTEM = [attr.str('cpu.mode', 'system')];
const READ = [attr.str('disk.io.direction', 'read')];
const WRITE = [attr.str('disk.io.direction', 'write')];

/** The comm (15 characters at most) a configured name shows up as. */
const COMM_LENGTH = 15;

interface Known {
  /** clock ticks after boot: with the pid, the identity of a process (pids are reused). */
  startTicks: number;
  resource: KeyValue[];
}

/** The base name of a process's executable (readlink /proc/PID/exe), without the " (deleted)" of a replaced binary. */
export function executableName(procRoot: string, pid: number): string | undefined {
  const target = readLink(`${procRoot}/${pid}/exe`);
  if (!target) return undefined;
  return basename(target.endsWith(' (deleted)') ? target.slice(0, -10) : target);
}

/**
 * Open file descriptors: since Linux 6.2 the size of /proc/PID/fd is their number (one stat instead
 * of reading the directory); 0 there means an older kernel or no fd, and the directory is read.
 */
function fdCount(dir: string): number | undefined {
  try {
    const size = statSync(`${dir}/fd`).size;
    if (size > 0) return size;
  } catch {
    return undefined; // gone, or not ours to look at
  }
  return listDir(`${dir}/fd`).length;
}

export class ProcessCollector {
  readonly #config: ResourcesConfig['processes'];
  readonly #host: HostInfo;
  readonly #names: Set<string>;
  readonly #exeNames: Set<string>;
  readonly #pids: number[];
  readonly #ids: CgroupIdIndex | undefined;
  #known = new Map<number, Known>();

  constructor(config: ResourcesConfig['processes'], host: HostInfo) {
    this.#config = config;
    this.#host = host;
    this.#names = new Set(config.include.names.map((n) => n.slice(0, COMM_LENGTH)));
    this.#exeNames = new Set(config.include.names);
    this.#pids = config.include.pids;
    this.#ids = host.hierarchies.unified ? new CgroupIdIndex(host.hierarchies.unified) : undefined;
  }

  /** The pids to report this time (at most max_processes; the number left out is returned too). */
  select(): { pids: number[]; skipped: number } {
    const proc = this.#host.procRoot;
    const all = this.#names.size === 0 && this.#pids.length === 0;
    const chosen = new Set<number>(this.#pids);
    if (all || this.#names.size) {
      for (const entry of listDir(proc)) {
        const c = entry.charCodeAt(0);
        if (c < 48 || c > 57) continue; // not a pid
        const pid = Number(entry);
        if (all) chosen.add(pid);
        else {
          const comm = readSmall(`${proc}/${pid}/comm`);
          if (comm === undefined) continue;
          if (this.#names.has(comm.trimEnd())) chosen.add(pid);
          else {
            // A thread may rename itself (Node's main thread is "MainThread"): the executable's name counts too.
            const exe = executableName(proc, pid);
            if (exe !== undefined && this.#exeNames.has(exe)) chosen.add(pid);
          }
        }
      }
    }
    const pids = [...chosen].sort((a, b) => a - b);
    const max = this.#config.max_processes;
    return pids.length > max ? { pids: pids.slice(0, max), skipped: pids.length - max } : { pids, skipped: 0 };
  }

  /** Adds a resource per live process among pids. */
  collect(out: CollectionBuilder, pids: number[]): void {
    const proc = this.#host.procRoot;
    const tick = this.#host.clockTicks;
    const next = new Map<number, Known>();
    for (const pid of pids) {
      const dir = `${proc}/${pid}`;
      const statText = readSmall(`${dir}/stat`);
      const stat = statText ? parsePidStat(statText) : undefined;
      if (!stat) continue; // gone
      let known = this.#known.get(pid);
      if (!known || known.startTicks !== stat.startTime) known = { startTicks: stat.startTime, resource: this.#resource(pid, stat.comm, stat.ppid) };
      next.set(pid, known);
      const start = this.#host.bootTimeUnixNano + BigInt(Math.round((stat.startTime / tick) * 1e9));
      const r = out.resource(known.resource);
      r.add(PROCESS.cpuTime, stat.utime / tick, CPU_USER, start);
      r.add(PROCESS.cpuTime, stat.stime / tick, CPU_SYSTEM, start);
      r.add(PROCESS.memoryUsage, stat.rssPages * this.#host.pageSize, [], start);
      r.add(PROCESS.memoryVirtual, stat.vsizeBytes, [], start);
      r.add(PROCESS.threads, stat.numThreads, [], start);
      const fds = fdCount(dir);
      if (fds !== undefined) r.add(PROCESS.fileDescriptors, fds, [], start);
      const io = readSmall(`${dir}/io`); // needs ptrace access to the process: root has it, others may not
      if (io) {
        const v = parseKeyValues(io);
        r.add(PROCESS.diskIo, v.get('read_bytes'), READ, start);
        r.add(PROCESS.diskIo, v.get('write_bytes'), WRITE, start);
      }
    }
    this.#known = next;
  }

  #resource(pid: number, comm: string, ppid: number): KeyValue[] {
    // process.executable.name is the base name of /proc/PID/exe; kernel threads have none: their comm.
    const name = executableName(this.#host.procRoot, pid) ?? comm;
    const resource = [attr.int('process.pid', pid), attr.int('process.parent_pid', ppid), attr.str('process.executable.name', name)];
    const cg = describeProcessCgroup(pid, this.#ids, this.#host.procRoot);
    if (!cg) return resource;
    if (cg.container) resource.push(attr.str('container.id', cg.container.id));
    if (cg.pod) resource.push(attr.str('k8s.pod.uid', cg.pod.uid));
    if (cg.id !== undefined) resource.push(attr.int('container.cgroup.id', cg.id));
    resource.push(attr.str('container.cgroup.path', cg.path));
    return resource;
  }
}
