// The prometheusremotewrite exporter: the translation (names, labels, buckets, target_info), the
// request on the wire (snappy protobuf, headers, split by size), retries on 429/503, a permanent
// 400, and a real Prometheus 2.42 with its remote-write receiver answering queries for the series.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { uncompressSync } from 'snappy';
import type { Host } from '../../src/component/component.ts';
import { AggregationTemporality, type MetricsData } from '../../src/pdata/metrics.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { type PrometheusPeer, startPrometheus } from '../../test/support/prometheus.ts';
import { prwConfigSchema, validatePrwConfig } from './config.ts';
import { prometheusRemoteWriteFactory } from './factory.ts';
import { decodeWriteRequest, type TimeSeries } from './proto.ts';
import { splitSeries } from './sender.ts';
import { encodeWriteRequest } from './proto.ts';
import { formatFloat, toTimeSeries } from './translate.ts';

const host: Host = { getExtension: () => undefined };
const FAST_RETRY = { initial_interval: '10ms', max_interval: '50ms', randomization_factor: 0 };

function metrics(nowNs: bigint, run: string): MetricsData {
  const attrs = [{ key: 'http.request.method', value: { stringValue: 'GET' } }, { key: 'run', value: { stringValue: run } }];
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'service.namespace', value: { stringValue: 'shop' } },
            { key: 'service.instance.id', value: { stringValue: 'pod-1' } },
            { key: 'host.name', value: { stringValue: 'node-a' } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'bpfcol.test' },
            metrics: [
              { name: 'queue.depth', unit: '{items}', data: { type: 'gauge', dataPoints: [{ attributes: attrs, timeUnixNano: nowNs, asInt: 7n }] } },
              {
                name: 'http.server.request.body.size',
                unit: 'By',
                data: { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [{ attributes: attrs, startTimeUnixNano: nowNs - 10n ** 10n, timeUnixNano: nowNs, asDouble: 1024.5 }] },
              },
              {
                name: 'http.server.request.duration',
                unit: 's',
                data: {
                  type: 'histogram',
                  aggregationTemporality: AggregationTemporality.CUMULATIVE,
                  dataPoints: [{ attributes: attrs, timeUnixNano: nowNs, count: 6, sum: 1.5, explicitBounds: [0.005, 0.1, 1], bucketCounts: [1, 2, 3, 0] }],
                },
              },
              {
                name: 'rpc.latency',
                unit: 'ms',
                data: {
                  type: 'exponentialHistogram',
                  aggregationTemporality: AggregationTemporality.CUMULATIVE,
                  dataPoints: [{ attributes: attrs, timeUnixNano: nowNs, count: 3, sum: 7, scale: 0, zeroCount: 0, positive: { offset: 1, bucketCounts: [1, 2] }, negative: { offset: 0, bucketCounts: [] } }],
                },
              },
              {
                name: 'gc.pause',
                unit: 's',
                data: { type: 'summary', dataPoints: [{ attributes: attrs, timeUnixNano: nowNs, count: 4, sum: 0.2, quantileValues: [{ quantile: 0.5, value: 0.04 }, { quantile: 0.99, value: 0.09 }] }] },
              },
              {
                name: 'packets.dropped',
                data: { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.DELTA, dataPoints: [{ attributes: attrs, timeUnixNano: nowNs, asInt: 3n }] },
              },
            ],
          },
        ],
      },
    ],
  };
}

const OPTIONS = { namespace: '', externalLabels: { cluster: 'test' }, resourceToTelemetry: false, targetInfo: true, addMetricSuffixes: true };

function byName(series: TimeSeries[]): Map<string, TimeSeries[]> {
  const out = new Map<string, TimeSeries[]>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')!.value;
    out.set(name, [...(out.get(name) ?? []), s]);
  }
  return out;
}

const label = (s: TimeSeries, name: string) => s.labels.find((l) => l.name === name)?.value;

describe('prometheusremotewrite translation', () => {
  it('names, labels, buckets and target_info as the Collector', () => {
    const now = 1_700_000_000_123_456_789n;
    const { series, dropped } = toTimeSeries(metrics(now, 'unit'), OPTIONS);
    const names = byName(series);
    assert.deepEqual([...names.keys()].sort(), [
      'gc_pause_seconds',
      'gc_pause_seconds_count',
      'gc_pause_seconds_sum',
      'http_server_request_body_size_bytes_total',
      'http_server_request_duration_seconds_bucket',
      'http_server_request_duration_seconds_count',
      'http_server_request_duration_seconds_sum',
      'queue_depth',
      'rpc_latency_milliseconds_bucket',
      'rpc_latency_milliseconds_count',
      'rpc_latency_milliseconds_sum',
      'target_info',
    ]);
    assert.deepEqual(dropped, { points: 1, metrics: ['packets.dropped'] });
    const gauge = names.get('queue_depth')![0]!;
    assert.deepEqual(gauge.labels, [
      { name: '__name__', value: 'queue_depth' },
      { name: 'cluster', value: 'test' },
      { name: 'http_request_method', value: 'GET' },
      { name: 'instance', value: 'pod-1' },
      { name: 'job', value: 'shop/checkout' },
      { name: 'run', value: 'unit' },
    ]);
    assert.deepEqual(gauge.samples, [{ value: 7, timestamp: 1_700_000_000_123 }]);
    const buckets = names.get('http_server_request_duration_seconds_bucket')!.map((s) => [label(s, 'le'), s.samples[0]!.value]);
    assert.deepEqual(buckets, [
      ['0.005', 1],
      ['0.1', 3],
      ['1', 6],
      ['+Inf', 6],
    ]);
    const expBuckets = names.get('rpc_latency_milliseconds_bucket')!.map((s) => [label(s, 'le'), s.samples[0]!.value]);
    assert.deepEqual(expBuckets, [
      ['4', 1],
      ['8', 3],
      ['+Inf', 3],
    ]);
    assert.deepEqual(names.get('gc_pause_seconds')!.map((s) => [label(s, 'quantile'), s.samples[0]!.value]), [
      ['0.5', 0.04],
      ['0.99', 0.09],
    ]);
    const info = names.get('target_info')![0]!;
    assert.deepEqual(info.labels, [
      { name: '__name__', value: 'target_info' },
      { name: 'cluster', value: 'test' },
      { name: 'host_name', value: 'node-a' },
      { name: 'instance', value: 'pod-1' },
      { name: 'job', value: 'shop/checkout' },
    ]);
  });

  it('namespace, resource_to_telemetry_conversion, no suffixes, staleness markers', () => {
    const data = metrics(1_000_000_000_000_000n, 'ns');
    const gauge = data.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    if (gauge.data.type === 'gauge') gauge.data.dataPoints[0]!.flags = 1;
    const { series } = toTimeSeries(data, { ...OPTIONS, namespace: 'bpf col', resourceToTelemetry: true, addMetricSuffixes: false });
    const names = byName(series);
    assert.ok(names.has('bpf_col_http_server_request_body_size'), [...names.keys()].join(' '));
    assert.ok(names.has('bpf_col_target_info'));
    const g = names.get('bpf_col_queue_depth')![0]!;
    assert.equal(label(g, 'host_name'), 'node-a');
    assert.equal(label(g, 'service_name'), 'checkout');
    assert.equal(g.samples[0]!.stale, true);
    // On the wire the value is exactly Prometheus's StaleNaN (0x7ff0000000000002, little-endian).
    const wire = Buffer.from(encodeWriteRequest([g]));
    assert.ok(wire.includes(Buffer.from('0200000000 00f07f'.replace(' ', ''), 'hex')), wire.toString('hex'));
    assert.equal(decodeWriteRequest(wire)[0]!.samples[0]!.stale, true);
  });

  it('formats bounds as Go does and splits requests by size', () => {
    assert.deepEqual([0.005, 1, 1e21, 1e-7, 2.5e-8, -3e22, Infinity].map(formatFloat), ['0.005', '1', '1000000000000000000000', '0.0000001', '0.000000025', '-30000000000000000000000', '+Inf']);
    const one: TimeSeries = { labels: [{ name: '__name__', value: 'x'.repeat(100) }], samples: [{ value: 1, timestamp: 1 }] };
    assert.deepEqual(splitSeries([one, one, one, one, one], 300).map((g) => g.length), [2, 2, 1]);
  });

  it('has the Collector keys and defaults, and says what is wrong', () => {
    const config = prwConfigSchema.parse({});
    assert.deepEqual(validatePrwConfig(config), ['endpoint must be set: expected a URL like http://prometheus:9090/api/v1/write']);
    assert.equal(config.timeout, 5000);
    assert.equal(config.max_batch_size_bytes, 3_000_000);
    assert.deepEqual(config.target_info, { enabled: true });
    const bad = prwConfigSchema.safeParse({ endpoint: 'prometheus:9090', external_labels: { 'bad-name': 'x' }, remote_write_queue: {} });
    assert.deepEqual(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort(), [
      ': Unrecognized key: "remote_write_queue"',
      'endpoint: expected a URL like http://host:port/path',
      'external_labels.bad-name: expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got "bad-name"',
    ]);
  });
});

describe('prometheusremotewrite on the wire', () => {
  const requests: { headers: http.IncomingHttpHeaders; series: TimeSeries[] }[] = [];
  let answer: (n: number, res: http.ServerResponse) => void = (_n, res) => res.writeHead(204).end();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, series: decodeWriteRequest(uncompressSync(Buffer.concat(chunks)) as Buffer) });
      answer(requests.length, res);
    });
  });
  let endpoint = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function exporter(extra: Record<string, unknown> = {}) {
    const telemetry = recordingTelemetry();
    const { logger, lines } = captureLogger();
    const config = prwConfigSchema.parse({ endpoint, headers: { 'X-Scope-OrgID': 'tenant-1' }, retry_on_failure: FAST_RETRY, ...extra });
    const e = prometheusRemoteWriteFactory.create.metrics!(testSettings('prometheusremotewrite', 'exporter', 'metrics', { telemetry, logger }), config);
    return { e, telemetry, lines, counter: (n: string) => telemetry.counters.get(n) ?? 0 };
  }

  it('sends snappy protobuf with the remote-write headers; retries 429 (Retry-After) and 503, then succeeds', async () => {
    requests.length = 0;
    answer = (n, res) => {
      if (n === 1) res.writeHead(429, { 'Retry-After': '0' }).end('slow down');
      else if (n === 2) res.writeHead(503).end('unavailable');
      else res.writeHead(204).end();
    };
    const { e, counter, lines } = exporter();
    await e.start(host);
    await e.consume(metrics(BigInt(Date.now()) * 1_000_000n, 'wire'));
    await e.shutdown();
    assert.equal(requests.length, 3);
    assert.equal(counter('exporter_retries'), 2);
    assert.equal(counter('exporter_sent_metric_points'), 6);
    assert.equal(counter('exporter_prometheusremotewrite_dropped_metric_points'), 1);
    assert.ok(lines.some((l) => l.includes('HTTP 429') && l.includes('Will retry')), lines.join('\n'));
    const h = requests[2]!.headers;
    assert.equal(h['content-encoding'], 'snappy');
    assert.equal(h['content-type'], 'application/x-protobuf');
    assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(h['x-scope-orgid'], 'tenant-1');
    assert.equal(byName(requests[2]!.series).get('queue_depth')![0]!.samples[0]!.value, 7);
  });

  it('drops a batch the endpoint refuses with 400 and counts it', async () => {
    requests.length = 0;
    answer = (_n, res) => res.writeHead(400).end('out of order sample');
    const { e, counter, lines } = exporter();
    await e.start(host);
    await e.consume(metrics(BigInt(Date.now()) * 1_000_000n, 'bad'));
    await e.shutdown();
    assert.equal(requests.length, 1);
    assert.equal(counter('exporter_send_failed_metric_points'), 6);
    assert.ok(lines.some((l) => l.includes('not retryable') && l.includes('HTTP 400 Bad Request: out of order sample')), lines.join('\n'));
  });
});

describe('prometheusremotewrite -> Prometheus 2.42', () => {
  let prometheus: PrometheusPeer;
  before(async () => {
    prometheus = await startPrometheus({ targets: [], remoteWriteReceiver: true });
  });
  after(() => prometheus?.stop());

  it('Prometheus stores the series and its query API returns them', async () => {
    const run = `r${Date.now()}`;
    const config = prwConfigSchema.parse({ endpoint: prometheus.remoteWriteUrl, external_labels: { cluster: 'test' }, retry_on_failure: FAST_RETRY });
    const telemetry = recordingTelemetry();
    const e = prometheusRemoteWriteFactory.create.metrics!(testSettings('prometheusremotewrite', 'exporter', 'metrics', { telemetry }), config);
    await e.start(host);
    await e.consume(metrics(BigInt(Date.now()) * 1_000_000n, run));
    await e.shutdown();
    assert.equal(telemetry.counters.get('exporter_sent_metric_points'), 6, prometheus.logs());

    const gauge = await prometheus.waitForSeries(`queue_depth{run="${run}"}`);
    assert.deepEqual(gauge.map((s) => s.labels), [{ __name__: 'queue_depth', cluster: 'test', http_request_method: 'GET', instance: 'pod-1', job: 'shop/checkout', run }]);
    assert.equal(gauge[0]!.value, 7);
    assert.equal((await prometheus.waitForSeries(`http_server_request_body_size_bytes_total{run="${run}"}`))[0]!.value, 1024.5);
    const p50 = await prometheus.waitForSeries(`histogram_quantile(0.5, http_server_request_duration_seconds_bucket{run="${run}"})`);
    assert.ok(p50[0]!.value > 0.005 && p50[0]!.value <= 0.1, String(p50[0]!.value));
    assert.equal((await prometheus.waitForSeries(`rpc_latency_milliseconds_count{run="${run}"}`))[0]!.value, 3);
    assert.equal((await prometheus.waitForSeries(`gc_pause_seconds{run="${run}", quantile="0.99"}`))[0]!.value, 0.09);
    const info = await prometheus.waitForSeries(`target_info{job="shop/checkout"}`);
    assert.equal(info[0]!.labels['host_name'], 'node-a');
    assert.deepEqual(await prometheus.query(`packets_dropped_total{run="${run}"}`), [], 'delta sums are not written');
  });
});
