// Node metrics: CPU, load, memory, disks, network interfaces, file systems and uptime, from /proc
// and statfs(2). Cumulative counters count from boot, so their start time is the boot time.
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { podCounts } from '../../src/host/pod-inventory.ts';
import { readSmall } from '../../src/host/read.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { type CollectionBuilder, attr } from './builder.ts';
import type { ResourcesConfig } from './config.ts';
import { NODE } from './metrics.ts';
import { type CpuTimes, parseDiskstats, parseLoadavg, parseMeminfo, parseMounts, parseNetDev, parseProcStat, parseUptime } from './procfs.ts';
import type { HostInfo } from './host-info.ts';

const CPU_MODES: [keyof CpuTimes | 'interrupt', string][] = [
  ['user', 'user'],
  ['nice', 'nice'],
  ['system', 'system'],
  ['idle', 'idle'],
  ['iowait', 'iowait'],
  ['interrupt', 'interrupt'],
  ['steal', 'steal'],
];

// Attribute lists are built once and shared by every point that uses them.
const state = (key: string, values: string[]) => Object.fromEntries(values.map((v) => [v, [attr.str(key, v)]]));
const MEMORY_STATE = state('system.memory.state', ['used', 'available']);
const SLAB_STATE = state('system.memory.linux.slab.state', ['reclaimable', 'unreclaimable']);
const PAGING_STATE = state('system.paging.state', ['used', 'free']);
const FS_STATE = ['used', 'free', 'reserved'] as const;

export interface FilesystemReading {
  device: string;
  mountPoint: string;
  type: string;
  mode: 'ro' | 'rw';
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  bsize: bigint;
  files: bigint;
  ffree: bigint;
}

export class NodeCollector {
  readonly #config: ResourcesConfig['node'];
  readonly #host: HostInfo;
  readonly #excludeDevices: RegExp[];
  readonly #excludeInterfaces: RegExp[];
  readonly #excludeFsTypes: RegExp[];
  readonly #excludeMountPoints: RegExp[];
  readonly #resource: KeyValue[];
  readonly #modeAttrs = new Map<string, KeyValue[]>();
  readonly #deviceAttrs = new Map<string, { device: KeyValue[]; read: KeyValue[]; write: KeyValue[] }>();
  readonly #interfaceAttrs = new Map<string, { receive: KeyValue[]; transmit: KeyValue[] }>();
  /** Namespaces pods were counted in so far. */
  readonly #podNamespaces = new Set<string>();
  /** File systems that did not answer statfs in time: skipped until they do (checked in the background). */
  readonly #slowMounts = new Set<string>();

  constructor(config: ResourcesConfig['node'], host: HostInfo) {
    this.#config = config;
    this.#host = host;
    const compile = (list: string[]) => list.map((s) => new RegExp(s));
    this.#excludeDevices = compile(config.exclude_devices);
    this.#excludeInterfaces = compile(config.exclude_interfaces);
    this.#excludeFsTypes = compile(config.exclude_fs_types);
    this.#excludeMountPoints = compile(config.exclude_mount_points);
    this.#resource = [attr.str('host.name', hostname())];
  }

  /** Reads everything and adds the node's resource to the collection. */
  async collect(out: CollectionBuilder): Promise<void> {
    const r = out.resource(this.#resource);
    const start = this.#host.bootTimeUnixNano;
    const proc = this.#host.procRoot;

    const stat = readSmall(`${proc}/stat`);
    if (stat) {
      const s = parseProcStat(stat);
      const tick = this.#host.clockTicks;
      const add = (times: CpuTimes, cpu: number | undefined) => {
        for (const [field, mode] of CPU_MODES) {
          const ticks = field === 'interrupt' ? times.irq + times.softirq : times[field];
          r.add(NODE.cpuTime, ticks / tick, this.#cpuAttrs(mode, cpu), start);
        }
      };
      if (this.#config.per_cpu) for (const [cpu, times] of s.perCpu) add(times, cpu);
      else add(s.total, undefined);
      r.add(NODE.cpuCount, s.perCpu.size, [], start);
    }

    const loadavg = readSmall(`${proc}/loadavg`);
    if (loadavg) {
      const [l1, l5, l15] = parseLoadavg(loadavg);
      r.add(NODE.load1, l1);
      r.add(NODE.load5, l5);
      r.add(NODE.load15, l15);
    }

    const meminfo = readSmall(`${proc}/meminfo`);
    if (meminfo) {
      const m = parseMeminfo(meminfo);
      const total = m.get('MemTotal');
      const available = m.get('MemAvailable');
      r.add(NODE.memoryLimit, total, [], start);
      if (total !== undefined && available !== undefined) {
        r.add(NODE.memoryUsage, total - available, MEMORY_STATE.used, start);
        r.add(NODE.memoryUsage, available, MEMORY_STATE.available, start);
      }
      r.add(NODE.memoryShared, m.get('Shmem'), [], start);
      r.add(NODE.memorySlab, m.get('SReclaimable'), SLAB_STATE.reclaimable, start);
      r.add(NODE.memorySlab, m.get('SUnreclaim'), SLAB_STATE.unreclaimable, start);
      r.add(NODE.memoryCached, m.get('Cached'), [], start);
      r.add(NODE.memoryBuffers, m.get('Buffers'), [], start);
      r.add(NODE.memoryFree, m.get('MemFree'), [], start);
      const swapTotal = m.get('SwapTotal');
      const swapFree = m.get('SwapFree');
      if (swapTotal !== undefined && swapFree !== undefined && swapTotal > 0) {
        r.add(NODE.pagingUsage, swapTotal - swapFree, PAGING_STATE.used, start);
        r.add(NODE.pagingUsage, swapFree, PAGING_STATE.free, start);
      }
    }

    for (const d of this.#host.diskstats()) {
      if (this.#excludeDevices.some((re) => re.test(d.name))) continue;
      const a = this.#diskAttrs(d.name);
      r.add(NODE.diskIo, d.sectorsRead * 512, a.read, start);
      r.add(NODE.diskIo, d.sectorsWritten * 512, a.write, start);
      r.add(NODE.diskOperations, d.readsCompleted, a.read, start);
      r.add(NODE.diskOperations, d.writesCompleted, a.write, start);
      r.add(NODE.diskIoTime, d.msDoingIo / 1000, a.device, start);
      r.add(NODE.diskOperationTime, d.msReading / 1000, a.read, start);
      r.add(NODE.diskOperationTime, d.msWriting / 1000, a.write, start);
      r.add(NODE.diskMerged, d.readsMerged, a.read, start);
      r.add(NODE.diskMerged, d.writesMerged, a.write, start);
    }

    const netdev = readSmall(`${proc}/1/net/dev`) ?? readSmall(`${proc}/self/net/dev`);
    if (netdev) {
      for (const n of parseNetDev(netdev)) {
        if (this.#excludeInterfaces.some((re) => re.test(n.name))) continue;
        const a = this.#interfaceAttr(n.name);
        r.add(NODE.networkIo, n.rxBytes, a.receive, start);
        r.add(NODE.networkIo, n.txBytes, a.transmit, start);
        r.add(NODE.networkPackets, n.rxPackets, a.receive, start);
        r.add(NODE.networkPackets, n.txPackets, a.transmit, start);
        r.add(NODE.networkErrors, n.rxErrors, a.receive, start);
        r.add(NODE.networkErrors, n.txErrors, a.transmit, start);
        r.add(NODE.networkDropped, n.rxDropped, a.receive, start);
        r.add(NODE.networkDropped, n.txDropped, a.transmit, start);
      }
    }

    for (const fs of await this.filesystems()) {
      const base = [
        attr.str('system.device', fs.device),
        attr.str('system.filesystem.type', fs.type),
        attr.str('system.filesystem.mode', fs.mode),
        attr.str('system.filesystem.mountpoint', fs.mountPoint),
      ];
      const bytes = { used: (fs.blocks - fs.bfree) * fs.bsize, free: fs.bavail * fs.bsize, reserved: (fs.bfree - fs.bavail) * fs.bsize };
      for (const s of FS_STATE) r.add(NODE.filesystemUsage, Number(bytes[s]), [...base, attr.str('system.filesystem.state', s)], start);
      r.add(NODE.filesystemLimit, Number(fs.blocks * fs.bsize), base, start);
      if (fs.files > 0n) {
        r.add(NODE.filesystemInodes, Number(fs.files - fs.ffree), [...base, attr.str('system.filesystem.state', 'used')], start);
        r.add(NODE.filesystemInodes, Number(fs.ffree), [...base, attr.str('system.filesystem.state', 'free')], start);
      }
    }

    const uptime = readSmall(`${proc}/uptime`);
    if (uptime) r.add(NODE.uptime, parseUptime(uptime));

    // From k8s_metadata's cache when it runs. A namespace whose last pod left reads 0, rather than
    // its series going quiet with the old count.
    const pods = podCounts();
    if (pods) {
      for (const namespace of pods.keys()) this.#podNamespaces.add(namespace);
      for (const namespace of this.#podNamespaces) r.add(NODE.podCount, pods.get(namespace) ?? 0, [attr.str('k8s.namespace.name', namespace)], start);
    }
  }

  /** The mounted file systems that pass the filters, with their statfs numbers (in parallel, each bounded by filesystem_timeout). */
  async filesystems(): Promise<FilesystemReading[]> {
    const proc = this.#host.procRoot;
    const text = readSmall(`${proc}/1/mounts`) ?? readSmall(`${proc}/self/mounts`) ?? '';
    const seen = new Set<string>();
    const mounts = parseMounts(text).filter((m) => {
      if (this.#excludeFsTypes.some((re) => re.test(m.type))) return false;
      if (this.#excludeMountPoints.some((re) => re.test(m.mountPoint))) return false;
      const key = `${m.device}\0${m.mountPoint}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const timeout = this.#config.filesystem_timeout;
    const results = await Promise.all(
      mounts.map(async (m): Promise<FilesystemReading | undefined> => {
        const path = this.#host.rootPath === '/' ? m.mountPoint : join(this.#host.rootPath, m.mountPoint);
        if (this.#slowMounts.has(path)) return undefined;
        const pending = statfs(path, { bigint: true });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeout)));
        try {
          const s = await Promise.race([pending, late]);
          if (s === 'late') {
            // Skip it until the pending call answers, rather than piling up calls on a hung mount.
            this.#slowMounts.add(path);
            pending.then(
              () => this.#slowMounts.delete(path),
              () => this.#slowMounts.delete(path),
            );
            return undefined;
          }
          if (s.blocks === 0n) return undefined; // nothing to say about an empty (pseudo) file system
          return {
            device: m.device,
            mountPoint: m.mountPoint,
            type: m.type,
            mode: m.options.includes('ro') ? 'ro' : 'rw',
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            bsize: s.bsize,
            files: s.files,
            ffree: s.ffree,
          };
        } catch {
          return undefined;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return results.filter((x): x is FilesystemReading => x !== undefined);
  }

  #cpuAttrs(mode: string, cpu: number | undefined): KeyValue[] {
    const key = cpu === undefined ? mode : `${mode}/${cpu}`;
    let a = this.#modeAttrs.get(key);
    if (!a) {
      a = [attr.str('cpu.mode', mode)];
      if (cpu !== undefined) a.push(attr.int('cpu.logical_number', cpu));
      this.#modeAttrs.set(key, a);
    }
    return a;
  }

  #diskAttrs(name: string) {
    let a = this.#deviceAttrs.get(name);
    if (!a) {
      const device = attr.str('system.device', name);
      a = { device: [device], read: [device, attr.str('disk.io.direction', 'read')], write: [device, attr.str('disk.io.direction', 'write')] };
      this.#deviceAttrs.set(name, a);
    }
    return a;
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
}
