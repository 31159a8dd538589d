// The otlp_http exporter's profiles signal against a real OpenTelemetry Collector v0.161 started
// with --feature-gates=service.profilesSupport: POST <endpoint>/v1development/profiles (protobuf,
// gzip or not) and profiles_endpoint; what its file exporter wrote is checked field by field. With
// profiles.enabled off, a profiles pipeline cannot be built; encoding json is refused for profiles;
// a Collector without a profiles pipeline answers 404, a permanent error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsumerError } from '../../src/component/errors.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { assertCollectorWroteProfiles, sampleProfiles } from '../../test/support/otlp-profiles-checks.ts';
import { type OtelcolPeer, startOtelcol } from '../../test/support/otelcol.ts';
import { otlpHttpConfigSchema, signalUrl, validateOtlpHttpConfig } from './config.ts';
import { otlpHttpFactory } from './factory.ts';

const host = { getExtension: () => undefined };

async function exportOnce(config: Record<string, unknown>, data: ProfilesData): Promise<void> {
  const parsed = otlpHttpConfigSchema.parse({ profiles: { enabled: true }, ...config });
  assert.deepEqual(validateOtlpHttpConfig(parsed), []);
  const exporter = otlpHttpFactory.create.profiles!(testSettings('otlp_http', 'exporter', 'profiles'), parsed);
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

describe('otlp_http exporter, profiles -> OpenTelemetry Collector (service.profilesSupport)', () => {
  let peer: OtelcolPeer;
  before(async () => {
    peer = await startOtelcol({ profiles: true });
  });
  after(() => peer?.stop());

  for (const compression of ['gzip', 'none'] as const) {
    it(`endpoint + /v1development/profiles, compression ${compression}: the Collector writes what was sent, field by field`, async () => {
      const name = `http-profiles-${compression}`;
      await exportOnce({ endpoint: peer.httpUrl, compression }, sampleProfiles(name));
      await assertCollectorWroteProfiles(peer, name);
    });
  }

  it('profiles_endpoint is used as is', async () => {
    const name = 'http-profiles-own-endpoint';
    await exportOnce({ profiles_endpoint: `${peer.httpUrl}/v1development/profiles` }, sampleProfiles(name));
    await assertCollectorWroteProfiles(peer, name);
  });
});

describe('otlp_http exporter, profiles off, json or not taken', () => {
  it('appends /v1development/profiles to endpoint', () => {
    const config = otlpHttpConfigSchema.parse({ endpoint: 'http://collector:4318/' });
    assert.equal(signalUrl(config, 'profiles'), 'http://collector:4318/v1development/profiles');
  });

  it('with profiles.enabled false (the default), a profiles pipeline is refused, naming the key', () => {
    const config = otlpHttpConfigSchema.parse({ endpoint: 'http://127.0.0.1:4318' });
    assert.equal(config.profiles.enabled, false);
    assert.throws(
      () => otlpHttpFactory.create.profiles!(testSettings('otlp_http/backend', 'exporter', 'profiles'), config),
      /^Error: otlp_http\/backend: the profiles signal is disabled: set exporters\.otlp_http\/backend\.profiles\.enabled: true to send profiles .*--feature-gates=service\.profilesSupport/,
    );
  });

  it('refuses profiles.enabled with encoding json', () => {
    const config = otlpHttpConfigSchema.parse({ endpoint: 'http://127.0.0.1:4318', encoding: 'json', profiles: { enabled: true } });
    assert.deepEqual(validateOtlpHttpConfig(config), [
      'profiles.enabled needs encoding: proto: bpfcol sends profiles as protobuf only (use a second otlp_http exporter for JSON traces, metrics and logs)',
    ]);
  });

  it('says what is wrong with a bad profiles key', () => {
    const issues = (input: unknown) => otlpHttpConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(issues({ profiles: { enabled: 'yes' } }), ['profiles.enabled: expected true or false']);
    assert.match(issues({ profiles: { enable: true } })![0]!, /profiles.*enable/);
  });

  it('a Collector without a profiles pipeline answers 404: a permanent error saying what it needs', async () => {
    const plain = await startOtelcol();
    try {
      const direct = { endpoint: plain.httpUrl, sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
      const error = await exportOnce(direct, sampleProfiles('http-profiles-no-gate')).then(
        () => assert.fail('expected the export to fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConsumerError, String(error));
      assert.equal(error.retryable, false);
      assert.match(error.message, /HTTP 404.*--feature-gates=service\.profilesSupport and a profiles pipeline/);
    } finally {
      await plain.stop();
    }
  });
});
