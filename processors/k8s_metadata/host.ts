// What the machine itself says about data from its processes: host identity, what /proc knows
// of a pid, and which container and pod a cgroup (by id or path) or a pid belongs to. The
// cgroup path parsing is src/host/cgroups.ts's (containerd, CRI-O, Docker, Podman; systemd and
// cgroupfs drivers; cgroup v1 and v2).
import { hostname } from 'node:os';
import {
  CgroupIdIndex,
  type ContainerRef,
  containerFromCgroupPath,
  findCgroupHierarchies,
  type PodRef,
  podFromCgroupPath,
  primaryCgroupPath,
  readProcessCgroups,
} from '../../src/host/cgroups.ts';
import { readLink, readSmall } from '../../src/host/read.ts';

/** host.name, host.id (the machine id), os.type. */
export function hostAttributes(procRoot = '/proc'): Record<string, string> {
  const out: Record<string, string> = { 'host.name': hostname(), 'os.type': 'linux' };
  const root = procRoot.replace(/\/proc\/?$/, '');
  for (const file of [`${root}/etc/machine-id`, `${root}/var/lib/dbus/machine-id`, '/etc/machine-id']) {
    const id = readSmall(file)?.trim();
    if (id) {
      out['host.id'] = id;
      break;
    }
  }
  return out;
}

/** Where a cgroup path leads: the container it names and the pod it lies in. */
export interface CgroupPlace {
  path: string;
  container?: ContainerRef;
  pod?: PodRef;
}

export function placeOf(path: string): CgroupPlace {
  const place: CgroupPlace = { path };
  const container = containerFromCgroupPath(path);
  if (container) place.container = container;
  const pod = podFromCgroupPath(path);
  if (pod) place.pod = pod;
  return place;
}

export interface ProcessInfo {
  pid: number;
  executableName?: string;
  executablePath?: string;
  commandLine?: string;
  owner?: string;
  parentPid?: number;
  place?: CgroupPlace;
}

/** /proc/PID/stat fields after the command name (field 3 is index 0). */
function statFields(procRoot: string, pid: number): string[] | undefined {
  const text = readSmall(`${procRoot}/${pid}/stat`);
  const close = text?.lastIndexOf(')') ?? -1;
  return close < 0 ? undefined : text!.slice(close + 2).split(' ');
}

/**
 * Process facts by pid, cached; an entry is trusted while the pid's start time is unchanged (a
 * reused pid is a new process) and for at most `ttlMs`.
 */
export class ProcessTable {
  readonly #procRoot: string;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #cache = new Map<number, { info: ProcessInfo; start: string; readAtMs: number }>();
  readonly #users = new Map<string, string>();

  constructor(options: { procRoot?: string; ttlMs?: number; maxEntries?: number } = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#max = options.maxEntries ?? 10_000;
  }

  get(pid: number): ProcessInfo | undefined {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const fields = statFields(this.#procRoot, pid);
    if (!fields) {
      // Gone: what we knew still describes the data it left behind.
      return this.#cache.get(pid)?.info;
    }
    const start = fields[19] ?? '';
    const now = Date.now();
    const cached = this.#cache.get(pid);
    if (cached && cached.start === start && now - cached.readAtMs < this.#ttlMs) return cached.info;
    const info = this.#read(pid, fields);
    this.#cache.delete(pid);
    this.#cache.set(pid, { info, start, readAtMs: now });
    while (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return info;
  }

  #read(pid: number, fields: string[]): ProcessInfo {
    const base = `${this.#procRoot}/${pid}`;
    const info: ProcessInfo = { pid };
    const comm = readSmall(`${base}/comm`)?.replace(/\n$/, '');
    if (comm) info.executableName = comm;
    const exe = readLink(`${base}/exe`);
    if (exe) info.executablePath = exe.replace(/ \(deleted\)$/, '');
    const cmdline = readSmall(`${base}/cmdline`);
    if (cmdline) info.commandLine = cmdline.replace(/\0+$/, '').split('\0').join(' ');
    const ppid = Number(fields[1]);
    if (Number.isInteger(ppid)) info.parentPid = ppid;
    const uid = /^Uid:\s+(\d+)/m.exec(readSmall(`${base}/status`) ?? '')?.[1];
    if (uid !== undefined) info.owner = this.#user(uid);
    const cgroups = readProcessCgroups(pid, this.#procRoot);
    const path = cgroups && primaryCgroupPath(cgroups);
    if (path) info.place = placeOf(path);
    return info;
  }

  #user(uid: string): string {
    if (this.#users.size === 0) {
      for (const line of (readSmall('/etc/passwd') ?? '').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined && !this.#users.has(id)) this.#users.set(id, name);
      }
      if (this.#users.size === 0) this.#users.set('', '');
    }
    return this.#users.get(uid) ?? uid;
  }
}

/** cgroup id (the v2 directory's inode, what eBPF programs see) -> where it leads. */
export class CgroupResolver {
  readonly #index: CgroupIdIndex | undefined;

  constructor(options: { root?: string } = {}) {
    const root = options.root || findCgroupHierarchies().unified;
    this.#index = root ? new CgroupIdIndex(root) : undefined;
  }

  get available(): boolean {
    return this.#index !== undefined;
  }

  byId(id: bigint): CgroupPlace | undefined {
    const path = this.#index?.pathOf(id);
    return path === undefined ? undefined : placeOf(path);
  }
}
