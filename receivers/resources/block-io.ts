// block_io: block request latency histograms and bytes per cgroup, disk and direction, from
// bpf/resources_blockio.bpf.c. The kernel aggregates per interval (read and reset here, without
// racing the programs: two map sides flipped by the runtime's DoubleBuffer); this file keeps the
// cumulative series.
//
// Which cgroup: the one the I/O is charged to (the blkcg of the request's bio). On a cgroup v2 host
// that is a v2 id; on a hybrid or legacy host it is an id in the v1 blkio hierarchy, turned here
// into the same path's v2 id (when the v2 directory exists) so every receiver names cgroups alike.
import { DoubleBuffer } from '../../src/bpf/double-buffer.ts';
import { BpfObject, bpfObjectPath } from '../../src/bpf/object.ts';
import { defineStruct } from '../../src/bpf/layout.ts';
import { readCounter } from '../../src/bpf/map.ts';
import { checkRequirements } from '../../src/bpf/probe.ts';
import { type CgroupHierarchies, CgroupIdIndex, cgroupDir, cgroupIdOf, containerFromCgroupPath, podFromCgroupPath } from '../../src/host/cgroups.ts';
import { existsSync } from 'node:fs';
import { readSmall } from '../../src/host/read.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { type CollectionBuilder, type ResourceBuilder, attr } from './builder.ts';
import type { ResourcesConfig } from './config.ts';
import { CONTAINER } from './metrics.ts';

/** BLOCKIO_BUCKETS in bpf/resources_blockio.h. */
export const BUCKETS = 32;
/** Upper bounds of the latency buckets in seconds: 2^0 .. 2^30 microseconds (the last bucket is the overflow). */
export const LATENCY_BOUNDS_S: number[] = Array.from({ length: BUCKETS - 1 }, (_, i) => 2 ** i / 1e6);

/** struct blockio_key (bpf/resources_blockio.h) */
export const BlockioKey = defineStruct({ cgroup_id: 'u64', hierarchy: 'u32', dev: 'u32', op: 'u32', _pad: 'u32' });
/** struct blockio_value */
export const BlockioValue = defineStruct({ count: 'u64', bytes: 'u64', latency_ns: 'u64', buckets: ['u64', BUCKETS] });
/** struct blockio_inflight */
export const BlockioInflight = defineStruct({ issued_ns: 'u64', key: BlockioKey });

export type BlockioKey = ReturnType<typeof BlockioKey.decode>;
export type BlockioValue = ReturnType<typeof BlockioValue.decode>;

export const TRACEPOINTS = ['block/block_rq_issue', 'block/block_rq_complete'];

/** What this kernel lacks for block_io (empty: it can run). */
export function blockIoMissingFeatures(): string[] {
  return checkRequirements({ tracepoints: TRACEPOINTS });
}

export interface BlockIoRecord {
  key: BlockioKey;
  value: BlockioValue;
}

export interface BlockIoInterval {
  /** When the interval began: the previous read, or when the programs were attached. */
  startUnixNano: bigint;
  records: BlockIoRecord[];
}

export class BlockIoKernel {
  readonly object: BpfObject;
  readonly #buffer: DoubleBuffer;
  #intervalStart = nowUnixNano();

  private constructor(object: BpfObject) {
    this.object = object;
    this.#buffer = new DoubleBuffer(object);
  }

  static open(config: ResourcesConfig['block_io']): BlockIoKernel {
    const object = BpfObject.open(bpfObjectPath('resources_blockio'), {
      maxEntries: { inflight: config.max_inflight, stats_a: config.max_series, stats_b: config.max_series },
    });
    try {
      object.checkLayout('blockio_key', BlockioKey);
      object.checkLayout('blockio_value', BlockioValue);
      object.checkLayout('blockio_inflight', BlockioInflight);
      object.program('on_rq_issue').attachRawTracepoint('block_rq_issue');
      object.program('on_rq_complete').attachRawTracepoint('block_rq_complete');
    } catch (err) {
      object.close();
      throw err;
    }
    return new BlockIoKernel(object);
  }

  /** Reads and resets what the programs aggregated since the last call. Calls never overlap. */
  async collect(): Promise<BlockIoInterval> {
    const { suffix, timeUnixNano } = await this.#buffer.flip();
    const startUnixNano = this.#intervalStart;
    this.#intervalStart = timeUnixNano;
    const records = this.object
      .map(`stats_${suffix}`)
      .lookupAndDeleteAll()
      .map((e) => ({ key: BlockioKey.decode(e.key), value: BlockioValue.decode(e.value) }));
    return { startUnixNano, records };
  }

  /** Requests the programs could not follow since load (monotonic). */
  losses(): { inflightFull: bigint; statsFull: bigint } {
    return { inflightFull: readCounter(this.object.map('inflight_full')), statsFull: readCounter(this.object.map('stats_full')) };
  }

  close(): void {
    this.object.close();
  }
}

interface CgroupName {
  /** v2 id (absent on legacy hosts, or for a v1 cgroup with no v2 directory). */
  id?: bigint;
  path?: string;
  /** Without a v2 id: the v1 directory whose existence says the cgroup lives. */
  dir?: string;
}

interface Series {
  /** Series of one cgroup share this key. */
  cgroup: string;
  name: CgroupName;
  device: string;
  op: number;
  start: bigint;
  count: number;
  bytes: number;
  latencyNs: number;
  buckets: number[];
}

/** Where a cgroup's series go: the resource the cgroup collector made for it, if any. */
export type TargetLookup = (id: bigint) => ResourceBuilder | undefined;

/** Cumulative block I/O series, from the per-interval kernel records. */
export class BlockIoSeries {
  readonly #hierarchies: CgroupHierarchies;
  readonly #v2: CgroupIdIndex | undefined;
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();
  readonly #names = new Map<string, CgroupName>();
  readonly #v1Indexes = new Map<number, CgroupIdIndex | undefined>();
  /** New series not kept because max_series were live. */
  dropped = 0;
  /** Records of cgroups gone before their (v1) id could be turned into a path. */
  unresolved = 0;

  constructor(hierarchies: CgroupHierarchies, maxSeries: number) {
    this.#hierarchies = hierarchies;
    this.#v2 = hierarchies.unified ? new CgroupIdIndex(hierarchies.unified) : undefined;
    this.#maxSeries = maxSeries;
  }

  /** The v2 name of a kernel (hierarchy, id) pair, remembered. */
  #name(hierarchy: number, id: bigint): CgroupName {
    const key = `${hierarchy}:${id}`;
    let name = this.#names.get(key);
    if (!name) {
      if (hierarchy === 0) name = { id };
      else {
        const index = this.#v1Index(hierarchy);
        const path = index?.pathOf(id);
        const unified = this.#hierarchies.unified;
        const v2 = path !== undefined && unified ? cgroupIdOf(cgroupDir(unified, path)) : undefined;
        name = {};
        if (v2 !== undefined) name.id = v2;
        if (path !== undefined) name.path = path;
        if (v2 === undefined && path !== undefined) name.dir = cgroupDir(index!.mountPoint, path);
      }
      this.#names.set(key, name);
    }
    return name;
  }

  /** The v1 hierarchy a hierarchy number of /proc/PID/cgroup names, indexed by id. */
  #v1Index(hierarchy: number): CgroupIdIndex | undefined {
    if (!this.#v1Indexes.has(hierarchy)) {
      const line = (readSmall('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith(`${hierarchy}:`));
      const controller = line?.split(':')[1]?.split(',')[0];
      const mount = controller ? this.#hierarchies.v1.get(controller) : undefined;
      this.#v1Indexes.set(hierarchy, mount ? new CgroupIdIndex(mount) : undefined);
    }
    return this.#v1Indexes.get(hierarchy);
  }

  /** Adds one interval's kernel records. */
  add(interval: BlockIoInterval, deviceName: (majorMinor: string) => string): void {
    const now = interval.startUnixNano;
    for (const { key, value } of interval.records) {
      const name = this.#name(key.hierarchy, key.cgroup_id);
      if (name.id === undefined && name.path === undefined) {
        this.unresolved++; // a cgroup removed before its id could be resolved
        continue;
      }
      const cgroup = name.id !== undefined ? `id:${name.id}` : name.path !== undefined ? `path:${name.path}` : `${key.hierarchy}:${key.cgroup_id}`;
      const device = deviceName(`${key.dev >>> 20}:${key.dev & 0xfffff}`);
      const seriesKey = `${cgroup}|${device}|${key.op}`;
      let s = this.#series.get(seriesKey);
      if (!s) {
        if (this.#series.size >= this.#maxSeries) {
          this.dropped++;
          continue;
        }
        s = { cgroup, name, device, op: key.op, start: now, count: 0, bytes: 0, latencyNs: 0, buckets: new Array<number>(BUCKETS).fill(0) };
        this.#series.set(seriesKey, s);
      }
      s.count += Number(value.count);
      s.bytes += Number(value.bytes);
      s.latencyNs += Number(value.latency_ns);
      for (let i = 0; i < BUCKETS; i++) s.buckets[i]! += Number(value.buckets[i] ?? 0n);
    }
  }

  get size(): number {
    return this.#series.size;
  }

  /** Forgets the kernel ids that named a removed cgroup. */
  #forget(name: CgroupName): void {
    for (const [key, n] of this.#names) if (n === name) this.#names.delete(key);
  }

  /**
   * Adds every series to the collection: to the resource of its cgroup when the cgroup collector
   * reports it, else to a resource of its own naming the cgroup. Series of cgroups gone are forgotten.
   */
  emit(out: CollectionBuilder, lookup: TargetLookup): void {
    const byCgroup = new Map<string, Series[]>();
    for (const s of this.#series.values()) {
      let list = byCgroup.get(s.cgroup);
      if (!list) byCgroup.set(s.cgroup, (list = []));
      list.push(s);
    }
    for (const list of byCgroup.values()) {
      const name = list[0]!.name;
      let builder = name.id !== undefined ? lookup(name.id) : undefined;
      if (!builder) {
        // Not reported by the cgroup collector: its own resource, while the cgroup lives.
        const path = name.id !== undefined ? this.#v2?.pathOf(name.id) : name.dir && existsSync(name.dir) ? name.path : undefined;
        if (path === undefined) {
          for (const s of list) this.#series.delete(`${s.cgroup}|${s.device}|${s.op}`);
          this.#forget(name);
          continue;
        }
        builder = out.resource(cgroupResource(name.id, path));
      }
      for (const s of list) {
        const a = [attr.str('disk.io.direction', s.op === 0 ? 'read' : 'write'), attr.str('system.device', s.device)];
        builder.histogram(CONTAINER.blockIoDuration, {
          attributes: a,
          startTimeUnixNano: s.start,
          count: s.count,
          sum: s.latencyNs / 1e9,
          bucketCounts: [...s.buckets],
          explicitBounds: LATENCY_BOUNDS_S,
        });
        builder.add(CONTAINER.blockIoBytes, s.bytes, a, s.start);
      }
    }
  }
}

/** The resource of a cgroup no other collector reports (a systemd service, the root, kernel threads). */
function cgroupResource(id: bigint | undefined, path: string | undefined): KeyValue[] {
  const out: KeyValue[] = [];
  const container = path ? containerFromCgroupPath(path) : undefined;
  if (container) out.push(attr.str('container.id', container.id));
  const pod = path ? podFromCgroupPath(path) : undefined;
  if (pod) out.push(attr.str('k8s.pod.uid', pod.uid));
  if (id !== undefined) out.push(attr.int('container.cgroup.id', id));
  if (path !== undefined) out.push(attr.str('container.cgroup.path', path));
  return out;
}
