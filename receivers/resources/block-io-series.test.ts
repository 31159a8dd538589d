// BlockIoSeries without a kernel: kernel records of two intervals add up into cumulative
// histograms, land on the cgroup collector's resource or on one of their own, end when their cgroup
// is removed, and records that cannot be named or kept are counted.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { anyValueToString } from '../../src/pdata/common.ts';
import type { HistogramDataPoint, MetricsData } from '../../src/pdata/metrics.ts';
import { BUCKETS, type BlockIoRecord, BlockIoSeries } from './block-io.ts';
import { CollectionBuilder } from './builder.ts';

const root = mkdtempSync(join(tmpdir(), 'bpfcol-blockio-series-'));
after(() => rmSync(root, { recursive: true, force: true }));

function record(id: bigint, op: number, count: number, bytes: number, latencyNs: number, bucket: number, hierarchy = 0): BlockIoRecord {
  const buckets = new Array<bigint>(BUCKETS).fill(0n);
  buckets[bucket] = BigInt(count);
  return {
    key: { cgroup_id: id, hierarchy, dev: (254 << 20) | 0, op, _pad: 0 },
    value: { count: BigInt(count), bytes: BigInt(bytes), latency_ns: BigInt(latencyNs), buckets },
  };
}

function histograms(data: MetricsData): { resource: Record<string, string>; point: HistogramDataPoint }[] {
  return data.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics[0]!.metrics.flatMap((m) =>
      m.data.type === 'histogram'
        ? m.data.dataPoints.map((point) => ({ resource: Object.fromEntries(rm.resource.attributes.map((a) => [a.key, anyValueToString(a.value)])), point }))
        : [],
    ),
  );
}

describe('block_io series', () => {
  const a = join(root, 'a.service');
  const b = join(root, 'kubepods', 'podabc', '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
  mkdirSync(a, { recursive: true });
  mkdirSync(b, { recursive: true });
  const idA = statSync(a, { bigint: true }).ino;
  const idB = statSync(b, { bigint: true }).ino;
  const series = new BlockIoSeries({ unified: root, v1: new Map() }, 3);
  const name = (dev: string) => (dev === '254:0' ? 'vda' : dev);

  it('adds intervals up, keeps the first interval\'s start, names cgroups no collector reports', () => {
    series.add({ startUnixNano: 100n, records: [record(idA, 1, 10, 10 * 4096, 10_000_000, 10)] }, name);
    series.add({ startUnixNano: 200n, records: [record(idA, 1, 5, 5 * 4096, 5_000_000, 11), record(idB, 0, 2, 8192, 2_000_000, 9)] }, name);
    const out = new CollectionBuilder(300n);
    series.emit(out, () => undefined);
    const h = histograms(out.build());
    const forA = h.find((x) => x.resource['container.cgroup.path'] === '/a.service')!;
    assert.deepEqual(forA.resource, { 'container.cgroup.id': String(idA), 'container.cgroup.path': '/a.service' });
    assert.equal(forA.point.count, 15);
    assert.equal(forA.point.sum, 0.015);
    assert.equal(forA.point.bucketCounts[10], 10);
    assert.equal(forA.point.bucketCounts[11], 5);
    assert.equal(forA.point.startTimeUnixNano, 100n);
    assert.equal(anyValueToString(forA.point.attributes.find((x) => x.key === 'system.device')!.value), 'vda');
    assert.equal(anyValueToString(forA.point.attributes.find((x) => x.key === 'disk.io.direction')!.value), 'write');
    const forB = h.find((x) => x.resource['container.cgroup.id'] === String(idB))!;
    assert.equal(forB.resource['container.id'], '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    assert.equal(anyValueToString(forB.point.attributes.find((x) => x.key === 'disk.io.direction')!.value), 'read');
  });

  it('puts series on the resource the cgroup collector made for their cgroup', () => {
    const out = new CollectionBuilder(400n);
    const mine = out.resource([{ key: 'mine', value: { stringValue: 'yes' } }]);
    series.emit(out, (id) => (id === idA ? mine : undefined));
    const h = histograms(out.build());
    assert.equal(h.find((x) => x.resource['mine'] === 'yes')!.point.count, 15);
  });

  it('ends the series of a removed cgroup; counts what it cannot name or keep', () => {
    rmdirSync(a);
    series.add({ startUnixNano: 300n, records: [record(99n, 1, 1, 1, 1, 0, 42)] }, name); // hierarchy 42 is not mounted
    assert.equal(series.unresolved, 1);
    series.add({ startUnixNano: 300n, records: [record(idB, 1, 1, 1, 1, 0), record(idB + 1000n, 1, 1, 1, 1, 0)] }, name);
    assert.equal(series.dropped, 1, 'max_series (3) series were live');
    const out = new CollectionBuilder(500n);
    series.emit(out, () => undefined);
    const h = histograms(out.build());
    assert.ok(!h.some((x) => x.resource['container.cgroup.path'] === '/a.service'), 'a removed cgroup is gone');
    assert.equal(series.size, 2);
  });
});
