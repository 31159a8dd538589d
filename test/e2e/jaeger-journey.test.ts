// The user journey "point Jaeger at bpfcol": an app instrumented with the OpenTelemetry JS SDK
// sends to bpfcol's otlp receiver; bpfcol's jaeger exporter (default: OTLP gRPC) sends to a real
// Jaeger v2 (test/peers/jaeger.sh); the spans are found through Jaeger's query API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { type JaegerPeer, startJaeger } from '../support/jaeger.ts';
import { runFixture } from '../support/node-app.ts';
import { freePort } from '../support/ports.ts';

describe('SDK app -> bpfcol (otlp receiver -> batch -> jaeger exporter) -> Jaeger v2', () => {
  const dir = tempDir('bpfcol-e2e-jaeger-');
  let jaeger: JaegerPeer;
  let bpfcol: RunningBpfcol;
  let grpcPort = 0;

  before(async () => {
    jaeger = await startJaeger();
    grpcPort = await freePort();
    const telemetryPort = await freePort();
    bpfcol = await startBpfcol(
      writeConfig(
        dir.path,
        `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpcPort}" }
processors:
  batch: { timeout: 100ms }
exporters:
  jaeger:
    endpoint: ${jaeger.otlpGrpcEndpoint}
  debug: {}
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [jaeger] }
    metrics: { receivers: [otlp], exporters: [debug] }
    logs: { receivers: [otlp], exporters: [debug] }
`,
      ),
    );
  });

  after(async () => {
    await bpfcol?.stop();
    await jaeger?.stop();
    dir.cleanup();
  });

  it('Jaeger lists the service and returns the trace, parent and child, with their tags', async () => {
    const sent = JSON.parse(await runFixture('otel-app.ts', [`http://127.0.0.1:${grpcPort}`])) as { traceId: string; parentSpanId: string; childSpanId: string };
    const traces = await jaeger.waitForTraces('checkout', (t) => t.some((x) => x.traceID === sent.traceId && x.spans.length === 2));
    assert.ok((await jaeger.services()).includes('checkout'));
    const trace = traces.find((t) => t.traceID === sent.traceId)!;
    const parent = trace.spans.find((s) => s.spanID === sent.parentSpanId)!;
    const child = trace.spans.find((s) => s.spanID === sent.childSpanId)!;
    assert.equal(parent.operationName, 'GET /cart');
    assert.equal(child.operationName, 'SELECT cart');
    assert.deepEqual(child.references, [{ refType: 'CHILD_OF', traceID: sent.traceId, spanID: sent.parentSpanId }]);
    const tags = (s: typeof parent) => Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
    assert.equal(tags(parent)['http.request.method'], 'GET');
    assert.equal(tags(parent)['span.kind'], 'server');
    assert.equal(tags(child)['span.kind'], 'client');
    assert.equal(tags(child)['error'], true);
    assert.equal(tags(child)['otel.status_description'], 'deadlock detected');
    assert.equal(parent.startTime, 1_700_000_000_123_456);
    assert.equal(trace.processes[parent.processID]!.serviceName, 'checkout');
  });
});
