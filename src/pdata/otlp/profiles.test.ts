// OTLP profiles against a real OpenTelemetry Collector (v0.161, built by test/peers/otelcol.sh,
// --feature-gates=service.profilesSupport): an ExportProfilesServiceRequest sent over OTLP/HTTP and
// over gRPC is accepted and written back by the Collector's file exporter with the same resource,
// sample type, period, stacks (function names leaf first), sample attributes, build ids and values
// (the checks and the sample are shared with the otlp exporters' tests).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type OtelcolPeer, startOtelcol } from '../../../test/support/otelcol.ts';
import { assertCollectorWroteProfiles, sampleProfiles } from '../../../test/support/otlp-profiles-checks.ts';
import { OTLP_PROFILES_GRPC_PATH, OTLP_PROFILES_HTTP_PATH, encodeProfilesRequest } from './profiles.ts';

describe('OTLP profiles to a real Collector (profiles support feature gate)', () => {
  let collector: OtelcolPeer;

  before(async () => {
    collector = await startOtelcol({ profiles: true });
  });
  after(async () => {
    await collector?.stop();
  });

  it('over OTLP/HTTP (POST /v1development/profiles, protobuf)', async () => {
    const res = await fetch(`${collector.httpUrl}${OTLP_PROFILES_HTTP_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(encodeProfilesRequest(sampleProfiles('codec-http'))),
    });
    assert.equal(res.status, 200, await res.text());
    await assertCollectorWroteProfiles(collector, 'codec-http');
  });

  it('over gRPC (ProfilesService/Export)', async () => {
    const client = new grpc.Client(collector.grpcEndpoint, grpc.credentials.createInsecure());
    try {
      await new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          OTLP_PROFILES_GRPC_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(encodeProfilesRequest(sampleProfiles('codec-grpc'))),
          (err) => (err ? reject(err) : resolve()),
        );
      });
    } finally {
      client.close();
    }
    await assertCollectorWroteProfiles(collector, 'codec-grpc');
  });
});
