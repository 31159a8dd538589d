// A real Prometheus (Debian's 2.42) scrapes the exporter; the test reads what Prometheus stored
// through its HTTP API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nowUnixNano } from '../../src/pdata/common.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { freePort } from '../../test/support/ports.ts';
import { startPrometheus, type PrometheusPeer } from '../../test/support/prometheus.ts';
import { prometheusConfigSchema } from './config.ts';
import { prometheusFactory } from './factory.ts';
import { gauge, histogram, metricsData, SECOND, sum } from './testdata.ts';
import type { PrometheusExporter } from './exporter.ts';

const RESOURCE = { 'service.name': 'shop', 'service.namespace': 'lab', 'service.instance.id': 'node-1:4242', 'host.name': 'node-1' };

let exporter: PrometheusExporter;
let prometheus: PrometheusPeer;
let start: bigint;

before(async () => {
  const port = await freePort();
  const config = prometheusConfigSchema.parse({ endpoint: `127.0.0.1:${port}`, const_labels: { env: 'test' } });
  exporter = prometheusFactory.create.metrics!(testSettings('prometheus', 'exporter', 'metrics'), config) as PrometheusExporter;
  await exporter.start({ getExtension: () => undefined });
  start = nowUnixNano();
  const t1 = start + SECOND;
  await exporter.consume(
    metricsData(
      [
        histogram('http.server.request.duration', 's', [3, 5, 2, 0], [0.05, 0.1, 1], 2.5, { attrs: { 'http.request.method': 'GET' }, time: t1 }),
        sum('bpfcol.test.requests', '{requests}', 40n, { delta: true, start, time: t1, attrs: { 'url.path': '/a' } }),
        gauge('process.memory.usage', 'By', 2048, {}, t1),
        gauge('system.cpu.utilization', '1', 0.5, {}, t1),
        {
          name: 'payload.size',
          unit: 'By',
          data: {
            type: 'exponentialHistogram',
            aggregationTemporality: 2,
            dataPoints: [
              // scale 0: bucket k holds (2^k, 2^(k+1)]; offset 1 -> (2,4], (4,8]
              { attributes: [], timeUnixNano: t1, count: 6, sum: 30, scale: 0, zeroCount: 1, positive: { offset: 1, bucketCounts: [2, 3] }, negative: { offset: 0, bucketCounts: [] } },
            ],
          },
        },
        {
          name: 'rpc.server.duration',
          unit: 'ms',
          data: { type: 'summary', dataPoints: [{ attributes: [], timeUnixNano: t1, count: 7, sum: 70, quantileValues: [{ quantile: 0.9, value: 15 }] }] },
        },
      ],
      RESOURCE,
      { name: 'bpfcol-test', version: '0.1.0' },
    ),
  );
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
});

after(async () => {
  await prometheus?.stop();
  await exporter?.shutdown();
});

test('Prometheus scrapes the exporter: up == 1', async () => {
  const up = await prometheus.waitForSeries('up{job="bpfcol"} == 1');
  assert.equal(up.length, 1);
  assert.equal(up[0]!.value, 1);
});

test('a histogram in seconds arrives as _bucket/_sum/_count with job/instance from the resource', async () => {
  const buckets = await prometheus.waitForSeries('http_server_request_duration_seconds_bucket');
  const byLe = Object.fromEntries(buckets.map((s) => [s.labels.le, s.value]));
  assert.deepEqual(byLe, { '0.05': 3, '0.1': 8, '1': 10, '+Inf': 10 });
  const labels = buckets[0]!.labels;
  assert.equal(labels.job, 'lab/shop');
  assert.equal(labels.instance, 'node-1:4242');
  assert.equal(labels.http_request_method, 'GET');
  assert.equal(labels.otel_scope_name, 'bpfcol-test');
  assert.equal(labels.env, 'test');
  const [count] = await prometheus.waitForSeries('http_server_request_duration_seconds_count');
  const [total] = await prometheus.waitForSeries('http_server_request_duration_seconds_sum');
  assert.equal(count!.value, 10);
  assert.equal(total!.value, 2.5);
  const [median] = await prometheus.waitForSeries('histogram_quantile(0.5, http_server_request_duration_seconds_bucket)');
  assert.ok(median!.value > 0.05 && median!.value <= 0.1, `median ${median!.value}`);
});

test('a delta counter becomes a cumulative _total that grows as deltas arrive', async () => {
  const [first] = await prometheus.waitForSeries('bpfcol_test_requests_total{url_path="/a"}');
  assert.equal(first!.value, 40);
  const t1 = start + SECOND;
  await exporter.consume(
    metricsData([sum('bpfcol.test.requests', '{requests}', 2n, { delta: true, start: t1, time: t1 + SECOND, attrs: { 'url.path': '/a' } })], RESOURCE, {
      name: 'bpfcol-test',
      version: '0.1.0',
    }),
  );
  const [next] = await prometheus.waitForSeries('bpfcol_test_requests_total{url_path="/a"}', { accept: (s) => s[0]!.value !== 40 });
  assert.equal(next!.value, 42);
});

test('gauges with unit suffixes, a summary with its quantile, and target_info', async () => {
  const [bytes] = await prometheus.waitForSeries('process_memory_usage_bytes');
  assert.equal(bytes!.value, 2048);
  const [ratio] = await prometheus.waitForSeries('system_cpu_utilization_ratio');
  assert.equal(ratio!.value, 0.5);
  const [p90] = await prometheus.waitForSeries('rpc_server_duration_milliseconds{quantile="0.9"}');
  assert.equal(p90!.value, 15);
  const [info] = await prometheus.waitForSeries('target_info');
  assert.deepEqual(info!.labels, { __name__: 'target_info', job: 'lab/shop', instance: 'node-1:4242', host_name: 'node-1' });
  assert.equal(info!.value, 1);
});

test('an exponential histogram arrives as classic buckets at its boundaries', async () => {
  const buckets = await prometheus.waitForSeries('payload_size_bytes_bucket');
  const byLe = Object.fromEntries(buckets.map((s) => [s.labels.le, s.value]));
  assert.deepEqual(byLe, { '0': 1, '4': 3, '8': 6, '+Inf': 6 });
});
