// What the real instrumented clients in the tests send, and what the receiver must hand on for
// it, field by field: the OpenTelemetry JS SDK producing spans, metrics and logs with fixed
// nanosecond timestamps, exported by whichever OTLP exporter a test passes in.
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace, ValueType } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { getAttribute, type KeyValue } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { Metric, MetricsData } from '../../src/pdata/metrics.ts';
import { AggregationTemporality } from '../../src/pdata/metrics.ts';
import { SpanKind, StatusCode, type TracesData } from '../../src/pdata/traces.ts';

const RESOURCE = { 'service.name': 'checkout', 'service.version': '2.4.0', 'deployment.environment.name': 'test' };

function assertResource(attributes: KeyValue[]): void {
  for (const [key, value] of Object.entries(RESOURCE)) assert.equal(getAttribute(attributes, key), value, `resource ${key}`);
}

// ---- traces ----------------------------------------------------------------------------------

/** Two spans of one trace (a server span and its client child), flushed through `exporter`. */
export async function sendSpans(exporter: SpanExporter): Promise<void> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 })],
  });
  const tracer = provider.getTracer('shop.http', '1.2.3');
  const parent = tracer.startSpan('GET /cart', {
    kind: ApiSpanKind.SERVER,
    startTime: [1_700_000_000, 123_456_789],
    attributes: {
      'http.request.method': 'GET',
      'url.path': '/cart',
      'http.response.status_code': 200,
      'retry.ratio': 0.25,
      'cache.hit': true,
      'cart.items': ['apple', 'pear'],
    },
  });
  const child = tracer.startSpan(
    'SELECT carts',
    { kind: ApiSpanKind.CLIENT, startTime: [1_700_000_000, 200_000_001], attributes: { 'db.system.name': 'postgresql' } },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.addEvent('rows fetched', { 'db.response.returned_rows': 3 }, [1_700_000_000, 300_000_007]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  child.end([1_700_000_000, 400_000_003]);
  parent.end([1_700_000_000, 987_654_321]);
  await provider.forceFlush();
  await provider.shutdown();
}

/** Checks what the receiver handed on for sendSpans, whatever the transport. */
export function assertSpans(batches: TracesData[]): void {
  const resourceSpans = batches.flatMap((b) => b.resourceSpans);
  assert.equal(resourceSpans.length, 1);
  const rs = resourceSpans[0]!;
  assertResource(rs.resource.attributes);
  assert.equal(rs.scopeSpans.length, 1);
  const ss = rs.scopeSpans[0]!;
  assert.equal(ss.scope?.name, 'shop.http');
  assert.equal(ss.scope?.version, '1.2.3');
  assert.equal(ss.spans.length, 2);
  const parent = ss.spans.find((s) => s.name === 'GET /cart');
  const child = ss.spans.find((s) => s.name === 'SELECT carts');
  assert.ok(parent && child, 'both spans arrived');

  assert.match(parent.traceId, /^[0-9a-f]{32}$/);
  assert.match(parent.spanId, /^[0-9a-f]{16}$/);
  assert.ok(!parent.parentSpanId, 'the server span is a root');
  assert.equal(parent.kind, SpanKind.SERVER);
  assert.equal(parent.startTimeUnixNano, 1_700_000_000_123_456_789n);
  assert.equal(parent.endTimeUnixNano, 1_700_000_000_987_654_321n);
  assert.equal(getAttribute(parent.attributes, 'http.request.method'), 'GET');
  assert.equal(getAttribute(parent.attributes, 'url.path'), '/cart');
  assert.equal(getAttribute(parent.attributes, 'http.response.status_code'), 200n);
  assert.equal(getAttribute(parent.attributes, 'retry.ratio'), 0.25);
  assert.equal(getAttribute(parent.attributes, 'cache.hit'), true);
  assert.deepEqual(getAttribute(parent.attributes, 'cart.items'), ['apple', 'pear']);
  assert.equal(parent.attributes.length, 6);
  assert.equal(parent.status.code, StatusCode.UNSET);
  assert.deepEqual(parent.events, []);

  assert.equal(child.traceId, parent.traceId);
  assert.equal(child.parentSpanId, parent.spanId);
  assert.notEqual(child.spanId, parent.spanId);
  assert.equal(child.kind, SpanKind.CLIENT);
  assert.equal(child.startTimeUnixNano, 1_700_000_000_200_000_001n);
  assert.equal(child.endTimeUnixNano, 1_700_000_000_400_000_003n);
  assert.deepEqual(child.attributes, [{ key: 'db.system.name', value: { stringValue: 'postgresql' } }]);
  assert.equal(child.events.length, 1);
  assert.equal(child.events[0]!.name, 'rows fetched');
  assert.equal(child.events[0]!.timeUnixNano, 1_700_000_000_300_000_007n);
  assert.deepEqual(child.events[0]!.attributes, [{ key: 'db.response.returned_rows', value: { intValue: 3n } }]);
  assert.equal(child.status.code, StatusCode.ERROR);
  assert.equal(child.status.message, 'deadlock detected');
}

// ---- metrics ---------------------------------------------------------------------------------

/** A counter, a histogram and a gauge, collected once and exported through `exporter`. */
export async function sendMetrics(exporter: PushMetricExporter): Promise<void> {
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
  });
  const meter = provider.getMeter('shop.metrics', '0.9.0');
  const requests = meter.createCounter('http.server.requests', { description: 'Requests served', unit: '{request}', valueType: ValueType.INT });
  requests.add(3, { 'http.request.method': 'GET' });
  requests.add(2, { 'http.request.method': 'POST' });
  const duration = meter.createHistogram('http.server.request.duration', {
    description: 'Request duration',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 1] },
  });
  for (const v of [0.05, 0.5, 2]) duration.record(v, { 'http.request.method': 'GET' });
  meter.createGauge('queue.depth', { valueType: ValueType.INT }).record(7, { queue: 'orders' });
  // Shutdown collects and exports once (a forceFlush first would export a second collection).
  await provider.shutdown();
}

export function assertMetrics(batches: MetricsData[]): void {
  const metrics: Metric[] = [];
  for (const rm of batches.flatMap((b) => b.resourceMetrics)) {
    assertResource(rm.resource.attributes);
    for (const sm of rm.scopeMetrics) {
      assert.equal(sm.scope?.name, 'shop.metrics');
      assert.equal(sm.scope?.version, '0.9.0');
      metrics.push(...sm.metrics);
    }
  }
  const byName = (name: string) => {
    const found = metrics.filter((m) => m.name === name);
    assert.equal(found.length, 1, `one metric ${name}`);
    return found[0]!;
  };

  const requests = byName('http.server.requests');
  assert.equal(requests.description, 'Requests served');
  assert.equal(requests.unit, '{request}');
  assert.equal(requests.data.type, 'sum');
  if (requests.data.type !== 'sum') return;
  assert.equal(requests.data.isMonotonic, true);
  assert.equal(requests.data.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  const points = [...requests.data.dataPoints].sort((a, b) => String(getAttribute(a.attributes, 'http.request.method')).localeCompare(String(getAttribute(b.attributes, 'http.request.method'))));
  assert.deepEqual(
    points.map((p) => [getAttribute(p.attributes, 'http.request.method'), p.asInt, p.asDouble]),
    [
      ['GET', 3n, undefined],
      ['POST', 2n, undefined],
    ],
  );
  for (const p of points) {
    assert.equal(typeof p.timeUnixNano, 'bigint');
    assert.equal(typeof p.startTimeUnixNano, 'bigint');
    assert.ok(p.timeUnixNano >= p.startTimeUnixNano!, 'time after start');
    assert.ok(p.timeUnixNano > 1_600_000_000_000_000_000n, 'a unix time in nanoseconds');
  }

  const duration = byName('http.server.request.duration');
  assert.equal(duration.unit, 's');
  assert.equal(duration.data.type, 'histogram');
  if (duration.data.type !== 'histogram') return;
  assert.equal(duration.data.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  assert.equal(duration.data.dataPoints.length, 1);
  const h = duration.data.dataPoints[0]!;
  assert.equal(h.count, 3);
  assert.equal(h.sum, 2.55);
  assert.deepEqual(h.explicitBounds, [0.1, 1]);
  assert.deepEqual(h.bucketCounts, [1, 1, 1]);
  assert.equal(h.min, 0.05);
  assert.equal(h.max, 2);
  assert.equal(getAttribute(h.attributes, 'http.request.method'), 'GET');

  const depth = byName('queue.depth');
  assert.equal(depth.data.type, 'gauge');
  assert.equal(depth.data.dataPoints.length, 1);
  assert.equal(depth.data.dataPoints[0]!.asInt, 7n);
  assert.equal(getAttribute(depth.data.dataPoints[0]!.attributes, 'queue'), 'orders');
}

// ---- logs ------------------------------------------------------------------------------------

export async function sendLogs(exporter: LogRecordExporter): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(RESOURCE),
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })],
  });
  const logger = provider.getLogger('shop.logs', '3.0.0');
  logger.emit({
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: 'disk almost full',
    attributes: { 'disk.free_bytes': 1024, 'disk.path': '/var' },
    timestamp: [1_700_000_001, 5],
    observedTimestamp: [1_700_000_001, 999],
  });
  logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: { code: 500, reason: 'backend down' }, timestamp: [1_700_000_002, 0] });
  await provider.forceFlush();
  await provider.shutdown();
}

export function assertLogs(batches: LogsData[]): void {
  const resourceLogs = batches.flatMap((b) => b.resourceLogs);
  assert.equal(resourceLogs.length, 1);
  assertResource(resourceLogs[0]!.resource.attributes);
  const scopeLogs = resourceLogs[0]!.scopeLogs;
  assert.equal(scopeLogs.length, 1);
  assert.equal(scopeLogs[0]!.scope?.name, 'shop.logs');
  assert.equal(scopeLogs[0]!.scope?.version, '3.0.0');
  const [warn, error] = scopeLogs[0]!.logRecords;
  assert.ok(warn && error, 'both records arrived');
  assert.equal(warn.severityNumber, SeverityNumber.WARN);
  assert.equal(warn.severityText, 'WARN');
  assert.deepEqual(warn.body, { stringValue: 'disk almost full' });
  assert.equal(warn.timeUnixNano, 1_700_000_001_000_000_005n);
  assert.equal(warn.observedTimeUnixNano, 1_700_000_001_000_000_999n);
  assert.deepEqual(warn.attributes, [
    { key: 'disk.free_bytes', value: { intValue: 1024n } },
    { key: 'disk.path', value: { stringValue: '/var' } },
  ]);
  assert.equal(error.severityNumber, SeverityNumber.ERROR);
  assert.equal(error.timeUnixNano, 1_700_000_002_000_000_000n);
  assert.deepEqual(error.body, {
    kvlistValue: {
      values: [
        { key: 'code', value: { intValue: 500n } },
        { key: 'reason', value: { stringValue: 'backend down' } },
      ],
    },
  });
}
