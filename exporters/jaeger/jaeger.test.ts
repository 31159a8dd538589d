// The jaeger exporter: its config, the OTLP -> Jaeger model mapping, and what a real
// OpenTelemetry Collector (otlp receiver and contrib's jaeger receiver) and a real Jaeger v2
// receive over each protocol, compared span by span.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Host } from '../../src/component/component.ts';
import { fromAnyValue, type KeyValue } from '../../src/pdata/common.ts';
import type { Span, TracesData } from '../../src/pdata/traces.ts';
import { LINK_SPAN_ID, LINK_TRACE_ID, PARENT_ID, sampleTraces, SPAN_ID, T0, TRACE_ID } from '../../test/fixtures/pdata-samples.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { assertCollectorWrote } from '../../test/support/otelcol-checks.ts';
import { type JaegerPeer, startJaeger } from '../../test/support/jaeger.ts';
import { type OtelcolPeer, startOtelcol, tagged, waitForTagged } from '../../test/support/otelcol.ts';
import { numberedSpans, spanIds } from '../../test/support/spans.ts';
import { jaegerConfigSchema, validateJaegerConfig } from './config.ts';
import { jaegerFactory } from './factory.ts';
import { idPart, toJaegerBatches, valueAsString } from './model.ts';

const host: Host = { getExtension: () => undefined };

async function exportOnce(config: Record<string, unknown>, data: TracesData): Promise<void> {
  const exporter = jaegerFactory.create.traces!(testSettings('jaeger', 'exporter', 'traces'), jaegerConfigSchema.parse(config));
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

const attrs = (list: KeyValue[]) => Object.fromEntries(list.map((a) => [a.key, fromAnyValue(a.value)]));
const truncMicros = (ns: bigint) => (ns / 1000n) * 1000n;

describe('jaeger config', () => {
  it('defaults to OTLP gRPC on Jaeger\'s port, in plain text', () => {
    const config = jaegerConfigSchema.parse({});
    assert.equal(config.protocol, 'otlp_grpc');
    assert.equal(config.endpoint, undefined);
    assert.equal(config.tls.insecure, true);
    assert.equal(config.timeout, 5000);
    assert.deepEqual(validateJaegerConfig(config), []);
  });

  it('says what is wrong, per protocol', () => {
    const issues = (input: unknown) => jaegerConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(issues({ protocol: 'thrift_udp' }), ['protocol: expected otlp_grpc, otlp_http or thrift_http, got "thrift_udp"']);
    assert.deepEqual(issues({ compression: 'zstd' }), ['compression: expected gzip or none, got "zstd"']);
    assert.deepEqual(validateJaegerConfig(jaegerConfigSchema.parse({ endpoint: 'http://jaeger:14268/api/traces' })), [
      'endpoint: expected host:port, got "http://jaeger:14268/api/traces" (protocol otlp_grpc)',
    ]);
    assert.deepEqual(validateJaegerConfig(jaegerConfigSchema.parse({ protocol: 'thrift_http', endpoint: 'jaeger:14268' })), [
      'endpoint: expected a URL like http://host:port, got "jaeger:14268" (protocol thrift_http)',
    ]);
    assert.throws(() => jaegerFactory.create.traces!(testSettings('jaeger', 'exporter', 'traces'), jaegerConfigSchema.parse({ protocol: 'otlp_http', endpoint: 'x' })), /jaeger: endpoint: expected a URL/);
  });
});

describe('jaeger model', () => {
  it('maps spans as the Collector\'s translator: ids, times in µs, kind, status, scope, trace state, events, references', () => {
    const [batch] = toJaegerBatches(sampleTraces());
    assert.equal(batch!.process.serviceName, 'checkout');
    assert.deepEqual(batch!.process.tags, [{ key: 'host.cpu.count', vType: 3, vLong: 2n }]);
    const span = batch!.spans[0]!;
    assert.equal(span.traceIdHigh, idPart(TRACE_ID, 'high'));
    assert.equal(span.traceIdLow, BigInt.asIntN(64, BigInt('0x' + TRACE_ID.slice(16))));
    assert.equal(span.spanId, BigInt.asIntN(64, BigInt('0x' + SPAN_ID)));
    assert.equal(span.parentSpanId, BigInt.asIntN(64, BigInt('0x' + PARENT_ID)));
    assert.equal(span.startTime, T0 / 1000n);
    assert.equal(span.duration, (T0 + 987_654_321n) / 1000n - T0 / 1000n);
    assert.equal(span.flags, 1);
    const tags = Object.fromEntries(span.tags.map((t) => [t.key, 'vStr' in t ? t.vStr : 'vLong' in t ? t.vLong : 'vBool' in t ? t.vBool : 'vDouble' in t ? t.vDouble : 'bytes']));
    assert.equal(tags['otel.scope.name'], 'io.bpfcol.test');
    assert.equal(tags['otel.scope.version'], '1.2.3');
    assert.equal(tags['span.kind'], 'server');
    assert.equal(tags['otel.status_code'], 'ERROR');
    assert.equal(tags['error'], true);
    assert.equal(tags['otel.status_description'], 'deadlock detected');
    assert.equal(tags['w3c.tracestate'], 'vendor=value');
    assert.equal(tags['int.min'], -9_223_372_036_854_775_808n);
    assert.equal(tags['array'], '["a",-1,[]]');
    assert.equal(tags['kvlist'], '{"nested":{"deep":-2.5}}');
    assert.deepEqual(span.references.map((r) => [r.refType, r.spanId]), [
      [0, BigInt.asIntN(64, BigInt('0x' + PARENT_ID))],
      [1, BigInt.asIntN(64, BigInt('0x' + LINK_SPAN_ID))],
    ]);
    assert.deepEqual(span.logs[0]!.fields[0], { key: 'event', vType: 0, vStr: 'exception' });
    assert.equal(valueAsString({ kvlistValue: { values: [{ key: 'b', value: { intValue: 1n } }, { key: 'a', value: { bytesValue: new Uint8Array([255]) } }] } }), '{"a":"/w==","b":1}');
  });

  it('names a resource without attributes as the Collector does', () => {
    const [batch] = toJaegerBatches({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [] }] }] });
    assert.equal(batch!.process.serviceName, 'OTLPResourceNoServiceName');
  });
});

/** What the Collector's jaeger receiver rebuilds from the Thrift batch of sampleTraces()' first span. */
function assertThriftSpan(got: Span): void {
  assert.equal(got.traceId, TRACE_ID);
  assert.equal(got.spanId, SPAN_ID);
  assert.equal(got.parentSpanId, PARENT_ID);
  assert.equal(got.name, 'GET /cart');
  assert.equal(got.kind, 2);
  assert.equal(got.startTimeUnixNano, truncMicros(T0));
  assert.equal(got.endTimeUnixNano, truncMicros(T0 + 987_654_321n));
  assert.deepEqual(got.status, { code: 2, message: 'deadlock detected' });
  const a = attrs(got.attributes);
  assert.deepEqual(
    { ...a, bytes: Buffer.from(a['bytes'] as Uint8Array).toString('hex') },
    {
      'otel.scope.name': 'io.bpfcol.test',
      'otel.scope.version': '1.2.3',
      str: 'héllo "quoted"',
      bool: true,
      'int.max': 9_223_372_036_854_775_807n,
      'int.min': -9_223_372_036_854_775_808n,
      double: 0.1,
      bytes: '0001feff',
      array: '["a",-1,[]]',
      kvlist: '{"nested":{"deep":-2.5}}',
      empty: '',
      'w3c.tracestate': 'vendor=value',
    },
  );
  assert.equal(got.events.length, 1);
  assert.equal(got.events[0]!.name, 'exception');
  assert.equal(got.events[0]!.timeUnixNano, truncMicros(T0 + 1n));
  assert.deepEqual(attrs(got.events[0]!.attributes), { 'exception.type': 'Error' });
  assert.deepEqual(
    got.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) })),
    [{ traceId: LINK_TRACE_ID, spanId: LINK_SPAN_ID, attributes: { 'opentracing.ref_type': 'follows_from' } }],
  );
}

describe('jaeger exporter -> OpenTelemetry Collector (otlp and jaeger receivers)', () => {
  let peer: OtelcolPeer;
  before(async () => {
    peer = await startOtelcol({ jaeger: true });
  });
  after(() => peer?.stop());

  it('otlp_grpc: the Collector writes exactly what was sent', async () => {
    const data = tagged('traces', sampleTraces(), 'jaeger-otlp-grpc');
    await exportOnce({ endpoint: peer.grpcEndpoint }, structuredClone(data));
    await assertCollectorWrote(peer, 'traces', 'jaeger-otlp-grpc', data);
  });

  it('otlp_http: the Collector writes exactly what was sent', async () => {
    const data = tagged('traces', sampleTraces(), 'jaeger-otlp-http');
    await exportOnce({ protocol: 'otlp_http', endpoint: peer.httpUrl }, structuredClone(data));
    await assertCollectorWrote(peer, 'traces', 'jaeger-otlp-http', data);
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`thrift_http (${compression}): the jaeger receiver reads every span as Jaeger's model carries it`, async () => {
      const name = `jaeger-thrift-${compression}`;
      const data = tagged('traces', sampleTraces(), name);
      await exportOnce({ protocol: 'thrift_http', endpoint: peer.jaegerThriftUrl, compression }, structuredClone(data));
      const { data: got } = await waitForTagged(peer, 'traces', name);
      const rs = got.resourceSpans[0]!;
      assert.deepEqual(attrs(rs.resource.attributes), { 'service.name': 'checkout', 'host.cpu.count': 2n, 'test.case': name });
      const spans = rs.scopeSpans.flatMap((s) => s.spans);
      assert.equal(spans.length, 2);
      assertThriftSpan(spans[0]!);
      // The span with every field at its default keeps only its scope, as tags.
      assert.equal(spans[1]!.spanId, PARENT_ID);
      assert.equal(spans[1]!.parentSpanId ?? '', '');
      assert.equal(spans[1]!.kind, 0);
      assert.deepEqual(attrs(spans[1]!.attributes), { 'otel.scope.name': 'io.bpfcol.test', 'otel.scope.version': '1.2.3' });
    });
  }

  it('thrift_http: 3 resources, 600 spans, each found once by id', async () => {
    const batches = [numberedSpans(11, 0, 200, 'thrift-a'), numberedSpans(11, 1, 200, 'thrift-b'), numberedSpans(11, 2, 200, 'thrift-c')];
    const data: TracesData = { resourceSpans: batches.flatMap((b) => b.resourceSpans) };
    await exportOnce({ protocol: 'thrift_http', endpoint: peer.jaegerThriftUrl }, structuredClone(data));
    const written = await peer.waitForItems('traces', 600);
    const got = written.flatMap((d) => d.resourceSpans).filter((r) => /^thrift-[abc]$/.test(String(fromAnyValue(r.resource.attributes[0]!.value))));
    const byId = new Map(got.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).map((s) => [s.spanId, s]));
    assert.equal(byId.size, 600);
    for (const sent of data.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))) {
      const s = byId.get(sent.spanId)!;
      assert.ok(s, sent.spanId);
      assert.equal(s.traceId, sent.traceId);
      assert.equal(s.name, sent.name);
      assert.equal(s.kind, sent.kind);
      assert.equal(s.startTimeUnixNano, truncMicros(sent.startTimeUnixNano));
      assert.equal(s.endTimeUnixNano, truncMicros(sent.endTimeUnixNano));
      assert.deepEqual(attrs(s.attributes), { 'otel.scope.name': 'bpfcol.test', batch: attrs(sent.attributes)['batch'] });
    }
  });
});

describe('jaeger exporter -> Jaeger v2 (query API)', () => {
  let jaeger: JaegerPeer;
  before(async () => {
    jaeger = await startJaeger();
  });
  after(() => jaeger?.stop());

  for (const protocol of ['otlp_grpc', 'otlp_http', 'thrift_http'] as const) {
    it(`${protocol}: /api/services lists the service and /api/traces returns every span`, async () => {
      const service = `bpfcol-${protocol}`;
      const endpoint = protocol === 'otlp_grpc' ? jaeger.otlpGrpcEndpoint : protocol === 'otlp_http' ? jaeger.otlpHttpUrl : jaeger.thriftHttpUrl;
      const now = BigInt(Date.now()) * 1_000_000n;
      const data = numberedSpans(12, 0, 20, service);
      for (const s of data.resourceSpans[0]!.scopeSpans[0]!.spans) {
        s.startTimeUnixNano += now - 1_700_000_000_000_000_000n;
        s.endTimeUnixNano += now - 1_700_000_000_000_000_000n;
      }
      data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.status = { code: 2, message: 'boom' };
      await exportOnce({ protocol, endpoint }, structuredClone(data));
      const traces = await jaeger.waitForTraces(service, (t) => t.reduce((n, x) => n + x.spans.length, 0) >= 20);
      assert.ok((await jaeger.services()).includes(service));
      const spans = traces.flatMap((t) => t.spans);
      assert.deepEqual(spans.map((s) => s.spanID).sort(), spanIds([data]).sort());
      const first = spans.find((s) => s.spanID === spanIds([data])[0])!;
      assert.equal(first.operationName, 'op-0-0');
      assert.equal(first.traceID, data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId);
      assert.equal(first.startTime, Number(data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.startTimeUnixNano / 1000n));
      assert.equal(first.duration, 1000);
      const tags = Object.fromEntries(first.tags.map((t) => [t.key, t.value]));
      assert.equal(tags['span.kind'], 'server');
      assert.equal(tags['error'], true);
      assert.equal(tags['otel.status_description'], 'boom');
      assert.equal(tags['batch'], 0);
    });
  }
});
