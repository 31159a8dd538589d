// What a JVM's hsperfdata says in JMX terms: its memory pools under their MemoryPoolMXBean names
// (the names the mem__pool__gc__* probes use too), thread and class counts, and runtime identity.
//
// hsperfdata names heap spaces by generation (sun.gc.generation.0.space.0 is "eden"): which JMX
// pool a space is depends on the collector, found from sun.gc.policy.name or the collector names.
// G1 pads every capacity with one object alignment (8 bytes) so jstat never divides by zero; the
// padding is taken off. Where JMX says a pool has no maximum (G1 eden and survivor, Metaspace
// without MaxMetaspaceSize), none is given.
import type { HsperfSnapshot } from './hsperfdata.ts';

export type MemoryType = 'heap' | 'non_heap';

export interface PoolUsage {
  name: string;
  type: MemoryType;
  used: number;
  committed: number;
  /** Undefined when the pool has no maximum. */
  max?: number;
}

/** jvm.memory.type of a pool, from its name (non-heap pools are the code cache, metaspace and class space). */
export function poolType(name: string): MemoryType {
  return /^Code ?(Heap|Cache)\b/.test(name) || name === 'Metaspace' || name === 'Compressed Class Space' ? 'non_heap' : 'heap';
}

export type Collector = 'g1' | 'parallel' | 'serial' | 'shenandoah' | 'z' | 'unknown';

export function collectorOf(s: HsperfSnapshot): Collector {
  const policy = s.str('sun.gc.policy.name');
  if (policy === 'GarbageFirst') return 'g1';
  if (policy === 'ParScav:MSC') return 'parallel';
  if (policy === 'Copy:MSC') return 'serial';
  const names = s.namesWithPrefix('sun.gc.collector.').filter((n) => n.endsWith('.name')).map((n) => s.str(n) ?? '');
  if (names.some((n) => n.startsWith('G1 '))) return 'g1';
  if (names.some((n) => n.startsWith('Parallel '))) return 'parallel';
  if (names.some((n) => n.startsWith('Serial '))) return 'serial';
  if (names.some((n) => n.startsWith('Shenandoah'))) return 'shenandoah';
  if (names.some((n) => n.startsWith('Z '))) return 'z';
  return 'unknown';
}

const HEAP_NAMES: Record<'g1' | 'parallel' | 'serial', { eden: string; survivor: string; old: string }> = {
  g1: { eden: 'G1 Eden Space', survivor: 'G1 Survivor Space', old: 'G1 Old Gen' },
  parallel: { eden: 'PS Eden Space', survivor: 'PS Survivor Space', old: 'PS Old Gen' },
  serial: { eden: 'Eden Space', survivor: 'Survivor Space', old: 'Tenured Gen' },
};

interface Space {
  used: number;
  capacity: number;
  maxCapacity: number;
}

function space(s: HsperfSnapshot, prefix: string, pad: number): Space | undefined {
  const used = s.num(`${prefix}.used`);
  const capacity = s.num(`${prefix}.capacity`);
  if (used === undefined || capacity === undefined) return undefined;
  const unpad = (v: number) => Math.max(0, v - pad);
  return { used, capacity: unpad(capacity), maxCapacity: unpad(s.num(`${prefix}.maxCapacity`) ?? 0) };
}

/** The memory pools hsperfdata covers, under their JMX names. Pools it has no counters for are absent. */
export function hsperfPools(s: HsperfSnapshot): PoolUsage[] {
  const out: PoolUsage[] = [];
  const collector = collectorOf(s);
  if (collector === 'g1' || collector === 'parallel' || collector === 'serial') {
    const names = HEAP_NAMES[collector];
    const pad = collector === 'g1' ? 8 : 0;
    const eden = space(s, 'sun.gc.generation.0.space.0', pad);
    const s0 = space(s, 'sun.gc.generation.0.space.1', pad);
    const s1 = space(s, 'sun.gc.generation.0.space.2', pad);
    const old = space(s, 'sun.gc.generation.1.space.0', pad);
    if (eden) out.push({ name: names.eden, type: 'heap', used: eden.used, committed: eden.capacity, max: collector === 'g1' ? undefined : eden.maxCapacity });
    if (s0 && s1) {
      // G1 keeps its survivors in s0 (s1 stays empty); the others flip between two equal spaces,
      // JMX showing the one in use ("from"): the sum of used, the larger capacity.
      out.push({
        name: names.survivor,
        type: 'heap',
        used: s0.used + s1.used,
        committed: collector === 'g1' ? s0.capacity + s1.capacity : Math.max(s0.capacity, s1.capacity),
        max: collector === 'g1' ? undefined : Math.max(s0.maxCapacity, s1.maxCapacity),
      });
    }
    if (old) out.push({ name: names.old, type: 'heap', used: old.used, committed: old.capacity, max: old.maxCapacity });
  } else if (collector === 'shenandoah') {
    const heap = space(s, 'sun.gc.generation.1.space.0', 0);
    if (heap) out.push({ name: 'Shenandoah', type: 'heap', used: heap.used, committed: heap.capacity, max: heap.maxCapacity });
  }
  const meta = space(s, 'sun.gc.metaspace', 0);
  if (meta) out.push({ name: 'Metaspace', type: 'non_heap', used: meta.used, committed: meta.capacity });
  const ccs = space(s, 'sun.gc.compressedclassspace', 0);
  if (ccs) out.push({ name: 'Compressed Class Space', type: 'non_heap', used: ccs.used, committed: ccs.capacity, max: ccs.maxCapacity });
  return out;
}

export interface ThreadCounts {
  live: number;
  daemon: number;
}

export function hsperfThreads(s: HsperfSnapshot): ThreadCounts | undefined {
  const live = s.num('java.threads.live');
  const daemon = s.num('java.threads.daemon');
  return live === undefined || daemon === undefined ? undefined : { live, daemon };
}

export interface ClassCounts {
  /** Since the JVM started: ClassLoadingMXBean.getTotalLoadedClassCount(). */
  loaded: number;
  unloaded: number;
}

export function hsperfClasses(s: HsperfSnapshot): ClassCounts | undefined {
  const loaded = s.num('java.cls.loadedClasses');
  const unloaded = s.num('java.cls.unloadedClasses');
  if (loaded === undefined || unloaded === undefined) return undefined;
  return {
    loaded: loaded + (s.num('java.cls.sharedLoadedClasses') ?? 0),
    unloaded: unloaded + (s.num('java.cls.sharedUnloadedClasses') ?? 0),
  };
}

export interface RuntimeInfo {
  /** process.runtime.name: java.runtime.name as the JDK sets it. */
  name?: string;
  /** process.runtime.version: java.runtime.version (java.vm.version in HotSpot builds). */
  version?: string;
  /** process.runtime.description: vendor, VM name and version, as the OpenTelemetry Java agent writes it. */
  description?: string;
}

/**
 * java.runtime.name is not in hsperfdata; the JDK derives it from its build: "OpenJDK Runtime
 * Environment" for OpenJDK builds, "Java(TM) SE Runtime Environment" for Oracle's.
 */
export function runtimeNameOf(vmName: string | undefined): string | undefined {
  if (!vmName) return undefined;
  if (vmName.startsWith('Java HotSpot')) return 'Java(TM) SE Runtime Environment';
  return 'OpenJDK Runtime Environment';
}

export function hsperfRuntime(s: HsperfSnapshot): RuntimeInfo {
  const vmName = s.str('java.property.java.vm.name');
  const vendor = s.str('java.property.java.vm.vendor');
  const version = s.str('java.property.java.vm.version');
  const description = [vendor, vmName, version].filter(Boolean).join(' ');
  return { name: runtimeNameOf(vmName), version, description: description || undefined };
}
