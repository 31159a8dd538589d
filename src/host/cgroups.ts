// Host metadata from cgroups, shared by the engine's components (the resources receiver, the
// k8s_metadata processor, the eBPF receivers): where the cgroup hierarchies are mounted, which
// cgroup a process is in, which container and pod a cgroup path names, and cgroup id <-> path.
//
// Layouts: cgroup v2 alone ("unified"), v1 controllers beside a v2 mount without controllers
// ("hybrid", systemd's old default), v1 alone ("legacy"). Paths are the ones /proc/PID/cgroup and
// the hierarchies use: absolute inside the hierarchy, "/" for its root.
//
// The id of a cgroup is the inode number of its directory in the v2 hierarchy: what the kernel's
// bpf_get_current_cgroup_id() returns (cgroup->kn->id), and what `stat` shows.
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSmall } from './read.ts';

// ---- mounts ---------------------------------------------------------------------------------

export interface CgroupHierarchies {
  /** Mount point of the cgroup v2 hierarchy, if mounted. */
  unified?: string;
  /** Controllers enabled at the v2 root (cgroup.controllers), when read. */
  unifiedControllers?: string[];
  /** v1 hierarchies: controller (cpu, cpuacct, memory, blkio, pids, name=systemd...) -> mount point. */
  v1: Map<string, string>;
}

export type CgroupMode = 'unified' | 'hybrid' | 'legacy' | 'none';

/** Undoes the octal escapes of /proc mount tables (`\040` is a space). */
export function unescapeMountField(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

const V1_MOUNT_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods']);

/**
 * The cgroup hierarchies of a /proc/PID/mountinfo text. When a hierarchy is mounted several times
 * (bind mounts), the mount of its root is kept; `under` prefers mount points below a directory
 * (a host file system mounted into a container at /hostfs).
 */
export function parseMountinfo(text: string, under?: string): CgroupHierarchies {
  const out: CgroupHierarchies = { v1: new Map() };
  const prefer = under && under !== '/' ? under.replace(/\/+$/, '') + '/' : undefined;
  const better = (current: string | undefined, candidate: string, root: string) => {
    if (root !== '/') return current === undefined ? candidate : current;
    if (current === undefined) return candidate;
    if (prefer && !current.startsWith(prefer) && candidate.startsWith(prefer)) return candidate;
    return current;
  };
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    const fstype = right[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountField(left[3] ?? '/');
    const mountPoint = unescapeMountField(left[4] ?? '');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') {
      out.unified = better(out.unified, mountPoint, root);
      continue;
    }
    for (const opt of (right[2] ?? '').split(',')) {
      if (V1_MOUNT_OPTIONS.has(opt) || (opt.includes('=') && !opt.startsWith('name='))) continue;
      out.v1.set(opt, better(out.v1.get(opt), mountPoint, root) ?? mountPoint);
    }
  }
  return out;
}

/** The hierarchies as this process sees them (reads /proc/self/mountinfo and the v2 root's controllers). */
export function findCgroupHierarchies(options: { mountinfo?: string; under?: string } = {}): CgroupHierarchies {
  const text = readSmall(options.mountinfo ?? '/proc/self/mountinfo') ?? '';
  const h = parseMountinfo(text, options.under);
  if (h.unified) h.unifiedControllers = readControllers(h.unified);
  return h;
}

/** Builds hierarchies from known roots (tests and fixtures). */
export function cgroupHierarchies(unified: string | undefined, v1: Record<string, string> = {}): CgroupHierarchies {
  const h: CgroupHierarchies = { v1: new Map(Object.entries(v1)) };
  if (unified) {
    h.unified = unified;
    h.unifiedControllers = readControllers(unified);
  }
  return h;
}

function readControllers(dir: string): string[] {
  return (readSmall(join(dir, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean);
}

/**
 * unified: v2 only, or v2 with the controllers while v1 mounts hold none of cpu/memory;
 * hybrid: v1 controllers plus a v2 mount; legacy: v1 only.
 */
export function cgroupMode(h: CgroupHierarchies): CgroupMode {
  const v1Resource = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'].some((c) => h.v1.has(c));
  if (h.unified && !v1Resource) return 'unified';
  if (h.unified) return 'hybrid';
  return v1Resource || h.v1.size ? 'legacy' : 'none';
}

// ---- processes --------------------------------------------------------------------------------

export interface ProcessCgroups {
  /** The v2 path (`0::/path`), if the process has one. */
  unified?: string;
  /** v1 controller -> path (`4:memory:/path`, combined controllers split). */
  v1: Map<string, string>;
}

/** Parses /proc/PID/cgroup. */
export function parseProcCgroup(text: string): ProcessCgroups {
  const out: ProcessCgroups = { v1: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') out.unified = path;
    else for (const c of controllers.split(',')) if (c) out.v1.set(c, path);
  }
  return out;
}

/** The cgroups of a process, or undefined when it is gone. `procRoot` is /proc (or /hostfs/proc). */
export function readProcessCgroups(pid: number, procRoot = '/proc'): ProcessCgroups | undefined {
  const text = readSmall(`${procRoot}/${pid}/cgroup`);
  return text === undefined ? undefined : parseProcCgroup(text);
}

/**
 * The path that names a process's cgroup: the v2 path, except on hosts whose v2 hierarchy is
 * empty (legacy, or hybrid where the process sits at the v2 root) where a v1 path is more telling
 * (cpu, cpuacct, memory, pids, then name=systemd).
 */
export function primaryCgroupPath(c: ProcessCgroups): string | undefined {
  if (c.unified !== undefined && c.unified !== '/') return c.unified;
  for (const controller of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'name=systemd']) {
    const p = c.v1.get(controller);
    if (p !== undefined && p !== '/') return p;
  }
  return c.unified ?? c.v1.values().next().value;
}

// ---- containers and pods ----------------------------------------------------------------------

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

export interface ContainerRef {
  /** 64 lowercase hex digits. */
  id: string;
  /** The runtime when the path says it (systemd scope names, /docker/...); undefined for cgroupfs kubepods paths. */
  runtime?: ContainerRuntime;
  /** The cgroup path of the container: the given path up to and including the segment naming it. */
  path: string;
}

const SCOPE_PREFIX: Record<string, ContainerRuntime> = {
  'cri-containerd': 'containerd',
  crio: 'cri-o',
  docker: 'docker',
  libpod: 'podman',
};
// cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope, libpod-<id>.scope (systemd driver);
// crio-<id> and plain <id> (cgroupfs driver). conmon scopes (crio-conmon-, libpod-conmon-) are not containers.
const SCOPED_ID = /^(cri-containerd|crio|docker|libpod)-([0-9a-f]{64})(?:\.scope)?$/;
const PLAIN_ID = /^[0-9a-f]{64}$/;

/**
 * The container a cgroup path names: the segment nearest the end that holds a container id, so a
 * cgroup below a container's (systemd inside a container: .../docker-<id>.scope/init.scope) and
 * nested runtimes (kind: /docker/<node>/kubepods/.../<id>) give the innermost container.
 */
export function containerFromCgroupPath(path: string): ContainerRef | undefined {
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    const scoped = SCOPED_ID.exec(s);
    if (scoped) {
      return { id: scoped[2]!, runtime: SCOPE_PREFIX[scoped[1]!], path: segments.slice(0, i + 1).join('/') || '/' };
    }
    if (PLAIN_ID.test(s)) {
      const ref: ContainerRef = { id: s, path: segments.slice(0, i + 1).join('/') || '/' };
      // /docker/<id> is Docker's cgroupfs layout; kubepods/.../<id> does not say which CRI runtime.
      if (segments[i - 1] === 'docker') ref.runtime = 'docker';
      return ref;
    }
  }
  return undefined;
}

export type PodQosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface PodRef {
  /** The pod uid as the API server writes it (dashes; 32 hex digits for static pods). */
  uid: string;
  /** The pod's cgroup path (up to and including the pod segment). */
  path: string;
  qosClass: PodQosClass;
}

// kubepods-burstable-pod<uid with _>.slice (systemd driver), pod<uid> (cgroupfs driver). Static
// (mirror) pods have a 32-hex-digit uid (a hash of the manifest).
const POD_SEGMENT = /^(?:kubepods(?:-(besteffort|burstable))?-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;

/** The pod a cgroup path lies in (the segment nearest the end), or undefined. */
export function podFromCgroupPath(path: string): PodRef | undefined {
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const m = POD_SEGMENT.exec(segments[i]!);
    if (!m) continue;
    // A cgroupfs pod segment must sit under kubepods, or any "pod<hex>" directory would match.
    const systemd = segments[i]!.startsWith('kubepods');
    if (!systemd && !segments.slice(0, i).some((s) => s === 'kubepods' || s.startsWith('kubepods'))) continue;
    let qos = m[1] as PodQosClass | undefined;
    if (!qos) {
      const parent = segments[i - 1] ?? '';
      qos = /besteffort/.test(parent) ? 'besteffort' : /burstable/.test(parent) ? 'burstable' : 'guaranteed';
    }
    return { uid: m[2]!.replaceAll('_', '-'), path: segments.slice(0, i + 1).join('/') || '/', qosClass: qos };
  }
  return undefined;
}

// ---- a process, described ---------------------------------------------------------------------

export interface ProcessCgroupInfo {
  /** primaryCgroupPath of the process. */
  path: string;
  /** Its v2 cgroup id (what eBPF programs see for it), when a v2 hierarchy is mounted. */
  id?: bigint;
  container?: ContainerRef;
  pod?: PodRef;
}

/**
 * Everything the cgroups say about a process: its cgroup path and v2 id, its container and pod.
 * `ids` resolves v2 paths (and remembers them for id -> path lookups). Undefined when it is gone.
 */
export function describeProcessCgroup(pid: number, ids: CgroupIdIndex | undefined, procRoot = '/proc'): ProcessCgroupInfo | undefined {
  const cgroups = readProcessCgroups(pid, procRoot);
  if (!cgroups) return undefined;
  const path = primaryCgroupPath(cgroups);
  if (path === undefined) return undefined;
  const info: ProcessCgroupInfo = { path };
  const id = cgroups.unified !== undefined ? ids?.idOf(cgroups.unified) : undefined;
  if (id !== undefined) info.id = id;
  const container = containerFromCgroupPath(path);
  if (container) info.container = container;
  const pod = podFromCgroupPath(path);
  if (pod) info.pod = pod;
  return info;
}

// ---- ids --------------------------------------------------------------------------------------

/** The id of a cgroup directory (its inode number), or undefined when it does not exist. */
export function cgroupIdOf(dir: string): bigint | undefined {
  try {
    return statSync(dir, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/** Joins a hierarchy mount point and a cgroup path. */
export function cgroupDir(mountPoint: string, path: string): string {
  return path === '/' || path === '' ? mountPoint : join(mountPoint, path);
}

/**
 * Walks a hierarchy depth first, calling visit(path) for every cgroup (the root "/" first).
 * visit returns false to skip that cgroup's descendants.
 */
export function walkCgroups(mountPoint: string, visit: (path: string) => boolean | void): void {
  const stack: string[] = ['/'];
  while (stack.length) {
    const path = stack.pop()!;
    if (visit(path) === false) continue;
    let entries: Dirent[];
    try {
      entries = readdirSync(cgroupDir(mountPoint, path), { withFileTypes: true });
    } catch {
      continue;
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.isDirectory()) stack.push(path === '/' ? `/${e.name}` : `${path}/${e.name}`);
    }
  }
}

/**
 * cgroup id <-> path for one hierarchy (the v2 one, for the ids eBPF programs see). Lookups of
 * unknown ids rebuild the index by walking the hierarchy, at most once per `minRebuildMs`, so a
 * flood of ids of cgroups already gone does not turn into a flood of walks.
 */
export class CgroupIdIndex {
  readonly mountPoint: string;
  readonly #minRebuildMs: number;
  #byId = new Map<bigint, string>();
  #lastBuild = -Infinity;

  constructor(mountPoint: string, options: { minRebuildMs?: number } = {}) {
    this.mountPoint = mountPoint;
    this.#minRebuildMs = options.minRebuildMs ?? 1000;
  }

  /** The path of a cgroup id, or undefined when no cgroup has it (any more). */
  pathOf(id: bigint): string | undefined {
    const known = this.#byId.get(id);
    if (known !== undefined) {
      // A cached path may now name another cgroup (removed and created again): check the inode.
      if (cgroupIdOf(cgroupDir(this.mountPoint, known)) === id) return known;
      this.#byId.delete(id);
    }
    if (performance.now() - this.#lastBuild < this.#minRebuildMs) return undefined;
    this.rebuild();
    return this.#byId.get(id);
  }

  /** The id of a cgroup path (remembered for pathOf). */
  idOf(path: string): bigint | undefined {
    const id = cgroupIdOf(cgroupDir(this.mountPoint, path));
    if (id !== undefined) this.#byId.set(id, path);
    return id;
  }

  /** Walks the hierarchy and indexes every cgroup. */
  rebuild(): void {
    const byId = new Map<bigint, string>();
    walkCgroups(this.mountPoint, (path) => {
      const id = cgroupIdOf(cgroupDir(this.mountPoint, path));
      if (id !== undefined) byId.set(id, path);
    });
    this.#byId = byId;
    this.#lastBuild = performance.now();
  }

  get size(): number {
    return this.#byId.size;
  }
}
