// The otlp_http exporter against a real OpenTelemetry Collector (test/peers/otelcol.sh): protobuf
// and JSON, with and without gzip, checked field by field in what the Collector's file exporter
// wrote; a stopped Collector makes a retryable error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsumerError } from '../../src/component/errors.ts';
import type { OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { sampleLogs, sampleMetrics, sampleTraces } from '../../test/fixtures/pdata-samples.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { assertCollectorWrote } from '../../test/support/otelcol-checks.ts';
import { type OtelcolPeer, startOtelcol, tagged } from '../../test/support/otelcol.ts';
import { otlpHttpConfigSchema } from './config.ts';
import { otlpHttpFactory } from './factory.ts';

const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;
const host = { getExtension: () => undefined };

async function exportOnce<S extends OtlpSignal>(signal: S, config: Record<string, unknown>, data: SignalData[S]): Promise<void> {
  const exporter = otlpHttpFactory.create[signal]!(testSettings('otlp_http', 'exporter', signal), otlpHttpConfigSchema.parse(config));
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

describe('otlp_http exporter -> OpenTelemetry Collector', () => {
  let peer: OtelcolPeer;
  before(async () => {
    peer = await startOtelcol();
  });
  after(() => peer?.stop());

  for (const encoding of ['proto', 'json'] as const) {
    for (const compression of ['gzip', 'none'] as const) {
      for (const signal of ['traces', 'metrics', 'logs'] as const) {
        it(`${signal}, ${encoding}, compression ${compression}: the Collector writes exactly what was sent`, async () => {
          const name = `http-${encoding}-${compression}-${signal}`;
          const data = tagged(signal, samples[signal](), name);
          await exportOnce(signal, { endpoint: peer.httpUrl, encoding, compression }, structuredClone(data));
          await assertCollectorWrote(peer, signal, name, data);
        });
      }
    }
  }

  it('sends to a per-signal URL when one is set', async () => {
    const data = tagged('metrics', sampleMetrics(), 'http-metrics-endpoint');
    await exportOnce('metrics', { endpoint: 'http://127.0.0.1:9/unused', metrics_endpoint: `${peer.httpUrl}/v1/metrics` }, structuredClone(data));
    await assertCollectorWrote(peer, 'metrics', 'http-metrics-endpoint', data);
  });

  it('a stopped Collector makes a retryable error', async () => {
    const stopped = await startOtelcol();
    const url = stopped.httpUrl;
    await exportOnce('traces', { endpoint: url }, tagged('traces', sampleTraces(), 'http-before-stop'));
    await stopped.stop();
    // Without the helper's queue and retries, consume answers with the attempt's outcome.
    const direct = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
    const error = await exportOnce('traces', { endpoint: url, ...direct }, sampleTraces()).then(
      () => assert.fail('the export succeeded with the Collector stopped'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConsumerError, String(error));
    assert.equal(error.retryable, true);
    assert.match(error.message, new RegExp(`export to ${url}/v1/traces failed: ECONNREFUSED`));
  });
});
