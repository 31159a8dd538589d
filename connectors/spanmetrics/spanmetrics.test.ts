import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute, type KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type ExponentialHistogramDataPoint, type HistogramDataPoint, type Metric, type MetricsData, type NumberDataPoint } from '../../src/pdata/metrics.ts';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../src/pdata/traces.ts';
import { recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { configSchema } from './config.ts';
import type { SpanMetricsConnector } from './connector.ts';
import { bucketIndex } from './expo.ts';
import { spanmetricsFactory } from './factory.ts';

const MS = 1_000_000n;
let nextSpan = 1;

function span(name: string, kind: SpanKind, ms: number, status: StatusCode = StatusCode.UNSET, attrs: Record<string, string> = {}, events: Span['events'] = []): Span {
  const start = 1_700_000_000_000n * MS;
  return { traceId: 'ab'.repeat(16), spanId: (nextSpan++).toString(16).padStart(16, '0'), name, kind, startTimeUnixNano: start, endTimeUnixNano: start + BigInt(Math.round(ms * 1000)) * 1000n, attributes: attributes(attrs), events, links: [], status: { code: status } };
}

function traces(resource: Record<string, string>, spans: Span[]): TracesData {
  return { resourceSpans: [{ resource: { attributes: attributes(resource) }, scopeSpans: [{ scope: { name: 'bpfcol/socket_trace', version: '0.1.0' }, spans }] }] };
}

function make(config: Record<string, unknown> = {}) {
  const telemetry = recordingTelemetry();
  const sink = new SinkConsumer<'metrics'>();
  const c = spanmetricsFactory.create.traces!.metrics!(testSettings('spanmetrics', 'connector', 'traces', { telemetry }), configSchema.parse({ metrics_flush_interval: '1h', ...config }), sink) as SpanMetricsConnector;
  return { c, sink, telemetry };
}

function metric(out: MetricsData, name: string, resource = 0): Metric {
  const m = out.resourceMetrics[resource]?.scopeMetrics[0]?.metrics.find((x) => x.name === name);
  assert.ok(m, `no ${name}`);
  return m;
}

const label = (attrs: KeyValue[]) => ['span.name', 'span.kind', 'status.code'].map((k) => getAttribute(attrs, k)).join(' ');

describe('spanmetrics connector', () => {
  it('counts calls and records durations per service, name, kind and status, with the Collector names and buckets', async () => {
    const { c, sink } = make();
    await c.consume(traces({ 'service.name': 'frontend', 'k8s.pod.name': 'web-1' }, [
      span('GET /cart', SpanKind.SERVER, 1),
      span('GET /cart', SpanKind.SERVER, 5),
      span('GET /cart', SpanKind.SERVER, 20, StatusCode.ERROR),
      span('SELECT', SpanKind.CLIENT, 2),
    ]));
    await c.flush();
    const out = sink.received[0]!;
    assert.equal(out.resourceMetrics.length, 1);
    assert.equal(getAttribute(out.resourceMetrics[0]!.resource.attributes, 'k8s.pod.name'), 'web-1', 'the resource is kept');
    assert.equal(out.resourceMetrics[0]!.scopeMetrics[0]!.scope?.name, 'spanmetricsconnector');
    const calls = metric(out, 'traces.span.metrics.calls');
    assert.ok(calls.data.type === 'sum' && calls.data.isMonotonic && calls.data.aggregationTemporality === AggregationTemporality.CUMULATIVE);
    assert.deepEqual((calls.data.dataPoints as NumberDataPoint[]).map((p) => [label(p.attributes), p.asInt]), [
      ['GET /cart SPAN_KIND_SERVER STATUS_CODE_UNSET', 2n],
      ['GET /cart SPAN_KIND_SERVER STATUS_CODE_ERROR', 1n],
      ['SELECT SPAN_KIND_CLIENT STATUS_CODE_UNSET', 1n],
    ]);
    assert.equal(getAttribute(calls.data.dataPoints[0]!.attributes, 'service.name'), 'frontend');
    const duration = metric(out, 'traces.span.metrics.duration');
    assert.equal(duration.unit, 'ms');
    assert.ok(duration.data.type === 'histogram');
    const [ok, err, sel] = duration.data.dataPoints as HistogramDataPoint[];
    assert.deepEqual(ok!.explicitBounds, [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]);
    assert.deepEqual(ok!.bucketCounts, [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([ok!.count, ok!.sum, ok!.min, ok!.max], [2, 6, 1, 5]);
    assert.deepEqual([err!.count, err!.sum, err!.bucketCounts[5]], [1, 20, 1]);
    assert.deepEqual([sel!.count, sel!.bucketCounts[0]], [1, 1], 'an upper bound is inclusive: 2 ms is in (0, 2]');
  });

  it('cumulative totals grow and keep their start; delta windows start where the last ended', async () => {
    for (const temporality of ['AGGREGATION_TEMPORALITY_CUMULATIVE', 'AGGREGATION_TEMPORALITY_DELTA']) {
      const { c, sink } = make({ aggregation_temporality: temporality });
      await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1), span('a', SpanKind.SERVER, 1)]));
      await c.flush();
      await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 3)]));
      await c.flush();
      const [p1, p2] = sink.received.map((o) => metric(o, 'traces.span.metrics.calls').data.dataPoints[0] as NumberDataPoint);
      const h2 = metric(sink.received[1]!, 'traces.span.metrics.duration').data.dataPoints[0] as HistogramDataPoint;
      if (temporality.endsWith('DELTA')) {
        assert.deepEqual([p1!.asInt, p2!.asInt, h2.count, h2.sum], [2n, 1n, 1, 3]);
        assert.equal(p2!.startTimeUnixNano, p1!.timeUnixNano);
        assert.equal(metric(sink.received[1]!, 'traces.span.metrics.calls').data.type === 'sum' && (metric(sink.received[1]!, 'traces.span.metrics.calls').data as { aggregationTemporality: number }).aggregationTemporality, AggregationTemporality.DELTA);
        await c.flush();
        assert.equal(sink.received.length, 2, 'an empty delta window sends nothing');
      } else {
        assert.deepEqual([p1!.asInt, p2!.asInt, h2.count, h2.sum], [2n, 3n, 3, 5]);
        assert.equal(p2!.startTimeUnixNano, p1!.startTimeUnixNano);
      }
    }
  });

  it('dimensions from the span, then the resource, then the default; excluded dimensions; a namespace', async () => {
    const { c, sink } = make({ namespace: 'span.metrics', dimensions: [{ name: 'http.request.method', default: 'GET' }, { name: 'k8s.namespace.name' }, { name: 'absent' }], exclude_dimensions: ['status.code'] });
    await c.consume(traces({ 'service.name': 's', 'k8s.namespace.name': 'shop' }, [span('x', SpanKind.SERVER, 1, StatusCode.ERROR, { 'http.request.method': 'POST' }), span('x', SpanKind.SERVER, 1, StatusCode.OK)]));
    await c.flush();
    const pts = metric(sink.received[0]!, 'span.metrics.calls').data.dataPoints as NumberDataPoint[];
    assert.deepEqual(pts.map((p) => [getAttribute(p.attributes, 'http.request.method'), getAttribute(p.attributes, 'k8s.namespace.name'), getAttribute(p.attributes, 'status.code'), p.attributes.some((a) => a.key === 'absent'), p.asInt]), [
      ['POST', 'shop', undefined, false, 1n],
      ['GET', 'shop', undefined, false, 1n],
    ]);
  });

  it('caps series per resource: beyond aggregation_cardinality_limit spans go to one overflow series, counted', async () => {
    const { c, sink, telemetry } = make({ aggregation_cardinality_limit: 2 });
    await c.consume(traces({ 'service.name': 's' }, ['a', 'b', 'c', 'd', 'a', 'c'].map((n) => span(n, SpanKind.SERVER, 1))));
    await c.flush();
    const pts = metric(sink.received[0]!, 'traces.span.metrics.calls').data.dataPoints as NumberDataPoint[];
    assert.deepEqual(pts.map((p) => [getAttribute(p.attributes, 'span.name') ?? `overflow=${String(getAttribute(p.attributes, 'otel.metric.overflow'))}`, p.asInt]), [['a', 2n], ['b', 1n], ['overflow=true', 3n]]);
    assert.equal(telemetry.counters.get('connector_spanmetrics_overflow_spans'), 3);
  });

  it('skips spans whose resource has no service.name, counted; one resource per service', async () => {
    const { c, sink, telemetry } = make();
    await c.consume({ resourceSpans: [...traces({}, [span('a', SpanKind.SERVER, 1)]).resourceSpans, ...traces({ 'service.name': 'x' }, [span('a', SpanKind.SERVER, 1)]).resourceSpans, ...traces({ 'service.name': 'y' }, [span('a', SpanKind.SERVER, 1)]).resourceSpans] });
    await c.flush();
    assert.equal(telemetry.counters.get('connector_spanmetrics_skipped_spans'), 1);
    assert.deepEqual(sink.received[0]!.resourceMetrics.map((r) => getAttribute(r.resource.attributes, 'service.name')), ['x', 'y']);
  });

  it('seconds, explicit buckets given as durations, exemplars, and a disabled histogram', async () => {
    const { c, sink } = make({ histogram: { unit: 's', explicit: { buckets: ['100us', '1ms', '1s'] } }, exemplars: { enabled: true } });
    const s = span('a', SpanKind.SERVER, 0.5);
    await c.consume(traces({ 'service.name': 's' }, [s]));
    await c.flush();
    const h = metric(sink.received[0]!, 'traces.span.metrics.duration');
    assert.equal(h.unit, 's');
    const p = h.data.dataPoints[0] as HistogramDataPoint;
    assert.deepEqual([p.explicitBounds, p.bucketCounts, p.sum], [[0.0001, 0.001, 1], [0, 1, 0, 0], 0.0005]);
    assert.deepEqual(p.exemplars?.map((e) => [e.traceId, e.spanId, e.asDouble]), [[s.traceId, s.spanId, 0.0005]]);
    await c.flush();
    assert.equal((metric(sink.received[1]!, 'traces.span.metrics.duration').data.dataPoints[0] as HistogramDataPoint).exemplars, undefined, 'exemplars belong to one flush');
    const off = make({ histogram: { disable: true } });
    await off.c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1)]));
    await off.c.flush();
    assert.deepEqual(off.sink.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => m.name), ['traces.span.metrics.calls']);
  });

  it('exponential histograms rescale to fit max_size', async () => {
    const { c, sink } = make({ histogram: { exponential: { max_size: 160 } } });
    await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1), span('a', SpanKind.SERVER, 2), span('a', SpanKind.SERVER, 4)]));
    await c.flush();
    const m = metric(sink.received[0]!, 'traces.span.metrics.duration');
    assert.equal(m.data.type, 'exponentialHistogram');
    const p = m.data.dataPoints[0] as ExponentialHistogramDataPoint;
    assert.deepEqual([p.scale, p.positive.offset, p.positive.bucketCounts.length, p.count, p.sum, p.min, p.max], [6, -1, 129, 3, 7, 1, 4]);
    assert.deepEqual([p.positive.bucketCounts[0], p.positive.bucketCounts[64], p.positive.bucketCounts[128]], [1, 1, 1]);
    assert.deepEqual([bucketIndex(1, 0), bucketIndex(3, 0), bucketIndex(4, 0), bucketIndex(5, -1), bucketIndex(1.5, 1)], [-1, 1, 1, 1, 1]);
  });

  it('events metric per event dimension', async () => {
    const { c, sink } = make({ events: { enabled: true, dimensions: [{ name: 'exception.type' }] } });
    const ev = (t: string) => ({ timeUnixNano: 1n, name: 'exception', attributes: attributes({ 'exception.type': t }) });
    await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1, StatusCode.ERROR, {}, [ev('Timeout'), ev('Timeout'), ev('Refused')])]));
    await c.flush();
    const pts = metric(sink.received[0]!, 'traces.span.metrics.events').data.dataPoints as NumberDataPoint[];
    assert.deepEqual(pts.map((p) => [getAttribute(p.attributes, 'exception.type'), p.asInt]), [['Timeout', 2n], ['Refused', 1n]]);
  });

  it('config errors name their key', () => {
    const issues = (c: unknown) => { const r = configSchema.safeParse(c); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    assert.deepEqual(issues({ histogram: { explicit: {}, exponential: {} } }), ['histogram: use either explicit or exponential buckets, not both']);
    assert.deepEqual(issues({ dimensions: [{ name: 'span.kind' }] }), ['dimensions.0.name: duplicate dimension name span.kind']);
    assert.deepEqual(issues({ histogram: { explicit: { buckets: ['fast'] } } }), ['histogram.explicit.buckets.0: expected a duration like 10ms, got "fast"']);
    assert.deepEqual(issues({ events: { enabled: true } }), ['events.dimensions: expected at least one dimension when events are enabled']);
    assert.deepEqual(issues({ aggregation_temporality: 'DELTA' }), ['aggregation_temporality: expected AGGREGATION_TEMPORALITY_CUMULATIVE or AGGREGATION_TEMPORALITY_DELTA']);
  });

  it('flushes on its interval and at shutdown', async () => {
    const { c, sink } = make({ metrics_flush_interval: '30ms' });
    await c.start();
    await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1)]));
    await sink.waitFor(1);
    await c.consume(traces({ 'service.name': 's' }, [span('a', SpanKind.SERVER, 1)]));
    await c.shutdown();
    assert.equal((metric(sink.received.at(-1)!, 'traces.span.metrics.calls').data.dataPoints[0] as NumberDataPoint).asInt, 2n);
  });
});
