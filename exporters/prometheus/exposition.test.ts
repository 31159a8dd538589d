// The exposition text, line by line, for model metrics fed to the exporter (no server needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nopLogger } from '../../src/telemetry/logger.ts';
import { prometheusConfigSchema } from './config.ts';
import { PrometheusExporter } from './exporter.ts';
import { gauge, histogram, metricsData, SECOND, sum, T0 } from './testdata.ts';

function exporter(config: Record<string, unknown> = {}): PrometheusExporter {
  return new PrometheusExporter({ logger: nopLogger }, prometheusConfigSchema.parse(config));
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

// Labels sort by name; the serializer then appends the scope labels.
const RES = 'instance="i-1",job="shop"';
const SCOPE = 'otel_scope_name="test",otel_scope_version="1.0"';
const L = `${RES},${SCOPE}`;

test('gauges, counters and up-down sums with their units', async () => {
  const e = exporter();
  await e.consume(
    metricsData([
      gauge('process.memory.usage', 'By', 1048576, { 'memory.type': 'heap' }),
      gauge('system.cpu.utilization', '1', 0.25),
      sum('bpfcol.test.requests', '{requests}', 42n, { attrs: { 'http.request.method': 'GET' } }),
      sum('http.server.active_requests', '{request}', 3n, { monotonic: false }),
      gauge('rpc.latency.last', 'ms', 12.5),
    ]),
  );
  assert.deepEqual(lines(e.render()), [
    '# HELP target_info Target metadata',
    '# TYPE target_info gauge',
    'target_info{instance="i-1",job="shop"} 1',
    '# HELP bpfcol_test_requests_total description missing',
    '# TYPE bpfcol_test_requests_total counter',
    `bpfcol_test_requests_total{http_request_method="GET",${L}} 42`,
    '# HELP http_server_active_requests description missing',
    '# TYPE http_server_active_requests gauge',
    `http_server_active_requests{${L}} 3`,
    '# HELP process_memory_usage_bytes description missing',
    '# TYPE process_memory_usage_bytes gauge',
    `process_memory_usage_bytes{${RES},memory_type="heap",${SCOPE}} 1048576`,
    '# HELP rpc_latency_last_milliseconds description missing',
    '# TYPE rpc_latency_last_milliseconds gauge',
    `rpc_latency_last_milliseconds{${L}} 12.5`,
    '# HELP system_cpu_utilization_ratio description missing',
    '# TYPE system_cpu_utilization_ratio gauge',
    `system_cpu_utilization_ratio{${L}} 0.25`,
  ]);
});

test('a histogram in seconds becomes _bucket/_sum/_count with cumulative le buckets', async () => {
  const e = exporter();
  const h = histogram('http.server.request.duration', 's', [2, 3, 1, 0], [0.005, 0.1, 1], 1.75, { attrs: { 'http.response.status_code': 200 } });
  h.description = 'Duration of HTTP server requests.';
  await e.consume(metricsData([h]));
  const labels = `http_response_status_code="200",${L}`;
  assert.deepEqual(lines(e.render()).slice(3), [
    '# HELP http_server_request_duration_seconds Duration of HTTP server requests.',
    '# TYPE http_server_request_duration_seconds histogram',
    `http_server_request_duration_seconds_count{${labels}} 6`,
    `http_server_request_duration_seconds_sum{${labels}} 1.75`,
    `http_server_request_duration_seconds_bucket{${labels},le="0.005"} 2`,
    `http_server_request_duration_seconds_bucket{${labels},le="0.1"} 5`,
    `http_server_request_duration_seconds_bucket{${labels},le="1"} 6`,
    `http_server_request_duration_seconds_bucket{${labels},le="+Inf"} 6`,
  ]);
});

test('a summary keeps its quantiles, _sum and _count', async () => {
  const e = exporter();
  await e.consume(
    metricsData([
      {
        name: 'rpc.duration',
        unit: 'ms',
        description: 'RPC "latency"\nsummary',
        data: {
          type: 'summary',
          dataPoints: [
            { attributes: [], timeUnixNano: T0, count: 10, sum: 55.5, quantileValues: [{ quantile: 0.5, value: 4 }, { quantile: 0.99, value: 20 }] },
          ],
        },
      },
    ]),
  );
  assert.deepEqual(lines(e.render()).slice(3), [
    '# HELP rpc_duration_milliseconds RPC "latency"\\nsummary',
    '# TYPE rpc_duration_milliseconds summary',
    `rpc_duration_milliseconds{${L},quantile="0.5"} 4`,
    `rpc_duration_milliseconds{${L},quantile="0.99"} 20`,
    `rpc_duration_milliseconds_sum{${L}} 55.5`,
    `rpc_duration_milliseconds_count{${L}} 10`,
  ]);
});

test('delta sums and histograms add up into cumulative ones; cumulative points replace', async () => {
  const e = exporter();
  const t1 = T0 + 10n * SECOND;
  const t2 = T0 + 20n * SECOND;
  // The name holds the unit word already: no second `_bytes`.
  await e.consume(metricsData([sum('bytes.sent', 'By', 100n, { delta: true, start: T0, time: t1 })]));
  await e.consume(metricsData([sum('bytes.sent', 'By', 50n, { delta: true, start: t1, time: t2 })]));
  await e.consume(metricsData([histogram('wait', 's', [1, 1], [1], 1.5, { delta: true, start: T0, time: t1 })]));
  await e.consume(metricsData([histogram('wait', 's', [0, 2], [1], 4, { delta: true, start: t1, time: t2 })]));
  await e.consume(metricsData([sum('cpu.time', 's', 7n, { time: t1 })]));
  await e.consume(metricsData([sum('cpu.time', 's', 9n, { time: t2 })]));
  const text = e.render();
  assert.ok(text.includes(`\nbytes_sent_total{${L}} 150\n`), text);
  assert.ok(text.includes(`\nwait_seconds_count{${L}} 4\n`), text);
  assert.ok(text.includes(`\nwait_seconds_sum{${L}} 5.5\n`), text);
  assert.ok(text.includes(`\nwait_seconds_bucket{${L},le="1"} 1\n`), text);
  assert.ok(text.includes(`\nwait_seconds_bucket{${L},le="+Inf"} 4\n`), text);
  assert.ok(text.includes(`\ncpu_time_seconds_total{${L}} 9\n`), text);
});

test('a delta after a gap restarts the sum; an overlapping delta and an older point are dropped', async () => {
  const e = exporter();
  const t = (s: number) => T0 + BigInt(s) * SECOND;
  await e.consume(metricsData([sum('drops', '', 10n, { delta: true, start: t(0), time: t(10) })]));
  await e.consume(metricsData([sum('drops', '', 5n, { delta: true, start: t(5), time: t(15) })])); // overlaps 5..10
  assert.match(e.render(), /\ndrops_total\{[^}]*\} 10\n/);
  await e.consume(metricsData([sum('drops', '', 3n, { delta: true, start: t(30), time: t(40) })])); // gap: restart
  assert.match(e.render(), /\ndrops_total\{[^}]*\} 3\n/);
  await e.consume(metricsData([sum('level', '', 8n, { monotonic: false, time: t(50) })]));
  await e.consume(metricsData([sum('level', '', 2n, { monotonic: false, time: t(45) })])); // older
  assert.match(e.render(), /\nlevel\{[^}]*\} 8\n/);
});

test('a cumulative counter that restarts (newer start time, lower value) is replaced', async () => {
  const e = exporter();
  const t = (s: number) => T0 + BigInt(s) * SECOND;
  await e.consume(metricsData([sum('restarts', '', 100n, { start: t(0), time: t(10) })]));
  await e.consume(metricsData([sum('restarts', '', 4n, { start: t(12), time: t(20) })]));
  assert.match(e.render(), /\nrestarts_total\{[^}]*\} 4\n/);
});

test('target_info: job from service.namespace/service.name, instance from service.instance.id, the rest as labels', async () => {
  const e = exporter();
  const resource = {
    'service.name': 'checkout',
    'service.namespace': 'shop',
    'service.instance.id': 'pod-7',
    'host.name': 'node-1',
    'k8s.pod.uid': 'abc',
    'process.pid': 1234,
  };
  await e.consume(metricsData([gauge('g', '', 1)], resource));
  await e.consume(metricsData([gauge('g', '', 2)], { 'host.name': 'node-2' }));
  assert.deepEqual(lines(e.render()).slice(0, 4), [
    '# HELP target_info Target metadata',
    '# TYPE target_info gauge',
    'target_info{host_name="node-1",instance="pod-7",job="shop/checkout",k8s_pod_uid="abc",process_pid="1234"} 1',
    'target_info{host_name="node-2"} 1',
  ]);
  const text = e.render();
  assert.ok(text.includes('\ng{instance="pod-7",job="shop/checkout",otel_scope_name="test",otel_scope_version="1.0"} 1\n'), text);
  assert.ok(text.includes('\ng{otel_scope_name="test",otel_scope_version="1.0"} 2\n'), text);
});

test('namespace, const_labels, send_timestamps and without_scope_info', async () => {
  const e = exporter({ namespace: 'bpfcol', const_labels: { cluster: 'lab' }, send_timestamps: true, without_scope_info: true });
  await e.consume(metricsData([sum('net.drops', '{packet}', 5n, { time: T0 + 1_500_000n })]));
  assert.deepEqual(lines(e.render()), [
    '# HELP bpfcol_target_info Target metadata',
    '# TYPE bpfcol_target_info gauge',
    'bpfcol_target_info{instance="i-1",job="shop"} 1',
    '# HELP bpfcol_net_drops_total description missing',
    '# TYPE bpfcol_net_drops_total counter',
    'bpfcol_net_drops_total{cluster="lab",instance="i-1",job="shop"} 5 1700000000001',
  ]);
});

test('resource_to_telemetry_conversion puts every resource attribute on every series', async () => {
  const e = exporter({ resource_to_telemetry_conversion: { enabled: true } });
  await e.consume(metricsData([gauge('g', '', 1, { 'host.name': 'from-point', a: 'x' })], { 'service.name': 'svc', 'host.name': 'node-1' }));
  const text = e.render();
  assert.ok(
    text.includes('\ng{a="x",host_name="node-1",job="svc",service_name="svc",otel_scope_name="test",otel_scope_version="1.0"} 1\n'),
    text,
  );
});

test('attribute values as text, escaped; colliding label names joined with ;', async () => {
  const e = exporter();
  await e.consume(
    metricsData([
      gauge('g', '', 1, { 'a.b': 'one', a_b: 'two', flag: true, list: ['x', 1n], quote: 'say "hi"\\\n' }),
    ]),
  );
  const text = e.render();
  assert.ok(text.includes(`\ng{a_b="one;two",flag="true",${RES},list="[\\"x\\",1]",quote="say \\"hi\\"\\\\\\n",${SCOPE}} 1\n`), text);
});

test('an exponential histogram is served as a classic histogram at its bucket boundaries', async () => {
  const e = exporter();
  await e.consume(
    metricsData([
      {
        name: 'payload.size',
        unit: 'By',
        data: {
          type: 'exponentialHistogram',
          aggregationTemporality: 2,
          dataPoints: [
            {
              attributes: [],
              timeUnixNano: T0,
              count: 8,
              sum: 100,
              scale: 0,
              zeroCount: 1,
              positive: { offset: 1, bucketCounts: [2, 3] }, // (2,4] and (4,8]
              negative: { offset: 0, bucketCounts: [2] }, // [-2,-1)
            },
          ],
        },
      },
    ]),
  );
  const buckets = lines(e.render()).filter((l) => l.startsWith('payload_size_bytes_bucket'));
  assert.deepEqual(
    buckets.map((l) => l.replace(/\{.*le="([^"]+)"\}/, ' $1')),
    ['payload_size_bytes_bucket -1 2', 'payload_size_bytes_bucket 0 3', 'payload_size_bytes_bucket 4 5', 'payload_size_bytes_bucket 8 8', 'payload_size_bytes_bucket +Inf 8'],
  );
});

test('a point flagged "no recorded value" removes its series; another type under the same name is dropped', async () => {
  const e = exporter();
  await e.consume(metricsData([gauge('temp', 'Cel', 20, { room: 'a' }), gauge('temp', 'Cel', 21, { room: 'b' })]));
  const stale = gauge('temp', 'Cel', 0, { room: 'a' }, T0 + SECOND);
  stale.data.dataPoints[0]!.flags = 1;
  await e.consume(metricsData([stale, sum('temp', 'Cel', 1n, { monotonic: false, attrs: { room: 'c' } })]));
  const text = e.render();
  assert.ok(!text.includes('room="a"'), text);
  assert.ok(text.includes('room="b"'), text);
  assert.ok(text.includes('room="c"'), 'a non-monotonic sum is a gauge too, same family');
  await e.consume(metricsData([histogram('temp', 'Cel', [1], [], 1)]));
  assert.ok(!e.render().includes('temp_celsius_bucket'), 'the histogram conflicts with the gauge family and is dropped');
});

test('int values above 2^53 and special floats', async () => {
  const e = exporter();
  await e.consume(metricsData([gauge('nan', '', Number.NaN), gauge('inf', '', Infinity), sum('big', '', 2n ** 60n)]));
  const text = e.render();
  assert.ok(text.includes(`\nnan{${L}} NaN\n`), text);
  assert.ok(text.includes(`\ninf{${L}} +Inf\n`), text);
  const big = text.match(/\nbig_total\{[^}]*\} (\S+)\n/);
  assert.equal(Number(big?.[1]), Number(2n ** 60n), 'served as the nearest float64, as Prometheus stores it');
});
