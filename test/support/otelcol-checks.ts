// Checks of what a real Collector wrote after an exporter sent it the samples of
// test/fixtures/pdata-samples.ts: the raw JSON fields first (hex ids, nanosecond timestamps as
// decimal strings, attributes, resource), then the whole decoded batch against what was sent.
import assert from 'node:assert/strict';
import { LINK_SPAN_ID, LINK_TRACE_ID, PARENT_ID, SPAN_ID, T0, TRACE_ID } from '../fixtures/pdata-samples.ts';
import type { OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { asCollectorWrites, type OtelcolPeer, waitForTagged } from './otelcol.ts';

type Json = any;

function attr(list: Json[], key: string): Json {
  const found = list.find((a: Json) => a.key === key);
  assert.ok(found, `attribute ${key} is missing`);
  return found.value;
}

function checkResource(resource: Json, name: string): void {
  assert.deepStrictEqual(attr(resource.attributes, 'service.name'), { stringValue: 'checkout' });
  assert.deepStrictEqual(attr(resource.attributes, 'host.cpu.count'), { intValue: '2' });
  assert.deepStrictEqual(attr(resource.attributes, 'test.case'), { stringValue: name });
}

function checkTraces(json: Json, name: string): void {
  const rs = json.resourceSpans[0];
  checkResource(rs.resource, name);
  assert.equal(rs.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
  const ss = rs.scopeSpans[0];
  assert.deepStrictEqual(ss.scope.name, 'io.bpfcol.test');
  const span = ss.spans[0];
  assert.equal(span.traceId, TRACE_ID);
  assert.equal(span.spanId, SPAN_ID);
  assert.equal(span.parentSpanId, PARENT_ID);
  assert.equal(span.traceState, 'vendor=value');
  assert.equal(span.flags, 0x301);
  assert.equal(span.name, 'GET /cart');
  assert.equal(span.kind, 2);
  assert.equal(span.startTimeUnixNano, T0.toString());
  assert.equal(span.endTimeUnixNano, (T0 + 987_654_321n).toString());
  assert.deepStrictEqual(attr(span.attributes, 'int.min'), { intValue: '-9223372036854775808' });
  assert.deepStrictEqual(attr(span.attributes, 'bytes'), { bytesValue: 'AAH+/w==' });
  assert.deepStrictEqual(attr(span.attributes, 'double'), { doubleValue: 0.1 });
  assert.equal(span.events[0].timeUnixNano, (T0 + 1n).toString());
  assert.equal(span.links[0].traceId, LINK_TRACE_ID);
  assert.equal(span.links[0].spanId, LINK_SPAN_ID);
  assert.deepStrictEqual(span.status, { message: 'deadlock detected', code: 2 });
  assert.equal(ss.spans[1].endTimeUnixNano, '18446744073709551615');
}

function checkMetrics(json: Json, name: string): void {
  const rm = json.resourceMetrics[0];
  checkResource(rm.resource, name);
  const metrics: Json[] = rm.scopeMetrics[0].metrics;
  const byName = (n: string) => metrics.find((m) => m.name === n);
  const sum = byName('app.requests');
  assert.equal(sum.unit, '{request}');
  assert.equal(sum.sum.aggregationTemporality, 2);
  assert.equal(sum.sum.isMonotonic, true);
  assert.equal(sum.sum.dataPoints[0].asInt, '9007199254740993');
  assert.equal(sum.sum.dataPoints[0].startTimeUnixNano, T0.toString());
  assert.equal(sum.sum.dataPoints[0].timeUnixNano, (T0 + 10n).toString());
  assert.deepStrictEqual(attr(sum.sum.dataPoints[0].attributes, 'route'), { stringValue: '/cart' });
  assert.equal(sum.sum.dataPoints[0].exemplars[0].traceId, TRACE_ID);
  const gauge = byName('cpu.temperature');
  assert.equal(gauge.gauge.dataPoints[0].asDouble, 0);
  assert.equal(gauge.gauge.dataPoints[1].asInt, '-42');
  const histogram = byName('http.server.request.duration').histogram;
  assert.equal(histogram.aggregationTemporality, 2);
  assert.equal(histogram.dataPoints[0].count, '6');
  assert.deepStrictEqual(histogram.dataPoints[0].bucketCounts, ['1', '0', '5']);
  assert.deepStrictEqual(histogram.dataPoints[0].explicitBounds, [0.1, 1]);
  assert.equal(histogram.dataPoints[0].min, 0.05);
  assert.equal(histogram.dataPoints[0].max, 2);
  const exponential = byName('payload.size').exponentialHistogram;
  assert.equal(exponential.dataPoints[0].scale, -2);
  assert.deepStrictEqual(exponential.dataPoints[0].positive, { offset: -3, bucketCounts: ['1', '2', '3'] });
  assert.deepStrictEqual(byName('rpc.latency').summary.dataPoints[0].quantileValues[1], { quantile: 0.99, value: 30 });
}

function checkLogs(json: Json, name: string): void {
  const rl = json.resourceLogs[0];
  checkResource(rl.resource, name);
  const record = rl.scopeLogs[0].logRecords[0];
  assert.equal(record.timeUnixNano, T0.toString());
  assert.equal(record.observedTimeUnixNano, (T0 + 1n).toString());
  assert.equal(record.severityNumber, 13);
  assert.equal(record.severityText, 'WARN');
  assert.equal(record.traceId, TRACE_ID);
  assert.equal(record.spanId, SPAN_ID);
  assert.equal(record.eventName, 'cart.slow');
  assert.equal(record.flags, 1);
  assert.deepStrictEqual(attr(record.attributes, 'cart.items'), { intValue: '4' });
  assert.deepStrictEqual(attr(record.body.kvlistValue.values, 'str'), { stringValue: 'héllo "quoted"' });
}

const CHECKS: Record<OtlpSignal, (json: Json, name: string) => void> = { traces: checkTraces, metrics: checkMetrics, logs: checkLogs };

/** Waits for what the Collector wrote for `sent` (tagged `name`) and checks it field by field. */
export async function assertCollectorWrote<S extends OtlpSignal>(peer: OtelcolPeer, signal: S, name: string, sent: SignalData[S]): Promise<void> {
  const { line, data } = await waitForTagged(peer, signal, name);
  CHECKS[signal](JSON.parse(line), name);
  assert.deepStrictEqual(data, asCollectorWrites(signal, sent));
}
