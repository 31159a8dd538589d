import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { attributes, getAttribute, type KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type HistogramDataPoint, type Metric, type MetricsData, type NumberDataPoint } from '../../src/pdata/metrics.ts';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../src/pdata/traces.ts';
import { recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { configSchema } from './config.ts';
import { type ConnectionGraphConnector, localRole } from './connections.ts';
import { servicegraphFactory } from './factory.ts';
import type { SpanGraphConnector } from './spans.ts';

const MS = 1_000_000n;
const T = 1_700_000_000_000n * MS;

function span(o: { trace?: string; id: string; parent?: string; kind: SpanKind; ms: number; status?: StatusCode; attrs?: Record<string, string | number> }): Span {
  return { traceId: o.trace ?? 'aa'.repeat(16), spanId: o.id.padStart(16, '0'), ...(o.parent && { parentSpanId: o.parent.padStart(16, '0') }), name: 'op', kind: o.kind, startTimeUnixNano: T, endTimeUnixNano: T + BigInt(o.ms) * MS, attributes: attributes(o.attrs ?? {}), events: [], links: [], status: { code: o.status ?? StatusCode.UNSET } };
}

function res(resource: Record<string, string>, spans: Span[]) {
  return { resource: { attributes: attributes(resource) }, scopeSpans: [{ spans }] };
}

function spansConnector(config: Record<string, unknown> = {}) {
  const telemetry = recordingTelemetry();
  const sink = new SinkConsumer<'metrics'>();
  const c = servicegraphFactory.create.traces!.metrics!(testSettings('servicegraph', 'connector', 'traces', { telemetry }), configSchema.parse({ metrics_flush_interval: '1h', ...config }), sink) as SpanGraphConnector;
  return { c, sink, telemetry };
}

function metric(out: MetricsData | undefined, name: string): Metric | undefined {
  return out?.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).find((m) => m.name === name);
}

function labels(attrs: KeyValue[], keys: string[]): string {
  return keys.map((k) => `${k}=${String(getAttribute(attrs, k))}`).join(',');
}

const pts = (m: Metric | undefined) => (m?.data.dataPoints ?? []) as (NumberDataPoint & HistogramDataPoint)[];

describe('servicegraph connector: spans', () => {
  it('pairs a client span and the server span it is parent of, either order, and counts the edge with latencies', async () => {
    const { c, sink, telemetry } = spansConnector({ dimensions: ['k8s.pod.name'] });
    await c.consume({ resourceSpans: [
      res({ 'service.name': 'frontend', 'k8s.pod.name': 'web-1' }, [span({ id: 'c1', kind: SpanKind.CLIENT, ms: 30 })]),
      res({ 'service.name': 'cart', 'k8s.pod.name': 'cart-7' }, [span({ id: 's1', parent: 'c1', kind: SpanKind.SERVER, ms: 20 })]),
    ] });
    // Server first, client in a later batch.
    await c.consume({ resourceSpans: [res({ 'service.name': 'cart', 'k8s.pod.name': 'cart-7' }, [span({ trace: 'bb'.repeat(16), id: 's2', parent: 'c2', kind: SpanKind.SERVER, ms: 3, status: StatusCode.ERROR })])] });
    await c.consume({ resourceSpans: [res({ 'service.name': 'frontend', 'k8s.pod.name': 'web-1' }, [span({ trace: 'bb'.repeat(16), id: 'c2', kind: SpanKind.CLIENT, ms: 4 })])] });
    await c.flush();
    const out = sink.received[0]!;
    assert.equal(out.resourceMetrics[0]!.scopeMetrics[0]!.scope?.name, 'traces_service_graph');
    const keys = ['client', 'server', 'connection_type', 'failed', 'client_k8s.pod.name', 'server_k8s.pod.name'];
    const total = metric(out, 'traces_service_graph_request_total')!;
    assert.ok(total.data.type === 'sum' && total.data.isMonotonic && total.data.aggregationTemporality === AggregationTemporality.CUMULATIVE);
    assert.deepEqual(pts(total).map((p) => [labels(p.attributes, keys), p.asInt]), [
      ['client=frontend,server=cart,connection_type=,failed=false,client_k8s.pod.name=web-1,server_k8s.pod.name=cart-7', 1n],
      ['client=frontend,server=cart,connection_type=,failed=true,client_k8s.pod.name=web-1,server_k8s.pod.name=cart-7', 1n],
    ]);
    assert.deepEqual(pts(metric(out, 'traces_service_graph_request_failed_total')).map((p) => [getAttribute(p.attributes, 'failed'), p.asInt]), [[true, 1n]]);
    const server = metric(out, 'traces_service_graph_request_server')!;
    assert.equal(server.unit, 's');
    const [ok, bad] = pts(server);
    assert.deepEqual(ok!.explicitBounds, [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15]);
    assert.deepEqual([ok!.count, ok!.sum, ok!.bucketCounts.indexOf(1)], [1, 0.02, 5]);
    assert.deepEqual([bad!.count, bad!.sum, bad!.bucketCounts.indexOf(1)], [1, 0.003, 1]);
    const client = pts(metric(out, 'traces_service_graph_request_client'));
    assert.deepEqual(client.map((p) => p.sum), [0.03, 0.004]);
    assert.equal(telemetry.counters.get('connector_servicegraph_total_edges'), 2);
  });

  it('a database client span makes the edge at once; sizes become bytes', async () => {
    const { c, sink } = spansConnector();
    await c.consume({ resourceSpans: [res({ 'service.name': 'cart' }, [
      span({ id: 'd1', kind: SpanKind.CLIENT, ms: 5, attrs: { 'db.name': 'orders' } }),
      span({ id: 'h1', kind: SpanKind.CLIENT, ms: 5, attrs: { 'http.request.body.size': 120, 'http.response.body.size': 2048 } }),
    ]), res({ 'service.name': 'api' }, [span({ id: 'h2', parent: 'h1', kind: SpanKind.SERVER, ms: 4 })])] });
    await c.flush();
    const out = sink.received[0]!;
    assert.deepEqual(pts(metric(out, 'traces_service_graph_request_total')).map((p) => labels(p.attributes, ['client', 'server', 'connection_type'])), ['client=cart,server=orders,connection_type=database', 'client=cart,server=api,connection_type=']);
    assert.deepEqual(pts(metric(out, 'traces_service_graph_request_bytes')).map((p) => [getAttribute(p.attributes, 'server'), p.asInt]), [['api', 120n]]);
    assert.deepEqual(pts(metric(out, 'traces_service_graph_response_bytes')).map((p) => p.asInt), [2048n]);
    assert.equal(metric(out, 'traces_service_graph_request_bytes')!.unit, 'By');
  });

  it('unpaired spans expire into virtual nodes: peer attributes name the server, a root server span gets "user" or its peer', async () => {
    const { c, sink, telemetry } = spansConnector({ store: { ttl: '1ms' }, virtual_node_extra_label: true, dimensions: ['k8s.pod.name'] });
    await c.consume({ resourceSpans: [
      res({ 'service.name': 'web', 'k8s.pod.name': 'web-1' }, [span({ id: 'c9', kind: SpanKind.CLIENT, ms: 2, attrs: { 'peer.service': 'payments', 'peer.k8s.pod.name': 'pay-0' } })]),
      res({ 'service.name': 'api', 'k8s.pod.name': 'api-1' }, [span({ id: 's9', kind: SpanKind.SERVER, ms: 2, attrs: { 'peer.service': 'web', 'peer.k8s.pod.name': 'web-1' } }), span({ id: 's8', parent: 'ff', kind: SpanKind.SERVER, ms: 2 })]),
    ] });
    await sleep(10);
    c.expire();
    await c.flush();
    const keys = ['client', 'server', 'connection_type', 'virtual_node', 'client_k8s.pod.name', 'server_k8s.pod.name'];
    assert.deepEqual(pts(metric(sink.received[0], 'traces_service_graph_request_total')).map((p) => labels(p.attributes, keys)).sort(), [
      'client=user,server=api,connection_type=virtual_node,virtual_node=client,client_k8s.pod.name=web-1,server_k8s.pod.name=api-1',
      'client=web,server=payments,connection_type=virtual_node,virtual_node=server,client_k8s.pod.name=web-1,server_k8s.pod.name=pay-0',
    ], 'a server span whose parent never came is not counted, as in the Collector');
    assert.equal(telemetry.counters.get('connector_servicegraph_expired_edges'), 3);

    const named = spansConnector({ store: { ttl: '1ms' }, virtual_client_peer_attributes: ['peer.service'] });
    await named.c.consume({ resourceSpans: [res({ 'service.name': 'api' }, [span({ id: 's9', kind: SpanKind.SERVER, ms: 2, attrs: { 'peer.service': 'web' } })])] });
    await sleep(10);
    named.c.expire();
    await named.c.flush();
    assert.deepEqual(pts(metric(named.sink.received[0], 'traces_service_graph_request_total')).map((p) => labels(p.attributes, ['client', 'server'])), ['client=web,server=api']);
  });

  it('a full store drops new spans, counted; spans without service.name are ignored', async () => {
    const { c, telemetry } = spansConnector({ store: { max_items: 2, ttl: '1h' } });
    await c.consume({ resourceSpans: [res({ 'service.name': 'w' }, ['1', '2', '3', '4'].map((id) => span({ id, kind: SpanKind.CLIENT, ms: 1 }))), res({}, [span({ id: '5', kind: SpanKind.CLIENT, ms: 1 })])] });
    assert.equal(telemetry.counters.get('connector_servicegraph_dropped_spans'), 2);
    assert.equal(telemetry.counters.get('connector_servicegraph_total_edges'), 2);
  });

  it('caps series: new edges beyond aggregation_cardinality_limit go to the overflow series', async () => {
    const { c, sink, telemetry } = spansConnector({ aggregation_cardinality_limit: 1 });
    await c.consume({ resourceSpans: [res({ 'service.name': 'c' }, [1, 2].map((i) => span({ id: `${i}`, kind: SpanKind.CLIENT, ms: 1, attrs: { 'db.name': `db${i}` } })))] });
    await c.flush();
    assert.deepEqual(pts(metric(sink.received[0], 'traces_service_graph_request_total')).map((p) => [getAttribute(p.attributes, 'server') ?? getAttribute(p.attributes, 'otel.metric.overflow'), p.asInt]), [['db1', 1n], [true, 1n]]);
    assert.equal(telemetry.counters.get('connector_servicegraph_overflow_points'), 3);
  });

  it('metrics_flush_interval 0 sends after every batch', async () => {
    const { c, sink } = spansConnector({ metrics_flush_interval: '0' });
    await c.consume({ resourceSpans: [res({ 'service.name': 'c' }, [span({ id: '1', kind: SpanKind.CLIENT, ms: 1, attrs: { 'db.name': 'x' } })])] });
    assert.equal(sink.received.length, 1);
  });

  it('config errors name their key', () => {
    const issues = (c: unknown) => { const r = configSchema.safeParse(c); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    assert.deepEqual(issues({ exponential_histogram_max_size: 160 }), ['exponential_histogram_max_size: expected 0: bpfcol offers explicit latency buckets only']);
    assert.deepEqual(issues({ latency_histogram_buckets: ['soon'] }), ['latency_histogram_buckets.0: expected a duration like 10ms, got "soon"']);
    assert.deepEqual(issues({ store: { ttl: 'x' } }), ['store.ttl: expected a duration like 10s, got "x"']);
    assert.deepEqual(configSchema.parse({ latency_histogram_buckets: ['100ms', '1s'] }).latency_histogram_buckets, [0.1, 1]);
  });
});

describe('servicegraph connector: connections', () => {
  const start = () => BigInt(Date.now()) * MS + 1000n * MS; // after the connector started: counted in full
  function sums(name: string, points: [Record<string, string | number>, number][], time: bigint, s: bigint): Metric {
    return { name, data: { type: 'sum', aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: true, dataPoints: points.map(([a, v]) => ({ attributes: attributes(a), startTimeUnixNano: s, timeUnixNano: time, asInt: BigInt(v) })) } };
  }
  // What tcp_drop + k8s_metadata give for one connection web-1 -> api-1:80 seen from both sockets.
  const clientSock = { 'network.local.address': '10.0.0.1', 'network.peer.address': '10.0.0.2', 'network.peer.port': 80, 'process.pid': 11, 'service.name': 'web', 'k8s.pod.name': 'web-1', 'peer.service': 'api', 'peer.k8s.pod.name': 'api-1' };
  const serverSock = { 'network.local.address': '10.0.0.2', 'network.local.port': 80, 'network.peer.address': '10.0.0.1', 'process.pid': 22, 'service.name': 'api', 'k8s.pod.name': 'api-1', 'peer.service': 'web', 'peer.k8s.pod.name': 'web-1' };

  it('folds per-socket series into edges client -> server with pod pairs, reporter, drops with reason, bytes by direction', async () => {
    const sink = new SinkConsumer<'metrics'>();
    const c = servicegraphFactory.create.metrics!.metrics!(testSettings('servicegraph', 'connector', 'metrics'), configSchema.parse({ metrics_flush_interval: '1h', dimensions: ['k8s.pod.name'] }), sink) as ConnectionGraphConnector;
    const s = start();
    const batch = (t: bigint, opened: number, drops: number): MetricsData => ({ resourceMetrics: [{ resource: { attributes: attributes({ 'host.name': 'n1' }) }, scopeMetrics: [{ scope: { name: 'bpfcol/receiver/tcp_drop' }, metrics: [
      sums('tcp.connections.opened', [[clientSock, opened], [serverSock, opened]], t, s),
      sums('tcp.bytes.sent', [[clientSock, 100 * opened], [serverSock, 1000 * opened]], t, s),
      sums('tcp.bytes.received', [[clientSock, 1000 * opened], [serverSock, 100 * opened]], t, s),
      sums('tcp.drops', [[{ ...clientSock, 'tcp.drop.reason': 'TCP_INVALID_SEQUENCE' }, drops]], t, s),
      sums('tcp.unrelated', [[clientSock, 1]], t, s),
    ] }] }] });
    await c.consume(batch(s + 1000n * MS, 3, 2));
    await c.consume(batch(s + 2000n * MS, 5, 2));
    await c.flush();
    const out = sink.received[0]!;
    assert.equal(out.resourceMetrics[0]!.scopeMetrics[0]!.scope?.name, 'tcp_service_graph');
    const keys = ['client', 'server', 'reporter', 'client_k8s.pod.name', 'server_k8s.pod.name'];
    const edge = (m: string) => pts(metric(out, m)).map((p) => [labels(p.attributes, keys), p.asInt]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const both = (v: bigint) => [['client=web,server=api,reporter=client,client_k8s.pod.name=web-1,server_k8s.pod.name=api-1', v], ['client=web,server=api,reporter=server,client_k8s.pod.name=web-1,server_k8s.pod.name=api-1', v]];
    assert.deepEqual(edge('tcp_service_graph_connections_total'), both(5n));
    assert.deepEqual(edge('tcp_service_graph_request_bytes_total'), both(500n));
    assert.deepEqual(edge('tcp_service_graph_response_bytes_total'), both(5000n));
    const drops = pts(metric(out, 'tcp_service_graph_drops_total'));
    assert.deepEqual(drops.map((p) => [labels(p.attributes, [...keys, 'tcp.drop.reason']), p.asInt]), [['client=web,server=api,reporter=client,client_k8s.pod.name=web-1,server_k8s.pod.name=api-1,tcp.drop.reason=TCP_INVALID_SEQUENCE', 2n]]);
    assert.equal(metric(out, 'tcp_service_graph_request_bytes_total')!.unit, 'By');
    assert.equal(out.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((x) => x.metrics)).length, 4, 'metrics it does not know are not turned into edges');
  });

  it('rtt histograms merge per edge', async () => {
    const sink = new SinkConsumer<'metrics'>();
    const c = servicegraphFactory.create.metrics!.metrics!(testSettings('servicegraph', 'connector', 'metrics'), configSchema.parse({ metrics_flush_interval: '1h' }), sink) as ConnectionGraphConnector;
    const s = start();
    const h = (pid: number, b: number[]): HistogramDataPoint => ({ attributes: attributes({ ...clientSock, 'process.pid': pid }), startTimeUnixNano: s, timeUnixNano: s + MS, count: b.reduce((x, y) => x + y, 0), sum: 0.01, bucketCounts: b, explicitBounds: [0.001, 0.002] });
    await c.consume({ resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [{ name: 'tcp.rtt', unit: 's', data: { type: 'histogram', aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [h(1, [1, 0, 0]), h(2, [0, 2, 1])] } }] }] }] });
    await c.flush();
    const [p] = pts(metric(sink.received[0], 'tcp_service_graph_rtt'));
    assert.deepEqual([p!.bucketCounts, p!.count, p!.sum, getAttribute(p!.attributes, 'client'), getAttribute(p!.attributes, 'server')], [[1, 2, 1], 4, 0.02, 'web', 'api']);
  });

  it('tells client from server by the folded port, server_ports, or the lower port', () => {
    const none = new Set<number>();
    assert.equal(localRole(undefined, 80, none), 'client');
    assert.equal(localRole(80, undefined, none), 'server');
    assert.equal(localRole(40000, 45000, none), 'server');
    assert.equal(localRole(40000, 45000, new Set([45000])), 'client');
    assert.equal(localRole(undefined, undefined, none), 'client');
  });
});
