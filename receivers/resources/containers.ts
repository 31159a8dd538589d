// Container, pod and chosen cgroups: found by walking the cgroup hierarchy every collection, read
// from their cgroup files (cgroup-stats.ts), with network bytes per network namespace.
//
// Which cgroups: a cgroup whose last path segment names a container (containerd, CRI-O, Docker,
// Podman; see src/host/cgroups.ts) is a container (its descendants are part of it and not walked);
// a pod<uid> cgroup is a pod; cgroups matching `include` patterns are reported as they are.
//
// Which hierarchy is walked: the v2 one on unified hosts; on hybrid and legacy hosts a v1 one
// (cpuacct, cpu, memory...), since container runtimes create the same path in every hierarchy.
// Ids are always v2 inode numbers (what eBPF programs see), when the v2 directory exists.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CgroupHierarchies,
  type ContainerRef,
  type PodRef,
  cgroupDir,
  cgroupMode,
  containerFromCgroupPath,
  podFromCgroupPath,
  walkCgroups,
} from '../../src/host/cgroups.ts';
import { readLink, readSmall } from '../../src/host/read.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { type CollectionBuilder, type ResourceBuilder, attr } from './builder.ts';
import { type CgroupDirs, type CgroupStats, type StatsPlan, newStatsPlan, readCgroupStats } from './cgroup-stats.ts';
import { type ResourcesConfig, cgroupPattern } from './config.ts';
import type { HostInfo } from './host-info.ts';
import { CONTAINER, POD } from './metrics.ts';
import { parseNetDev } from './procfs.ts';

export type TargetKind = 'container' | 'pod' | 'cgroup';

/** A reported cgroup, kept from one collection to the next while its directory lives. */
export interface CgroupTarget {
  path: string;
  kind: TargetKind;
  container?: ContainerRef;
  pod?: PodRef;
  dirs: CgroupDirs;
  /** The directory in the walked hierarchy (cgroup.procs is read there). */
  primaryDir: string;
  /** The inode of primaryDir: a cgroup removed and created again under the same path is a new target. */
  inode: bigint;
  /** The v2 cgroup id, when the cgroup has a v2 directory. */
  id?: bigint;
  /** Start of its cumulative counts: the cgroup directory's change time when first seen. */
  startUnixNano: bigint;
  resource: KeyValue[];
  /** Where its numbers were found last time. */
  plan: StatsPlan;
  lastCpu?: { seconds: number; timeUnixNano: bigint };
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];
const WALK_ORDER = ['cpuacct', 'cpu', 'memory', 'pids', 'blkio', 'name=systemd'];

const CPU_USER = [attr.str('cpu.mode', 'user')];
const CPU_KERNEL = [attr.str('cpu.mode', 'kernel')];
const FAULT_MAJOR = [attr.str('system.paging.fault.type', 'major')];
const FAULT_MINOR = [attr.str('system.paging.fault.type', 'minor')];

/** Where the hierarchy to walk is mounted, and whether ids come from a separate v2 mount. */
export function walkRoot(h: CgroupHierarchies): string | undefined {
  const mode = cgroupMode(h);
  if (mode === 'unified') return h.unified;
  for (const c of WALK_ORDER) {
    const m = h.v1.get(c);
    if (m) return m;
  }
  return h.unified;
}

export interface CgroupCollectorStats {
  /** Cgroups left out because max_cgroups were already reported. */
  skipped: number;
}

export class CgroupCollector {
  readonly #config: ResourcesConfig['cgroups'];
  readonly #host: HostInfo;
  readonly #include: RegExp[];
  readonly #excludeInterfaces: RegExp[];
  readonly #root: string | undefined;
  #targets = new Map<string, CgroupTarget>();
  #byId = new Map<bigint, CgroupTarget>();
  readonly #interfaceAttrs = new Map<string, { receive: KeyValue[]; transmit: KeyValue[] }>();
  readonly #deviceAttrs = new Map<string, { read: KeyValue[]; write: KeyValue[] }>();

  constructor(config: ResourcesConfig['cgroups'], host: HostInfo) {
    this.#config = config;
    this.#host = host;
    this.#include = config.include.map(cgroupPattern);
    this.#excludeInterfaces = config.exclude_interfaces.map((s) => new RegExp(s));
    this.#root = walkRoot(host.hierarchies);
  }

  /** The hierarchy walked (undefined: no cgroup file system is mounted). */
  get walkRoot(): string | undefined {
    return this.#root;
  }

  /** Walks the hierarchy and returns the cgroups to report, keeping state of the ones already known. */
  discover(stats: CgroupCollectorStats = { skipped: 0 }): CgroupTarget[] {
    const root = this.#root;
    if (!root) return [];
    const next = new Map<string, CgroupTarget>();
    const max = this.#config.max_cgroups;
    walkCgroups(root, (path) => {
      const container = containerFromCgroupPath(path);
      const isContainer = container !== undefined && container.path === path;
      const pod = podFromCgroupPath(path);
      const isPod = !isContainer && pod !== undefined && pod.path === path;
      const included = isContainer || isPod || this.#include.some((re) => re.test(path));
      if (included) {
        if (next.size >= max) stats.skipped++;
        else {
          const kind: TargetKind = isContainer ? 'container' : isPod ? 'pod' : 'cgroup';
          const t = this.#target(path, kind, container && isContainer ? container : undefined, pod);
          if (t) next.set(path, t);
        }
      }
      return !isContainer; // a container's sub-cgroups are part of it
    });
    this.#targets = next;
    this.#byId = new Map();
    for (const t of next.values()) if (t.id !== undefined) this.#byId.set(t.id, t);
    return [...next.values()];
  }

  #target(path: string, kind: TargetKind, container: ContainerRef | undefined, pod: PodRef | undefined): CgroupTarget | undefined {
    const primaryDir = cgroupDir(this.#root!, path);
    let st;
    try {
      st = statSync(primaryDir, { bigint: true });
    } catch {
      return undefined; // gone since the walk saw it
    }
    const known = this.#targets.get(path);
    if (known && known.inode === st.ino) return known;

    const h = this.#host.hierarchies;
    const dirs: CgroupDirs = { v1: new Map() };
    let id: bigint | undefined;
    if (h.unified) {
      const dir = cgroupDir(h.unified, path);
      try {
        id = statSync(dir, { bigint: true }).ino;
        dirs.unified = dir;
      } catch {
        // no v2 directory for it (a v1-only cgroup of a hybrid host)
      }
    }
    for (const c of V1_CONTROLLERS) {
      const mount = h.v1.get(c);
      if (!mount) continue;
      const dir = cgroupDir(mount, path);
      try {
        statSync(dir);
        dirs.v1.set(c, dir);
      } catch {
        // this controller's hierarchy has no such cgroup
      }
    }
    const resource: KeyValue[] = [];
    if (container) {
      resource.push(attr.str('container.id', container.id));
      if (container.runtime) resource.push(attr.str('container.runtime.name', container.runtime));
    }
    if (pod) resource.push(attr.str('k8s.pod.uid', pod.uid));
    if (id !== undefined) resource.push(attr.int('container.cgroup.id', id));
    resource.push(attr.str('container.cgroup.path', path));
    const t: CgroupTarget = { path, kind, dirs, primaryDir, inode: st.ino, startUnixNano: st.ctimeNs, resource, plan: newStatsPlan() };
    if (container) t.container = container;
    if (pod) t.pod = pod;
    if (id !== undefined) t.id = id;
    return t;
  }

  /** The known target of a v2 cgroup id (after discover). */
  targetById(id: bigint): CgroupTarget | undefined {
    return this.#byId.get(id);
  }

  /**
   * Reads every target and adds one resource per target to the collection. Returns the resource
   * builders by target path (block I/O adds to them).
   */
  collect(out: CollectionBuilder, targets: CgroupTarget[]): Map<string, ResourceBuilder> {
    const builders = new Map<string, ResourceBuilder>();
    const t = out.timeUnixNano;
    for (const target of targets) {
      const r = out.resource(target.resource);
      builders.set(target.path, r);
      const stats = readCgroupStats(target.dirs, target.plan);
      if (target.kind === 'pod') this.#podMetrics(r, target, stats, t);
      else this.#containerMetrics(r, target, stats, t);
    }
    if (this.#config.network) this.#network(targets, builders);
    return builders;
  }

  #cpuUsage(target: CgroupTarget, seconds: number, now: bigint): number | undefined {
    const last = target.lastCpu;
    target.lastCpu = { seconds, timeUnixNano: now };
    if (!last || now <= last.timeUnixNano || seconds < last.seconds) return undefined;
    return (seconds - last.seconds) / (Number(now - last.timeUnixNano) / 1e9);
  }

  #containerMetrics(r: ResourceBuilder, target: CgroupTarget, s: CgroupStats, now: bigint): void {
    const start = target.startUnixNano;
    if (s.cpu) {
      const { userSeconds, systemSeconds } = s.cpu;
      if (userSeconds !== undefined && systemSeconds !== undefined) {
        r.add(CONTAINER.cpuTime, userSeconds, CPU_USER, start);
        r.add(CONTAINER.cpuTime, systemSeconds, CPU_KERNEL, start);
      } else r.add(CONTAINER.cpuTime, s.cpu.usageSeconds, [], start);
      r.add(CONTAINER.cpuUsage, this.#cpuUsage(target, s.cpu.usageSeconds, now));
    }
    if (s.throttling) {
      r.add(CONTAINER.periods, s.throttling.periods, [], start);
      r.add(CONTAINER.throttledPeriods, s.throttling.throttledPeriods, [], start);
      r.add(CONTAINER.throttledTime, s.throttling.throttledSeconds, [], start);
    }
    if (s.memory) {
      const m = s.memory;
      r.add(CONTAINER.memoryUsage, m.usage, [], start);
      r.add(CONTAINER.memoryWorkingSet, m.workingSet, [], start);
      r.add(CONTAINER.memoryRss, m.rss, [], start);
      if (m.limit !== undefined) {
        r.add(CONTAINER.memoryLimit, m.limit, [], start);
        r.add(CONTAINER.memoryAvailable, Math.max(0, m.limit - m.workingSet), [], start);
      }
      if (m.pageFaults !== undefined && m.majorPageFaults !== undefined) {
        r.add(CONTAINER.pagingFaults, m.majorPageFaults, FAULT_MAJOR, start);
        r.add(CONTAINER.pagingFaults, m.pageFaults - m.majorPageFaults, FAULT_MINOR, start);
      }
    }
    if (s.io) {
      for (const [dev, io] of s.io) {
        const a = this.#deviceAttr(this.#host.deviceName(dev));
        r.add(CONTAINER.diskIo, io.readBytes, a.read, start);
        r.add(CONTAINER.diskIo, io.writeBytes, a.write, start);
        r.add(CONTAINER.diskOperations, io.reads, a.read, start);
        r.add(CONTAINER.diskOperations, io.writes, a.write, start);
      }
    }
    if (s.pids) {
      r.add(CONTAINER.pidsCount, s.pids.current, [], start);
      r.add(CONTAINER.pidsLimit, s.pids.limit, [], start);
    }
  }

  #podMetrics(r: ResourceBuilder, target: CgroupTarget, s: CgroupStats, now: bigint): void {
    const start = target.startUnixNano;
    if (s.cpu) {
      r.add(POD.cpuTime, s.cpu.usageSeconds, [], start);
      r.add(POD.cpuUsage, this.#cpuUsage(target, s.cpu.usageSeconds, now));
    }
    if (s.memory) {
      const m = s.memory;
      r.add(POD.memoryUsage, m.usage, [], start);
      r.add(POD.memoryWorkingSet, m.workingSet, [], start);
      r.add(POD.memoryRss, m.rss, [], start);
      if (m.limit !== undefined) r.add(POD.memoryAvailable, Math.max(0, m.limit - m.workingSet), [], start);
      if (m.pageFaults !== undefined && m.majorPageFaults !== undefined) {
        r.add(POD.pagingFaults, m.majorPageFaults, FAULT_MAJOR, start);
        r.add(POD.pagingFaults, m.pageFaults - m.majorPageFaults, FAULT_MINOR, start);
      }
    }
  }

  /**
   * Network bytes per network namespace: the namespace of each container's (or included cgroup's)
   * first process, read once from /proc/PID/net/dev however many cgroups share it. A pod's
   * containers share one: it goes to the pod. The host's namespace (host-network pods) is the node's.
   */
  #network(targets: CgroupTarget[], builders: Map<string, ResourceBuilder>): void {
    const proc = this.#host.procRoot;
    const podTargets = new Map<string, CgroupTarget>();
    for (const t of targets) if (t.kind === 'pod') podTargets.set(t.path, t);
    const owners = new Map<string, { owner: CgroupTarget; pid: string }>();
    for (const t of targets) {
      if (t.kind === 'pod') continue;
      const procs = readSmall(join(t.primaryDir, 'cgroup.procs'));
      const newline = procs?.indexOf('\n') ?? -1;
      const pid = procs && newline > 0 ? procs.slice(0, newline) : undefined;
      if (!pid) continue;
      const netns = readLink(`${proc}/${pid}/ns/net`);
      if (!netns || netns === this.#host.hostNetns || owners.has(netns)) continue;
      const owner = (t.pod && podTargets.get(t.pod.path)) || t;
      owners.set(netns, { owner, pid });
    }
    for (const { owner, pid } of owners.values()) {
      const r = builders.get(owner.path);
      const text = readSmall(`${proc}/${pid}/net/dev`);
      if (!r || !text) continue;
      const specs = owner.kind === 'pod' ? POD : CONTAINER;
      for (const n of parseNetDev(text)) {
        if (this.#excludeInterfaces.some((re) => re.test(n.name))) continue;
        const a = this.#interfaceAttr(n.name);
        r.add(specs.networkIo, n.rxBytes, a.receive, owner.startUnixNano);
        r.add(specs.networkIo, n.txBytes, a.transmit, owner.startUnixNano);
        r.add(specs.networkErrors, n.rxErrors, a.receive, owner.startUnixNano);
        r.add(specs.networkErrors, n.txErrors, a.transmit, owner.startUnixNano);
      }
    }
  }

  #interfaceAttr(name: string) {
    let a = this.#interfaceAttrs.get(name);
    if (!a) {
      const i = attr.str('network.interface.name', name);
      a = { receive: [i, attr.str('network.io.direction', 'receive')], transmit: [i, attr.str('network.io.direction', 'transmit')] };
      this.#interfaceAttrs.set(name, a);
    }
    return a;
  }

  #deviceAttr(name: string) {
    let a = this.#deviceAttrs.get(name);
    if (!a) {
      const d = attr.str('system.device', name);
      a = { read: [attr.str('disk.io.direction', 'read'), d], write: [attr.str('disk.io.direction', 'write'), d] };
      this.#deviceAttrs.set(name, a);
    }
    return a;
  }
}
