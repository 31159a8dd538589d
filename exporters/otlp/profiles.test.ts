// The otlp exporter's profiles signal against a real OpenTelemetry Collector v0.161 started with
// --feature-gates=service.profilesSupport: what its file exporter wrote is checked field by field,
// with and without gzip. With profiles.enabled off, a profiles pipeline cannot be built; a
// Collector without a profiles pipeline answers with a permanent error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsumerError } from '../../src/component/errors.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { assertCollectorWroteProfiles, sampleProfiles } from '../../test/support/otlp-profiles-checks.ts';
import { type OtelcolPeer, startOtelcol } from '../../test/support/otelcol.ts';
import { otlpConfigSchema } from './config.ts';
import { otlpFactory } from './factory.ts';

const host = { getExtension: () => undefined };

async function exportOnce(endpoint: string, data: ProfilesData, extra: Record<string, unknown> = {}): Promise<void> {
  const config = otlpConfigSchema.parse({ endpoint, tls: { insecure: true }, profiles: { enabled: true }, ...extra });
  const exporter = otlpFactory.create.profiles!(testSettings('otlp', 'exporter', 'profiles'), config);
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

describe('otlp exporter, profiles -> OpenTelemetry Collector (service.profilesSupport)', () => {
  let peer: OtelcolPeer;
  before(async () => {
    peer = await startOtelcol({ profiles: true });
  });
  after(() => peer?.stop());

  for (const compression of ['gzip', 'none'] as const) {
    it(`compression ${compression}: the Collector writes what was sent, field by field`, async () => {
      const name = `grpc-profiles-${compression}`;
      await exportOnce(peer.grpcEndpoint, sampleProfiles(name), { compression });
      await assertCollectorWroteProfiles(peer, name);
    });
  }
});

describe('otlp exporter, profiles off or not taken', () => {
  it('with profiles.enabled false (the default), a profiles pipeline is refused, naming the key', () => {
    const config = otlpConfigSchema.parse({ endpoint: '127.0.0.1:4317' });
    assert.equal(config.profiles.enabled, false);
    assert.throws(
      () => otlpFactory.create.profiles!(testSettings('otlp/backend', 'exporter', 'profiles'), config),
      /^Error: otlp\/backend: the profiles signal is disabled: set exporters\.otlp\/backend\.profiles\.enabled: true to send profiles .*--feature-gates=service\.profilesSupport/,
    );
    // The other signals are unaffected.
    assert.ok(otlpFactory.create.traces!(testSettings('otlp/backend', 'exporter', 'traces'), config));
  });

  it('a Collector without a profiles pipeline answers UNIMPLEMENTED: a permanent error saying what it needs', async () => {
    const plain = await startOtelcol();
    try {
      const direct = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
      const error = await exportOnce(plain.grpcEndpoint, sampleProfiles('grpc-profiles-no-gate'), direct).then(
        () => assert.fail('expected the export to fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConsumerError, String(error));
      assert.equal(error.retryable, false);
      assert.match(error.message, /UNIMPLEMENTED.*--feature-gates=service\.profilesSupport and a profiles pipeline/);
    } finally {
      await plain.stop();
    }
  });
});
