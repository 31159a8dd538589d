// The otlp exporter against a real OpenTelemetry Collector (test/peers/otelcol.sh): what the
// Collector's file exporter wrote is checked field by field, with and without gzip; a stopped
// Collector makes a retryable error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsumerError } from '../../src/component/errors.ts';
import type { OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { sampleLogs, sampleMetrics, sampleTraces } from '../../test/fixtures/pdata-samples.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { assertCollectorWrote } from '../../test/support/otelcol-checks.ts';
import { type OtelcolPeer, startOtelcol, tagged } from '../../test/support/otelcol.ts';
import { otlpConfigSchema } from './config.ts';
import { otlpFactory } from './factory.ts';

const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;
const host = { getExtension: () => undefined };

async function exportOnce<S extends OtlpSignal>(signal: S, endpoint: string, compression: 'gzip' | 'none', data: SignalData[S], extra: Record<string, unknown> = {}): Promise<void> {
  const config = otlpConfigSchema.parse({ endpoint, tls: { insecure: true }, compression, ...extra });
  const exporter = otlpFactory.create[signal]!(testSettings('otlp', 'exporter', signal), config);
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

describe('otlp exporter -> OpenTelemetry Collector', () => {
  let peer: OtelcolPeer;
  before(async () => {
    peer = await startOtelcol();
  });
  after(() => peer?.stop());

  for (const compression of ['gzip', 'none'] as const) {
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      it(`${signal}, compression ${compression}: the Collector writes exactly what was sent`, async () => {
        const name = `grpc-${compression}-${signal}`;
        const data = tagged(signal, samples[signal](), name);
        await exportOnce(signal, peer.grpcEndpoint, compression, structuredClone(data));
        await assertCollectorWrote(peer, signal, name, data);
      });
    }
  }

  it('a stopped Collector makes a retryable error', async () => {
    const stopped = await startOtelcol();
    const endpoint = stopped.grpcEndpoint;
    await exportOnce('logs', endpoint, 'gzip', tagged('logs', sampleLogs(), 'before-stop'));
    await stopped.stop();
    // Without the helper's queue and retries, consume answers with the attempt's outcome.
    const direct = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
    const error = await exportOnce('logs', endpoint, 'gzip', sampleLogs(), direct).then(
      () => assert.fail('the export succeeded with the Collector stopped'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConsumerError, String(error));
    assert.equal(error.retryable, true);
    assert.match(error.message, new RegExp(`export to ${endpoint} failed: UNAVAILABLE`));
  });
});
