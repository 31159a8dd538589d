// Metrics and log records from given kernel data and hsperfdata (no kernel, no JVM): which source
// wins for each pool, histogram conversion, start times, and the GC records.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute } from '../../src/pdata/common.ts';
import type { HistogramDataPoint, NumberDataPoint } from '../../src/pdata/metrics.ts';
import { HsperfSnapshot, buildHsperfdata, parseHsperfdata } from './hsperfdata.ts';
import type { JvmKernelData } from './kernel.ts';
import { GcAction, type HistValue } from './layout.ts';
import { gcLogs } from './logs.ts';
import { buildMetrics, histogramPoint, mergePools } from './metrics.ts';

const U64_MAX = (1n << 64n) - 1n;
const hist = (count: number, sumNs: number, buckets: number[]): HistValue => ({
  count: BigInt(count),
  sum_ns: BigInt(sumNs),
  buckets: [...buckets, ...Array(17 - buckets.length).fill(0)].map(BigInt),
});
const usage = (used: number, committed: number, max: bigint = U64_MAX) => ({ init: 0n, used: BigInt(used), committed: BigInt(committed), max });
const poolValue = (before: number, after: number, committed: number, max?: bigint) => ({
  collections: 3n,
  end_ns: 1n,
  before: usage(before, committed, max),
  after: usage(after, committed, max),
});

const kernel: JvmKernelData = {
  gc: [
    { manager: 'G1 Young Generation', action: GcAction.MINOR, hist: hist(5, 25_000_000, [5]) },
    { manager: 'G1 Old Generation', action: GcAction.MAJOR, hist: hist(1, 120_000_000, [0, 0, 1]) },
  ],
  pools: [
    { pool: 'G1 Eden Space', value: poolValue(12_000_000, 0, 8_388_608) },
    { pool: 'G1 Old Gen', value: poolValue(4_000_000, 3_000_000, 33_554_432, 268_435_456n) },
    { pool: "CodeHeap 'non-nmethods'", value: poolValue(1_000_000, 1_000_000, 2_555_904, 5_828_608n) },
  ],
  safepoints: hist(7, 7_000_000, [0, 0, 7]),
  vmops: [{ name: 'G1CollectFull', hist: hist(1, 120_000_000, [0, 0, 0, 0, 0, 0, 1]) }],
  counts: { classes_loaded: 10n, shared_classes_loaded: 2n, classes_unloaded: 1n, threads_started: [3n, 1n], threads_stopped: [2n, 0n] },
};

const hsperf = new HsperfSnapshot(
  parseHsperfdata(
    buildHsperfdata(
      (
        [
          ['sun.gc.policy.name', 'GarbageFirst'],
          ['sun.gc.generation.0.space.0.used', 5_000_000n],
          ['sun.gc.generation.0.space.0.capacity', 8_388_616n],
          ['sun.gc.generation.0.space.0.maxCapacity', 268_435_464n],
          ['sun.gc.generation.1.space.0.used', 3_500_000n],
          ['sun.gc.generation.1.space.0.capacity', 33_554_440n],
          ['sun.gc.generation.1.space.0.maxCapacity', 268_435_464n],
          ['java.threads.live', 9n],
          ['java.threads.daemon', 6n],
          ['java.cls.loadedClasses', 500n],
          ['java.cls.sharedLoadedClasses', 400n],
          ['java.cls.unloadedClasses', 5n],
          ['java.cls.sharedUnloadedClasses', 0n],
        ] as [string, bigint | string][]
      ).map(([name, value]) => ({ name, value })),
    ),
  ),
);

const START = 1_000n;
const ATTACH = 2_000n;
const NOW = 3_000n;
const BOUNDS = { gc: [0.01, 0.1, 1, 10], pause: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1] };

function metric(kernelData: JvmKernelData | undefined, h: HsperfSnapshot | undefined, name: string) {
  const data = buildMetrics([{ resource: attributes({ 'process.pid': 42 }), startUnixNano: START, attachUnixNano: kernelData ? ATTACH : undefined, hsperf: h, kernel: kernelData }], NOW, BOUNDS);
  return data.resourceMetrics[0]?.scopeMetrics[0]?.metrics.find((m) => m.name === name);
}
function points(kernelData: JvmKernelData | undefined, h: HsperfSnapshot | undefined, name: string): NumberDataPoint[] {
  const m = metric(kernelData, h, name);
  return m?.data.type === 'sum' ? m.data.dataPoints : [];
}
const valueOf = (ps: NumberDataPoint[], pool: string) => ps.find((p) => getAttribute(p.attributes, 'jvm.memory.pool.name') === pool)?.asInt;

describe('pools from both sources', () => {
  it('hsperfdata (live) wins for used and committed; the probes give the limit and the pools hsperfdata lacks', () => {
    const merged = mergePools(hsperf, kernel);
    assert.deepEqual(
      merged.map((p) => [p.name, p.type, p.used, p.committed, p.max, p.usedAfterGc]),
      [
        ['G1 Eden Space', 'heap', 5_000_000, 8_388_608, undefined, 0],
        ['G1 Old Gen', 'heap', 3_500_000, 33_554_432, 268_435_456, 3_000_000],
        ["CodeHeap 'non-nmethods'", 'non_heap', 1_000_000, 2_555_904, 5_828_608, undefined],
      ],
    );
  });

  it('without hsperfdata: the usage after the latest collection', () => {
    const merged = mergePools(undefined, kernel);
    assert.deepEqual(merged.find((p) => p.name === 'G1 Old Gen')?.used, 3_000_000);
    assert.equal(merged.find((p) => p.name === 'G1 Eden Space')?.max, undefined, 'max (u64)-1 is no limit');
  });

  it('emits used, committed, limit and used after the last GC with the JVM start or the attach time', () => {
    const used = points(kernel, hsperf, 'jvm.memory.used');
    assert.equal(valueOf(used, 'G1 Old Gen'), 3_500_000n);
    assert.equal(used[0]?.startTimeUnixNano, START);
    assert.equal(used[0]?.timeUnixNano, NOW);
    assert.equal(getAttribute(used[0]!.attributes, 'jvm.memory.type'), 'heap');
    assert.equal(valueOf(points(kernel, hsperf, 'jvm.memory.limit'), 'G1 Eden Space'), undefined);
    assert.equal(valueOf(points(kernel, hsperf, 'jvm.memory.limit'), 'G1 Old Gen'), 268_435_456n);
    const afterGc = points(kernel, hsperf, 'jvm.memory.used_after_last_gc');
    assert.deepEqual(afterGc.map((p) => getAttribute(p.attributes, 'jvm.memory.pool.name')), ['G1 Eden Space', 'G1 Old Gen']);
    assert.equal(afterGc[0]?.startTimeUnixNano, ATTACH);
    const m = metric(kernel, hsperf, 'jvm.memory.used')!;
    assert.equal(m.unit, 'By');
    assert.ok(m.data.type === 'sum' && !m.data.isMonotonic && m.data.aggregationTemporality === 2);
  });
});

describe('histograms, threads, classes', () => {
  it('turns kernel histograms into seconds over the configured bounds', () => {
    const p = histogramPoint(hist(3, 1_500_000_000, [1, 1, 0, 1]), [0.01, 0.1, 1], [], 5n, 6n);
    assert.deepEqual(p, { attributes: [], startTimeUnixNano: 5n, timeUnixNano: 6n, count: 3, sum: 1.5, bucketCounts: [1, 1, 0, 1], explicitBounds: [0.01, 0.1, 1] });
    const m = metric(kernel, hsperf, 'jvm.gc.duration')!;
    assert.ok(m.data.type === 'histogram');
    const dp = m.data.dataPoints as HistogramDataPoint[];
    assert.deepEqual(
      dp.map((x) => [getAttribute(x.attributes, 'jvm.gc.name'), getAttribute(x.attributes, 'jvm.gc.action'), x.count, x.sum, x.bucketCounts.length]),
      [
        ['G1 Old Generation', 'end of major GC', 1, 0.12, 5],
        ['G1 Young Generation', 'end of minor GC', 5, 0.025, 5],
      ],
    );
    assert.equal(dp[0]!.startTimeUnixNano, ATTACH);
    const vm = metric(kernel, hsperf, 'jvm.vm_operation.duration')!;
    assert.ok(vm.data.type === 'histogram' && getAttribute(vm.data.dataPoints[0]!.attributes, 'jvm.vm_operation.name') === 'G1CollectFull');
    assert.ok(metric(kernel, hsperf, 'jvm.safepoint.duration'));
  });

  it('threads and classes from hsperfdata since JVM start; classes from the probes since attach without it', () => {
    const threads = points(kernel, hsperf, 'jvm.thread.count');
    assert.deepEqual(threads.map((p) => [getAttribute(p.attributes, 'jvm.thread.daemon'), p.asInt]), [[false, 3n], [true, 6n]]);
    assert.deepEqual(points(kernel, hsperf, 'jvm.class.loaded').map((p) => [p.asInt, p.startTimeUnixNano]), [[900n, START]]);
    assert.deepEqual(points(kernel, hsperf, 'jvm.class.count').map((p) => p.asInt), [895n]);
    assert.deepEqual(points(kernel, undefined, 'jvm.class.loaded').map((p) => [p.asInt, p.startTimeUnixNano]), [[10n, ATTACH]]);
    assert.deepEqual(points(kernel, undefined, 'jvm.class.count'), []);
    assert.deepEqual(points(kernel, undefined, 'jvm.thread.count'), []);
    assert.deepEqual(points(kernel, hsperf, 'jvm.thread.started').map((p) => [getAttribute(p.attributes, 'jvm.thread.daemon'), p.asInt]), [[false, 3n], [true, 1n]]);
    assert.deepEqual(points(kernel, hsperf, 'jvm.thread.stopped').map((p) => p.asInt), [2n], 'no zero series');
  });

  it('hsperfdata alone (no probes): no probe metrics', () => {
    assert.equal(metric(undefined, hsperf, 'jvm.gc.duration'), undefined);
    assert.equal(metric(undefined, hsperf, 'jvm.memory.used_after_last_gc'), undefined);
    assert.equal(valueOf(points(undefined, hsperf, 'jvm.memory.used'), 'G1 Eden Space'), 5_000_000n);
  });

  it('a JVM with nothing to say gets no resource', () => {
    assert.deepEqual(buildMetrics([{ resource: [], startUnixNano: 1n }], 2n, BOUNDS), { resourceMetrics: [] });
  });
});

describe('GC records', () => {
  const event = (pid: number, cause: string) => ({
    begin_ns: process.hrtime.bigint() - 5_000_000n,
    duration_ns: 2_000_000n,
    used_before: BigInt(12 << 20),
    used_after: BigInt(4 << 20),
    pid,
    tid: 77,
    action: GcAction.MAJOR,
    _pad: 0,
    manager: 'G1 Old Generation',
    cause,
  });

  it('one record per collection under its JVM resource; JVMs not watched are dropped', () => {
    const data = gcLogs([event(1, 'System.gc()'), event(2, ''), event(3, 'x')], (pid) => (pid === 3 ? undefined : attributes({ 'process.pid': pid })));
    assert.equal(data.resourceLogs.length, 2);
    const r = data.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    assert.equal(r.eventName, 'jvm.gc');
    assert.equal(r.severityText, 'INFO');
    assert.equal((r.body as { stringValue: string }).stringValue, 'G1 Old Generation end of major GC (System.gc()): 2.000 ms, 12.0 MiB -> 4.0 MiB, 8.0 MiB freed');
    assert.equal(getAttribute(r.attributes, 'jvm.gc.cause'), 'System.gc()');
    assert.equal(getAttribute(r.attributes, 'jvm.gc.duration'), 0.002);
    assert.equal(getAttribute(r.attributes, 'jvm.gc.memory.freed'), BigInt(8 << 20));
    assert.equal(getAttribute(r.attributes, 'thread.id'), 77n);
    const now = BigInt(Date.now()) * 1_000_000n;
    assert.ok(r.timeUnixNano <= now && r.timeUnixNano > now - 1_000_000_000n, 'monotonic time turned into wall-clock time');
    const noCause = data.resourceLogs[1]!.scopeLogs[0]!.logRecords[0]!;
    assert.equal(getAttribute(noCause.attributes, 'jvm.gc.cause'), undefined);
  });
});
