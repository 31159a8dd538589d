// From what the probes aggregated and what hsperfdata says to OpenTelemetry metrics, one resource
// per JVM, with the JVM semantic conventions' names where they exist.
//
// Sources, per metric:
//   jvm.memory.used/committed   hsperfdata (live) for the pools it covers; else the probes' usage
//                               after the pool's latest collection
//   jvm.memory.limit            the probes' max (exactly JMX's); else hsperfdata's
//   jvm.memory.used_after_last_gc, jvm.gc.duration, jvm.safepoint.duration,
//   jvm.vm_operation.duration, jvm.thread.started/stopped       probes (since attach)
//   jvm.thread.count, jvm.class.count                            hsperfdata
//   jvm.class.loaded/unloaded   hsperfdata (since the JVM started); else probes (since attach)
import { type KeyValue, attributes } from '../../src/pdata/common.ts';
import { AggregationTemporality, type HistogramDataPoint, type Metric, type MetricsData, type NumberDataPoint } from '../../src/pdata/metrics.ts';
import { VERSION } from '../../src/version.ts';
import { type PoolUsage, hsperfClasses, hsperfPools, hsperfThreads, poolType } from './hsperf-view.ts';
import type { HsperfSnapshot } from './hsperfdata.ts';
import type { JvmKernelData } from './kernel.ts';
import { GcAction, type HistValue } from './layout.ts';

export const SCOPE_NAME = 'bpfcol/receiver/jvm_usdt';

/** jvm.gc.action values: JMX's GarbageCollectionNotificationInfo.getGcAction() wording. */
export const GC_ACTIONS: Record<number, string> = {
  [GcAction.MINOR]: 'end of minor GC',
  [GcAction.MAJOR]: 'end of major GC',
  [GcAction.CONCURRENT]: 'end of GC cycle',
};

const U64_MAX = (1n << 64n) - 1n;

export const METRICS = {
  memoryUsed: { name: 'jvm.memory.used', unit: 'By', description: 'Measure of memory used (hsperfdata live; pools it lacks: as of their latest collection)' },
  memoryCommitted: { name: 'jvm.memory.committed', unit: 'By', description: 'Measure of memory committed' },
  memoryLimit: { name: 'jvm.memory.limit', unit: 'By', description: 'Measure of max obtainable memory' },
  memoryAfterGc: {
    name: 'jvm.memory.used_after_last_gc',
    unit: 'By',
    description: 'Measure of memory used, as measured after the most recent garbage collection event on this pool (mem__pool__gc__end)',
  },
  gcDuration: { name: 'jvm.gc.duration', unit: 's', description: 'Duration of JVM garbage collection actions (gc__begin to gc__end; concurrent cycles: their memory manager stats)' },
  threadCount: { name: 'jvm.thread.count', unit: '{thread}', description: 'Number of executing platform threads (hsperfdata java.threads.live)' },
  threadsStarted: { name: 'jvm.thread.started', unit: '{thread}', description: 'Threads started since bpfcol attached (thread__start; JVM-internal threads included)' },
  threadsStopped: { name: 'jvm.thread.stopped', unit: '{thread}', description: 'Threads that ended since bpfcol attached (thread__stop)' },
  classLoaded: { name: 'jvm.class.loaded', unit: '{class}', description: 'Number of classes loaded since JVM start (class__loaded counts from attach when hsperfdata is missing)' },
  classUnloaded: { name: 'jvm.class.unloaded', unit: '{class}', description: 'Number of classes unloaded since JVM start (class__unloaded counts from attach when hsperfdata is missing)' },
  classCount: { name: 'jvm.class.count', unit: '{class}', description: 'Number of classes currently loaded' },
  safepoint: { name: 'jvm.safepoint.duration', unit: 's', description: 'Time from the start of each safepoint synchronization to its end (hs_private:safepoint__begin/end)' },
  vmOperation: { name: 'jvm.vm_operation.duration', unit: 's', description: 'Duration of VM operations by name (vmops__begin/end)' },
} as const;

/** One JVM's inputs for a collection. */
export interface JvmSample {
  resource: KeyValue[];
  /** When the JVM started: the start of series counted since then. */
  startUnixNano: bigint;
  /** When the probes were attached: the start of series counted since then (undefined: no probes). */
  attachUnixNano?: bigint;
  hsperf?: HsperfSnapshot;
  kernel?: JvmKernelData;
}

export interface Bounds {
  /** Seconds. */
  gc: readonly number[];
  pause: readonly number[];
}

class MetricSet {
  readonly #metrics = new Map<string, Metric>();

  #get(spec: { name: string; unit: string; description: string }, make: () => Metric['data']): Metric {
    let m = this.#metrics.get(spec.name);
    if (!m) this.#metrics.set(spec.name, (m = { name: spec.name, unit: spec.unit, description: spec.description, data: make() }));
    return m;
  }

  sum(spec: { name: string; unit: string; description: string }, monotonic: boolean, point: NumberDataPoint): void {
    const m = this.#get(spec, () => ({ type: 'sum', aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: monotonic, dataPoints: [] }));
    if (m.data.type === 'sum') m.data.dataPoints.push(point);
  }

  histogram(spec: { name: string; unit: string; description: string }, point: HistogramDataPoint): void {
    const m = this.#get(spec, () => ({ type: 'histogram', aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [] }));
    if (m.data.type === 'histogram') m.data.dataPoints.push(point);
  }

  list(): Metric[] {
    return [...this.#metrics.values()];
  }
}

function intPoint(value: number | bigint, attrs: KeyValue[], start: bigint, time: bigint): NumberDataPoint {
  return { attributes: attrs, startTimeUnixNano: start, timeUnixNano: time, asInt: BigInt(value) };
}

/** A kernel histogram (ns, over `bounds` seconds) as an OTLP point in seconds. */
export function histogramPoint(h: HistValue, bounds: readonly number[], attrs: KeyValue[], start: bigint, time: bigint): HistogramDataPoint {
  return {
    attributes: attrs,
    startTimeUnixNano: start,
    timeUnixNano: time,
    count: Number(h.count),
    sum: Number(h.sum_ns) / 1e9,
    bucketCounts: h.buckets.slice(0, bounds.length + 1).map(Number),
    explicitBounds: [...bounds],
  };
}

interface MergedPool extends PoolUsage {
  /** used after the latest collection, from the probes (heap pools). */
  usedAfterGc?: number;
}

/** The pools of a JVM from both sources (see the header for which wins). */
export function mergePools(hsperf: HsperfSnapshot | undefined, kernel: JvmKernelData | undefined): MergedPool[] {
  const out = new Map<string, MergedPool>();
  for (const p of hsperf ? hsperfPools(hsperf) : []) out.set(p.name, { ...p });
  for (const { pool, value } of kernel?.pools ?? []) {
    if (value.collections === 0n || !pool) continue;
    const max = value.after.max === U64_MAX ? undefined : Number(value.after.max);
    const type = poolType(pool);
    const existing = out.get(pool);
    const merged: MergedPool = existing ?? { name: pool, type, used: Number(value.after.used), committed: Number(value.after.committed) };
    merged.max = max;
    if (type === 'heap') merged.usedAfterGc = Number(value.after.used);
    out.set(pool, merged);
  }
  return [...out.values()];
}

/** Builds one collection's metrics for every JVM. */
export function buildMetrics(samples: readonly JvmSample[], timeUnixNano: bigint, bounds: Bounds): MetricsData {
  const resourceMetrics = [];
  for (const s of samples) {
    const set = new MetricSet();
    const t = timeUnixNano;
    const jvmStart = s.startUnixNano;
    const attached = s.attachUnixNano;
    const k = s.kernel;

    for (const p of mergePools(s.hsperf, k)) {
      const a = attributes({ 'jvm.memory.pool.name': p.name, 'jvm.memory.type': p.type });
      set.sum(METRICS.memoryUsed, false, intPoint(p.used, a, jvmStart, t));
      set.sum(METRICS.memoryCommitted, false, intPoint(p.committed, a, jvmStart, t));
      if (p.max !== undefined) set.sum(METRICS.memoryLimit, false, intPoint(p.max, a, jvmStart, t));
      if (p.usedAfterGc !== undefined && attached !== undefined) set.sum(METRICS.memoryAfterGc, false, intPoint(p.usedAfterGc, a, attached, t));
    }

    if (k && attached !== undefined) {
      for (const g of [...k.gc].sort((a, b) => a.manager.localeCompare(b.manager) || a.action - b.action)) {
        const a = attributes({ 'jvm.gc.name': g.manager, 'jvm.gc.action': GC_ACTIONS[g.action] ?? `action ${g.action}` });
        set.histogram(METRICS.gcDuration, histogramPoint(g.hist, bounds.gc, a, attached, t));
      }
    }

    const threads = s.hsperf ? hsperfThreads(s.hsperf) : undefined;
    if (threads) {
      set.sum(METRICS.threadCount, false, intPoint(threads.live - threads.daemon, attributes({ 'jvm.thread.daemon': false }), jvmStart, t));
      set.sum(METRICS.threadCount, false, intPoint(threads.daemon, attributes({ 'jvm.thread.daemon': true }), jvmStart, t));
    }
    if (k?.counts && attached !== undefined) {
      const c = k.counts;
      for (const daemon of [false, true]) {
        const a = attributes({ 'jvm.thread.daemon': daemon });
        const i = daemon ? 1 : 0;
        if (c.threads_started[i]! > 0n) set.sum(METRICS.threadsStarted, true, intPoint(c.threads_started[i]!, a, attached, t));
        if (c.threads_stopped[i]! > 0n) set.sum(METRICS.threadsStopped, true, intPoint(c.threads_stopped[i]!, a, attached, t));
      }
    }

    const classes = s.hsperf ? hsperfClasses(s.hsperf) : undefined;
    if (classes) {
      set.sum(METRICS.classLoaded, true, intPoint(classes.loaded, [], jvmStart, t));
      set.sum(METRICS.classUnloaded, true, intPoint(classes.unloaded, [], jvmStart, t));
      set.sum(METRICS.classCount, false, intPoint(classes.loaded - classes.unloaded, [], jvmStart, t));
    } else if (k?.counts && attached !== undefined) {
      set.sum(METRICS.classLoaded, true, intPoint(k.counts.classes_loaded, [], attached, t));
      set.sum(METRICS.classUnloaded, true, intPoint(k.counts.classes_unloaded, [], attached, t));
    }

    if (k?.safepoints && attached !== undefined) set.histogram(METRICS.safepoint, histogramPoint(k.safepoints, bounds.pause, [], attached, t));
    if (k && attached !== undefined) {
      for (const v of [...k.vmops].sort((a, b) => a.name.localeCompare(b.name))) {
        set.histogram(METRICS.vmOperation, histogramPoint(v.hist, bounds.pause, attributes({ 'jvm.vm_operation.name': v.name }), attached, t));
      }
    }

    const metrics = set.list();
    if (metrics.length) {
      resourceMetrics.push({ resource: { attributes: s.resource }, scopeMetrics: [{ scope: { name: SCOPE_NAME, version: VERSION }, metrics }] });
    }
  }
  return { resourceMetrics };
}
