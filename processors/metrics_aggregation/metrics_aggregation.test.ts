import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute, type KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type HistogramDataPoint, type Metric, type MetricsData, type NumberDataPoint } from '../../src/pdata/metrics.ts';
import { recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { configSchema } from './config.ts';
import { metricsAggregationFactory } from './factory.ts';
import type { MetricsAggregationProcessor } from './processor.ts';

const S = 1_000_000_000n;
const T0 = BigInt(Date.now()) * 1_000_000n; // points that start after the processor was made count in full (initial_value auto)

function data(metrics: Metric[], resource: KeyValue[] = attributes({ 'host.name': 'n1' })): MetricsData {
  return { resourceMetrics: [{ resource: { attributes: resource }, scopeMetrics: [{ scope: { name: 'bpfcol/receiver/tcp_drop' }, metrics }] }] };
}

function cumSum(name: string, points: [Record<string, string | number>, number, bigint?][], time: bigint, monotonic = true): Metric {
  return {
    name,
    unit: '{packet}',
    data: {
      type: 'sum',
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      isMonotonic: monotonic,
      dataPoints: points.map(([attrs, v, start]) => ({ attributes: attributes(attrs), startTimeUnixNano: start ?? T0 + S, timeUnixNano: time, asInt: BigInt(v) })),
    },
  };
}

function make(config: Record<string, unknown>) {
  const telemetry = recordingTelemetry();
  const sink = new SinkConsumer<'metrics'>();
  const p = metricsAggregationFactory.create.metrics!(testSettings('metrics_aggregation', 'processor', 'metrics', { telemetry }), configSchema.parse({ interval: '1h', ...config }), sink) as MetricsAggregationProcessor;
  return { p, sink, telemetry };
}

function points(out: MetricsData, name: string): (NumberDataPoint | HistogramDataPoint)[] {
  const m = out.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).find((x) => x.name === name);
  assert.ok(m, `no metric ${name} in ${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return m.data.dataPoints as (NumberDataPoint | HistogramDataPoint)[];
}

const foldPid = { rules: [{ metric_names: ['tcp.drops'], drop_attributes: ['process.pid'] }] };

describe('metrics_aggregation', () => {
  it('folds cumulative sums of two pids into one cumulative series, keeping ints and the resource', async () => {
    const { p, sink } = make(foldPid);
    await p.start();
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1, pod: 'a' }, 5], [{ 'process.pid': 2, pod: 'a' }, 7], [{ 'process.pid': 3, pod: 'b' }, 1]], T0 + 2n * S)]));
    assert.equal(sink.received.length, 0, 'folded metrics wait for the flush');
    await p.flush();
    const first = points(sink.received[0]!, 'tcp.drops') as NumberDataPoint[];
    assert.deepEqual(first.map((x) => [getAttribute(x.attributes, 'pod'), x.asInt, getAttribute(x.attributes, 'process.pid')]), [['a', 12n, undefined], ['b', 1n, undefined]]);
    assert.equal(getAttribute(sink.received[0]!.resourceMetrics[0]!.resource.attributes, 'host.name'), 'n1');
    assert.equal(sink.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.scope?.name, 'bpfcol/receiver/tcp_drop');
    const m = sink.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    assert.equal(m.unit, '{packet}');
    assert.ok(m.data.type === 'sum' && m.data.isMonotonic && m.data.aggregationTemporality === AggregationTemporality.CUMULATIVE);

    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1, pod: 'a' }, 8], [{ 'process.pid': 2, pod: 'a' }, 10]], T0 + 3n * S)]));
    await p.flush();
    const second = points(sink.received[1]!, 'tcp.drops') as NumberDataPoint[];
    assert.deepEqual(second.map((x) => [getAttribute(x.attributes, 'pod'), x.asInt]), [['a', 18n], ['b', 1n]]);
    assert.equal(second[0]!.startTimeUnixNano, first[0]!.startTimeUnixNano, 'a cumulative series keeps its start');
    await p.shutdown();
  });

  it('delta output: each window holds its own increments and starts where the last one ended', async () => {
    const { p, sink } = make({ ...foldPid, aggregation_temporality: 'delta' });
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 5], [{ 'process.pid': 2 }, 7]], T0 + 2n * S)]));
    await p.flush();
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 8], [{ 'process.pid': 2 }, 10]], T0 + 3n * S)]));
    await p.flush();
    await p.flush(); // nothing new: nothing sent
    assert.equal(sink.received.length, 2);
    const [a, b] = [points(sink.received[0]!, 'tcp.drops')[0] as NumberDataPoint, points(sink.received[1]!, 'tcp.drops')[0] as NumberDataPoint];
    assert.equal(a.asInt, 12n);
    assert.equal(b.asInt, 6n);
    assert.equal(b.startTimeUnixNano, a.timeUnixNano);
    const m = sink.received[1]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    assert.ok(m.data.type === 'sum' && m.data.aggregationTemporality === AggregationTemporality.DELTA);
  });

  it('a counter reset counts the new value; an old point is skipped; a series that began before the processor only sets the baseline', async () => {
    const { p, sink, telemetry } = make(foldPid);
    const before = T0 - 100n * S;
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 100, before], [{ 'process.pid': 2 }, 4]], T0 + 2n * S)]));
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 103, before], [{ 'process.pid': 2 }, 2]], T0 + 3n * S)])); // pid 2 reset: +2
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 200, before]], T0 + 3n * S)])); // not newer: skipped
    await p.flush();
    assert.equal((points(sink.received[0]!, 'tcp.drops')[0] as NumberDataPoint).asInt, 3n + 4n + 2n);
    assert.equal(telemetry.counters.get('processor_metrics_aggregation_dropped_points'), 2);
  });

  it('delta input sums and doubles add up', async () => {
    const { p, sink } = make({ rules: [{ metric_names: ['^bytes'], match_type: 'regexp', keep_attributes: ['dir'] }] });
    const m = (v: number, pid: number): Metric => ({ name: 'bytes.io', data: { type: 'sum', aggregationTemporality: AggregationTemporality.DELTA, isMonotonic: true, dataPoints: [{ attributes: attributes({ dir: 'tx', pid }), startTimeUnixNano: T0, timeUnixNano: T0 + S, asDouble: v }] } });
    await p.consume(data([m(1.5, 1), m(2.25, 2)]));
    await p.consume(data([m(0.25, 1)]));
    await p.flush();
    const pt = points(sink.received[0]!, 'bytes.io')[0] as NumberDataPoint;
    assert.equal(pt.asDouble, 4);
    assert.deepEqual(pt.attributes, attributes({ dir: 'tx' }));
  });

  it('merges cumulative histograms bucket by bucket', async () => {
    const { p, sink } = make({ rules: [{ metric_names: ['tcp.rtt'], drop_attributes: ['process.pid'] }] });
    const h = (pid: number, buckets: number[], sum: number, time: bigint): HistogramDataPoint => ({
      attributes: attributes({ 'process.pid': pid }), startTimeUnixNano: T0 + S, timeUnixNano: time,
      count: buckets.reduce((a, b) => a + b, 0), sum, bucketCounts: buckets, explicitBounds: [0.001, 0.01], min: 0, max: 1,
    });
    const metric = (pts: HistogramDataPoint[]): Metric => ({ name: 'tcp.rtt', unit: 's', data: { type: 'histogram', aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: pts } });
    await p.consume(data([metric([h(1, [1, 2, 0], 0.5, T0 + 2n * S), h(2, [0, 1, 1], 2, T0 + 2n * S)])]));
    await p.consume(data([metric([h(1, [3, 2, 1], 1.5, T0 + 3n * S)])]));
    await p.flush();
    const pt = points(sink.received[0]!, 'tcp.rtt')[0] as HistogramDataPoint;
    assert.deepEqual(pt.bucketCounts, [3, 3, 2]);
    assert.equal(pt.count, 8);
    assert.equal(pt.sum, 3.5);
    assert.deepEqual(pt.explicitBounds, [0.001, 0.01]);
  });

  it('gauges: the latest value of each input series, combined as configured', async () => {
    const g = (vals: [number, number][], time: bigint): Metric => ({ name: 'mem', data: { type: 'gauge', dataPoints: vals.map(([pid, v]) => ({ attributes: attributes({ pid, pod: 'a' }), timeUnixNano: time, asInt: BigInt(v) })) } });
    for (const [how, want] of [['sum', 30n], ['max', 20n], ['mean', 15], ['last', 10n]] as const) {
      const { p, sink } = make({ gauge_aggregation: how, rules: [{ metric_names: ['mem'], keep_attributes: ['pod'] }] });
      await p.consume(data([g([[1, 5], [2, 20]], T0 + S)]));
      await p.consume(data([g([[1, 10]], T0 + 2n * S)]));
      await p.flush();
      const pt = points(sink.received[0]!, 'mem')[0] as NumberDataPoint;
      assert.equal(pt.asInt ?? pt.asDouble, want, how);
    }
  });

  it('caps series per metric: new series beyond max_series fold into one overflow series, counted', async () => {
    const { p, sink, telemetry } = make({ max_series: 2, rules: [{ metric_names: ['tcp.drops'], keep_attributes: ['pod'] }] });
    await p.consume(data([cumSum('tcp.drops', [[{ pod: 'a' }, 1], [{ pod: 'b' }, 2], [{ pod: 'c' }, 3], [{ pod: 'd' }, 4]], T0 + 2n * S)]));
    await p.consume(data([cumSum('tcp.drops', [[{ pod: 'a' }, 11]], T0 + 3n * S)]));
    await p.flush();
    const pts = points(sink.received[0]!, 'tcp.drops') as NumberDataPoint[];
    assert.deepEqual(pts.map((x) => [x.attributes[0]!.key, getAttribute(x.attributes, x.attributes[0]!.key), x.asInt]), [['pod', 'a', 11n], ['pod', 'b', 2n], ['otel.metric.overflow', true, 7n]]);
    assert.equal(telemetry.counters.get('processor_metrics_aggregation_overflow_points'), 2);
  });

  it('passes metrics no rule names at once, and types it cannot fold', async () => {
    const { p, sink } = make({ rules: [{ metric_names: ['.*'], match_type: 'regexp', drop_attributes: ['x'] }] });
    const exp: Metric = { name: 'lat', data: { type: 'exponentialHistogram', aggregationTemporality: 1, dataPoints: [{ attributes: [], timeUnixNano: 1n, count: 1, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] } }] } };
    await p.consume(data([exp]));
    assert.equal(sink.received.length, 1);
    assert.equal(sink.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.name, 'lat');
    const { p: p2, sink: s2 } = make(foldPid);
    await p2.consume(data([cumSum('other', [[{ a: 1 }, 1]], T0 + S), cumSum('tcp.drops', [[{ 'process.pid': 1 }, 1]], T0 + 2n * S)]));
    assert.deepEqual(s2.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => m.name), ['other']);
  });

  it('flushes on shutdown and on its interval', async () => {
    const { p, sink } = make({ ...foldPid, interval: '50ms' });
    await p.start();
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 2]], T0 + 2n * S)]));
    await sink.waitFor(1);
    await p.consume(data([cumSum('tcp.drops', [[{ 'process.pid': 1 }, 5]], T0 + 3n * S)]));
    await p.shutdown();
    const last = sink.received.at(-1)!;
    assert.equal((points(last, 'tcp.drops')[0] as NumberDataPoint).asInt, 5n);
  });

  it('rejects keep and drop together, bad expressions and a zero interval', () => {
    const issues = (c: unknown) => { const r = configSchema.safeParse(c); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    assert.deepEqual(issues({ rules: [{ metric_names: ['a'], keep_attributes: ['x'], drop_attributes: ['y'] }] }), ['rules.0: give keep_attributes or drop_attributes, not both']);
    assert.match(issues({ rules: [{ metric_names: ['('], match_type: 'regexp' }] })[0]!, /^rules\.0\.metric_names\.0: expected a regular expression/);
    assert.deepEqual(issues({ interval: '0' }), ['interval: expected a duration above 0']);
    assert.deepEqual(issues({ aggregation_temporality: 'both' }), ['aggregation_temporality: expected cumulative or delta']);
  });
});
