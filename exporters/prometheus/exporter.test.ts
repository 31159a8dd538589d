// The exporter as a component: its HTTP endpoint, lifecycle, expiry and config errors.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { nopLogger } from '../../src/telemetry/logger.ts';
import { freePort } from '../../test/support/ports.ts';
import { Accumulator } from './accumulator.ts';
import { prometheusConfigSchema } from './config.ts';
import { PrometheusExporter } from './exporter.ts';
import { gauge, metricsData, SECOND, sum, T0 } from './testdata.ts';

function exporter(config: Record<string, unknown>): PrometheusExporter {
  return new PrometheusExporter({ logger: nopLogger }, prometheusConfigSchema.parse(config));
}

const host = { getExtension: () => undefined };

test('defaults are the Collector\'s', () => {
  assert.deepEqual(prometheusConfigSchema.parse({}), {
    endpoint: '127.0.0.1:9464',
    namespace: '',
    const_labels: {},
    send_timestamps: false,
    metric_expiration: 300_000,
    resource_to_telemetry_conversion: { enabled: false },
    without_scope_info: false,
    enable_open_metrics: false,
  });
});

test('config errors say what was expected', () => {
  const message = (input: unknown) => {
    const r = prometheusConfigSchema.safeParse(input);
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(message({ endpoint: 'localhost' }), /endpoint: expected host:port/);
  assert.match(message({ metric_expiration: '5 minutes' }), /metric_expiration: expected a duration like 10s/);
  assert.match(message({ const_labels: { 'bad-label': 'x' } }), /const_labels.bad-label: expected a Prometheus label name/);
  assert.match(message({ resource_to_telemetry_conversion: { enabled: 'yes' } }), /resource_to_telemetry_conversion.enabled: expected true or false/);
  assert.match(message({ enable_open_metrics: true }), /enable_open_metrics: expected false/);
  assert.match(message({ path: '/m' }), /path|Unrecognized key/i);
});

test('GET /metrics serves the text format (gzip when asked); other paths are 404', async () => {
  const port = await freePort();
  const e = exporter({ endpoint: `127.0.0.1:${port}` });
  await e.start(host);
  try {
    await e.consume(metricsData([sum('bpfcol.test.requests', '{requests}', 3n)]));
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.match(text, /\nbpfcol_test_requests_total\{instance="i-1",job="shop",otel_scope_name="test",otel_scope_version="1.0"\} 3\n/);

    const zipped = await new Promise<Buffer>((resolve, reject) => {
      // fetch would unzip on its own; read the raw bytes to see that the body is gzip.
      import('node:http').then(({ get }) =>
        get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': 'gzip' } }, (r) => {
          assert.equal(r.headers['content-encoding'], 'gzip');
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
        }).on('error', reject),
      );
    });
    assert.equal(gunzipSync(zipped).toString(), text);

    const missing = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /\/metrics/);
  } finally {
    await e.shutdown();
  }
});

test('start rejects clearly when the port is taken', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const e = exporter({ endpoint: `127.0.0.1:${port}` });
    await assert.rejects(e.start(host), {
      message: `prometheus exporter cannot listen on 127.0.0.1:${port}: the address is already in use`,
    });
    await e.shutdown();
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('shutdown is safe without start and twice; the port is free after it', async () => {
  await exporter({}).shutdown();
  const port = await freePort();
  const e = exporter({ endpoint: `127.0.0.1:${port}` });
  await e.start(host);
  await e.shutdown();
  await e.shutdown();
  const again = exporter({ endpoint: `127.0.0.1:${port}` });
  await again.start(host);
  await again.shutdown();
});

test('metric_expiration: a series not updated disappears from /metrics', async () => {
  const port = await freePort();
  const e = exporter({ endpoint: `127.0.0.1:${port}`, metric_expiration: '1s' });
  await e.start(host);
  try {
    await e.consume(metricsData([gauge('short.lived', '', 1)]));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(await scrape(), /\nshort_lived\{/);
    const deadline = Date.now() + 15_000;
    let text = await scrape();
    while (text.includes('short_lived') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      text = await scrape();
    }
    assert.ok(!text.includes('short_lived'), `still served after 15 s:\n${text}`);
    assert.ok(!text.includes('target_info'), 'target_info goes with the last series of its resource');
    assert.equal(e.seriesCount, 0);
  } finally {
    await e.shutdown();
  }
});

test('expiry counts from the last update of each series', () => {
  const acc = new Accumulator({ expirationMs: 1000, resourceToTelemetry: false });
  acc.add(metricsData([gauge('a', '', 1), gauge('b', '', 1)]), 10_000);
  acc.add(metricsData([gauge('a', '', 2, {}, T0 + SECOND)]), 10_800);
  assert.deepEqual(acc.collect(10_900).map((s) => s.name).sort(), ['a', 'b']);
  assert.deepEqual(acc.collect(11_500).map((s) => s.name), ['a']);
  assert.deepEqual(acc.collect(11_801), []);
});

test('sums of unspecified temporality are dropped, as in the Collector', () => {
  const acc = new Accumulator({ expirationMs: 1000, resourceToTelemetry: false });
  const m = sum('x', '', 1n);
  if (m.data.type === 'sum') m.data.aggregationTemporality = 0;
  const r = acc.add(metricsData([m]), 0);
  assert.equal(r.dropped, 1);
  assert.deepEqual([...r.reasons], ['unspecified temporality']);
  assert.equal(acc.size, 0);
});
