// bpfcol between an instrumented app and a real OpenTelemetry Collector: data enters bpfcol's otlp
// receiver, leaves through its otlp (gRPC) and otlp_http (protobuf and JSON) exporters, and what
// the Collector's file exporter writes is checked field by field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { getAttribute } from '../../src/pdata/common.ts';
import { otlpGrpcServices, type OtlpSignal } from '../../src/pdata/otlp/index.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { sampleLogs, sampleMetrics, sampleTraces } from '../fixtures/pdata-samples.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { runFixture } from '../support/node-app.ts';
import { assertCollectorWrote } from '../support/otelcol-checks.ts';
import { type OtelcolPeer, startOtelcol, tagged } from '../support/otelcol.ts';
import { freePort } from '../support/ports.ts';

function grpcExport<S extends OtlpSignal>(endpoint: string, signal: S, data: SignalData[S]): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(otlpGrpcServices[signal], signal);
  const client = new Client(endpoint, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) =>
    client.Export!(data, (error: grpc.ServiceError | null) => {
      client.close();
      if (error) reject(error);
      else resolve();
    }),
  );
}

describe('SDK app -> bpfcol (otlp receiver -> otlp, otlp_http exporters) -> OpenTelemetry Collector', () => {
  const dir = tempDir('bpfcol-e2e-otelcol-');
  let peer: OtelcolPeer;
  let bpfcol: RunningBpfcol;
  let grpcPort = 0;

  before(async () => {
    peer = await startOtelcol();
    grpcPort = await freePort();
    const telemetryPort = await freePort();
    const config = writeConfig(
      dir.path,
      `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpcPort}" }
exporters:
  otlp:
    endpoint: ${peer.grpcEndpoint}
    tls: { insecure: true }
  otlp_http/json:
    endpoint: ${peer.httpUrl}
    encoding: json
  otlp_http:
    endpoint: ${peer.httpUrl}
    compression: none
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
    metrics: { receivers: [otlp], exporters: [otlp_http/json] }
    logs: { receivers: [otlp], exporters: [otlp_http] }
`,
    );
    bpfcol = await startBpfcol(config);
  });

  after(async () => {
    await bpfcol?.stop();
    await peer?.stop();
    dir.cleanup();
  });

  it('every field of every signal arrives at the Collector as sent', async () => {
    const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const name = `through-bpfcol-${signal}`;
      const data = tagged(signal, samples[signal](), name);
      await grpcExport(`127.0.0.1:${grpcPort}`, signal, structuredClone(data));
      await assertCollectorWrote(peer, signal, name, data);
    }
  });

  it("the SDK app's spans, metrics and log keep their ids and nanosecond times", async () => {
    const sent = JSON.parse(await runFixture('otel-app.ts', [`http://127.0.0.1:${grpcPort}`])) as { traceId: string; parentSpanId: string; childSpanId: string };
    const batches = await peer.waitForItems('traces', 2 + 2); // the samples' two spans and the app's two
    const spans = batches.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource })))));
    const parent = spans.find((s) => s.span.spanId === sent.parentSpanId);
    const child = spans.find((s) => s.span.spanId === sent.childSpanId);
    assert.ok(parent && child, `the app's spans reached the Collector:\n${peer.output()}`);
    assert.equal(parent.span.traceId, sent.traceId);
    assert.equal(parent.span.name, 'GET /cart');
    assert.equal(parent.span.startTimeUnixNano, 1_700_000_000_123_456_789n);
    assert.equal(parent.span.endTimeUnixNano, 1_700_000_000_987_654_321n);
    assert.equal(child.span.parentSpanId, sent.parentSpanId);
    assert.deepStrictEqual(child.span.status, { code: 2, message: 'deadlock detected' });
    assert.equal(getAttribute(parent.resource.attributes, 'service.name'), 'checkout');
    assert.equal(getAttribute(parent.span.attributes, 'http.response.status_code'), 200n);

    // The app's metrics: those without the samples' test.case resource attribute.
    const appMetrics = () =>
      peer
        .read('metrics')
        .flatMap((d) => d.resourceMetrics.filter((rm) => getAttribute(rm.resource.attributes, 'test.case') === undefined))
        .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    await waitUntil(() => appMetrics().some((m) => m.name === 'app.requests'));
    const requests = appMetrics().find((m) => m.name === 'app.requests');
    assert.ok(requests && requests.data.type === 'sum');
    assert.equal(requests.data.isMonotonic, true);
    assert.deepStrictEqual(
      requests.data.dataPoints.map((p) => [getAttribute(p.attributes, 'route'), p.asDouble]).sort(),
      [['/cart', 5], ['/pay', 2]],
    );

    await waitUntil(() => peer.lines('logs').some((l) => l.includes('cart is slow')));
    const record = peer
      .read('logs')
      .flatMap((d) => d.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)))
      .find((r) => r.body && 'stringValue' in r.body && r.body.stringValue === 'cart is slow');
    assert.ok(record);
    assert.equal(record.timeUnixNano, 1_700_000_001_000_000_005n);
    assert.equal(record.severityText, 'WARN');
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
