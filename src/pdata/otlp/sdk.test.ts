// Decodes what the real OpenTelemetry JS SDK puts on the wire (its own OTLP serializers, protobuf
// and JSON) and checks every field, nanosecond timestamps included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, createTraceState, SpanKind, SpanStatusCode, trace, ValueType } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { HrTime } from '@opentelemetry/api';
import type { KeyValue } from '../common.ts';
import type { Metric } from '../metrics.ts';
import { decodeRequest, fromJson } from './index.ts';

const resource = resourceFromAttributes({ 'service.name': 'checkout', 'service.instance.id': 'i-1', 'host.cpu.count': 2 });
const RESOURCE_ATTRS: KeyValue[] = [
  { key: 'service.name', value: { stringValue: 'checkout' } },
  { key: 'service.instance.id', value: { stringValue: 'i-1' } },
  { key: 'host.cpu.count', value: { intValue: 2n } },
];
const nanos = (t: HrTime) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('decoding the OpenTelemetry JS SDK', () => {
  it('traces: ids, kinds, nanosecond times, attributes, events, links, status, flags', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('cart-lib', '2.0.1');
    const parent = tracer.startSpan('GET /cart', {
      kind: SpanKind.SERVER,
      startTime: [1_700_000_000, 123_456_789],
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'app.ratio': 0.25, 'app.flag': true, 'app.tags': ['a', 'b'] },
    });
    const child = tracer.startSpan(
      'SELECT cart',
      {
        kind: SpanKind.CLIENT,
        startTime: [1_700_000_000, 200_000_001],
        links: [
          {
            context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: createTraceState('vendor=v1'), isRemote: true },
            attributes: { 'link.kind': 'follows' },
          },
        ],
      },
      trace.setSpan(context.active(), parent),
    );
    child.addEvent('rows fetched', { 'db.response.returned_rows': 3 }, [1_700_000_000, 250_000_000]);
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
    child.end([1_700_000_000, 300_000_002]);
    parent.end([1_700_000_000, 987_654_321]);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    await provider.shutdown();

    const data = decodeRequest('traces', ProtobufTraceSerializer.serializeRequest(spans)!);
    assert.equal(data.resourceSpans.length, 1);
    const rs = data.resourceSpans[0]!;
    assert.deepStrictEqual(rs.resource, { attributes: RESOURCE_ATTRS });
    assert.equal(rs.scopeSpans.length, 1);
    assert.deepStrictEqual(rs.scopeSpans[0]!.scope, { name: 'cart-lib', version: '2.0.1' });
    const [c, p] = rs.scopeSpans[0]!.spans;
    const traceId = parent.spanContext().traceId;
    assert.deepStrictEqual(c, {
      traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      // sampled, with "parent is local" known (0x100) and not remote.
      flags: 0x101,
      name: 'SELECT cart',
      kind: 3,
      startTimeUnixNano: 1_700_000_000_200_000_001n,
      endTimeUnixNano: 1_700_000_000_300_000_002n,
      attributes: [],
      events: [{ timeUnixNano: 1_700_000_000_250_000_000n, name: 'rows fetched', attributes: [{ key: 'db.response.returned_rows', value: { intValue: 3n } }] }],
      links: [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceState: 'vendor=v1',
          attributes: [{ key: 'link.kind', value: { stringValue: 'follows' } }],
          flags: 0x301,
        },
      ],
      status: { code: 2, message: 'deadlock detected' },
    });
    assert.deepStrictEqual(p, {
      traceId,
      spanId: parent.spanContext().spanId,
      flags: 0x101,
      name: 'GET /cart',
      kind: 2,
      startTimeUnixNano: 1_700_000_000_123_456_789n,
      endTimeUnixNano: 1_700_000_000_987_654_321n,
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.response.status_code', value: { intValue: 200n } },
        { key: 'app.ratio', value: { doubleValue: 0.25 } },
        { key: 'app.flag', value: { boolValue: true } },
        { key: 'app.tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
      ],
      events: [],
      links: [],
      status: { code: 0 },
    });
    // The SDK's OTLP/JSON of the same spans reads back to the same model.
    assert.deepStrictEqual(fromJson('traces', text(JsonTraceSerializer.serializeRequest(spans))), data);
  });

  it('metrics: sum (monotonic and not), gauge, histogram, exponential histogram with the SDK timestamps', async () => {
    const reader = new ManualReader();
    const provider = new MeterProvider({
      resource,
      readers: [reader],
      views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter('cart-lib', '2.0.1');
    const requests = meter.createCounter('app.requests', { description: 'Requests served.', unit: '{request}', valueType: ValueType.INT });
    requests.add(5, { route: '/cart' });
    requests.add(2, { route: '/pay' });
    meter.createUpDownCounter('queue.depth', { valueType: ValueType.DOUBLE }).add(-1.5);
    meter.createGauge('cpu.temperature', { unit: 'Cel' }).record(41.5, { core: 0 });
    const duration = meter.createHistogram('app.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } });
    for (const v of [0.05, 0.5, 2]) duration.record(v, { route: '/cart' });
    const size = meter.createHistogram('payload.size', { unit: 'By' });
    for (const v of [1, 2, 4, 1024]) size.record(v);
    const { resourceMetrics, errors } = await reader.collect();
    assert.deepStrictEqual(errors, []);
    await provider.shutdown();

    const data = decodeRequest('metrics', ProtobufMetricsSerializer.serializeRequest(resourceMetrics as never)!);
    const rm = data.resourceMetrics[0]!;
    assert.deepStrictEqual(rm.resource, { attributes: RESOURCE_ATTRS });
    assert.deepStrictEqual(rm.scopeMetrics[0]!.scope, { name: 'cart-lib', version: '2.0.1' });
    const byName = new Map<string, Metric>(rm.scopeMetrics[0]!.metrics.map((m) => [m.name, m]));
    const sdkPoints = new Map(resourceMetrics.scopeMetrics[0]!.metrics.map((m) => [m.descriptor.name, m.dataPoints]));
    const times = (name: string, i = 0) => {
      const point = sdkPoints.get(name)![i]!;
      return { startTimeUnixNano: nanos(point.startTime), timeUnixNano: nanos(point.endTime) };
    };
    const route = (r: string) => [{ key: 'route', value: { stringValue: r } }];

    assert.deepStrictEqual(byName.get('app.requests'), {
      name: 'app.requests',
      description: 'Requests served.',
      unit: '{request}',
      data: {
        type: 'sum',
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [
          { attributes: route('/cart'), ...times('app.requests', 0), asInt: 5n },
          { attributes: route('/pay'), ...times('app.requests', 1), asInt: 2n },
        ],
      },
    });
    assert.deepStrictEqual(byName.get('queue.depth'), {
      name: 'queue.depth',
      data: { type: 'sum', aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ attributes: [], ...times('queue.depth'), asDouble: -1.5 }] },
    });
    assert.deepStrictEqual(byName.get('cpu.temperature'), {
      name: 'cpu.temperature',
      unit: 'Cel',
      data: { type: 'gauge', dataPoints: [{ attributes: [{ key: 'core', value: { intValue: 0n } }], ...times('cpu.temperature'), asDouble: 41.5 }] },
    });
    assert.deepStrictEqual(byName.get('app.duration'), {
      name: 'app.duration',
      unit: 's',
      data: {
        type: 'histogram',
        aggregationTemporality: 2,
        dataPoints: [
          { attributes: route('/cart'), ...times('app.duration'), count: 3, sum: 2.55, bucketCounts: [1, 1, 1], explicitBounds: [0.1, 1], min: 0.05, max: 2 },
        ],
      },
    });
    const exp = byName.get('payload.size')!;
    assert.equal(exp.data.type, 'exponentialHistogram');
    assert.equal(exp.data.aggregationTemporality, 2);
    const ep = exp.data.dataPoints[0]!;
    const sdkExp = sdkPoints.get('payload.size')![0]!.value as { scale: number; positive: { offset: number; bucketCounts: number[] }; zeroCount: number };
    assert.deepStrictEqual(ep, {
      attributes: [],
      ...times('payload.size'),
      count: 4,
      sum: 1031,
      scale: sdkExp.scale,
      zeroCount: 0,
      positive: { offset: sdkExp.positive.offset, bucketCounts: sdkExp.positive.bucketCounts },
      negative: { offset: 0, bucketCounts: [] },
      min: 1,
      max: 1024,
    });
    assert.equal(
      ep.positive.bucketCounts.reduce((a, b) => a + b, 0),
      4,
    );
    assert.deepStrictEqual(fromJson('metrics', text(JsonMetricsSerializer.serializeRequest(resourceMetrics as never))), data);
  });

  it('logs: times, severity, body, attributes, event name and the span context', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('cart-lib', '2.0.1');
    const spanContext = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: 1, isRemote: false };
    logger.emit({
      timestamp: [1_700_000_001, 5],
      observedTimestamp: [1_700_000_001, 999_999_999],
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      eventName: 'cart.slow',
      body: { message: 'cart is slow', items: 4 },
      attributes: { 'cart.items': 4, 'cart.total': 12.5 },
      context: trace.setSpanContext(context.active(), spanContext),
    });
    logger.emit({ timestamp: [1_700_000_002, 0], body: 'plain' });
    await provider.forceFlush();
    const records = exporter.getFinishedLogRecords();
    await provider.shutdown();

    const data = decodeRequest('logs', ProtobufLogsSerializer.serializeRequest(records)!);
    const rl = data.resourceLogs[0]!;
    assert.deepStrictEqual(rl.resource, { attributes: RESOURCE_ATTRS });
    assert.deepStrictEqual(rl.scopeLogs[0]!.scope, { name: 'cart-lib', version: '2.0.1' });
    const [first, second] = rl.scopeLogs[0]!.logRecords;
    assert.deepStrictEqual(first, {
      timeUnixNano: 1_700_000_001_000_000_005n,
      observedTimeUnixNano: 1_700_000_001_999_999_999n,
      severityNumber: 13,
      severityText: 'WARN',
      eventName: 'cart.slow',
      body: {
        kvlistValue: {
          values: [
            { key: 'message', value: { stringValue: 'cart is slow' } },
            { key: 'items', value: { intValue: 4n } },
          ],
        },
      },
      attributes: [
        { key: 'cart.items', value: { intValue: 4n } },
        { key: 'cart.total', value: { doubleValue: 12.5 } },
      ],
      flags: 1,
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    });
    assert.equal(second!.timeUnixNano, 1_700_000_002_000_000_000n);
    assert.equal(second!.observedTimeUnixNano, nanos(records[1]!.hrTimeObserved));
    assert.deepStrictEqual(second!.body, { stringValue: 'plain' });
    assert.deepStrictEqual(fromJson('logs', text(JsonLogsSerializer.serializeRequest(records))), data);
  });
});
