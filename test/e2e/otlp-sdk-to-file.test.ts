// A real app instrumented with the OpenTelemetry SDK sends traces, metrics and logs to bpfcol's
// otlp receiver; what bpfcol's file exporter writes matches field by field, and bpfcol's own
// metrics count it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { getAttribute } from '../../src/pdata/common.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { runFixture } from '../support/node-app.ts';
import { readLogs, readMetrics, readSpans, waitForItems } from '../support/otlp-files.ts';
import { freePort } from '../support/ports.ts';

describe('an SDK-instrumented app through bpfcol to the file exporter', () => {
  const dir = tempDir();
  let bpfcol: RunningBpfcol;
  let grpcPort: number;
  let telemetryPort: number;
  let sent: { traceId: string; parentSpanId: string; childSpanId: string };

  before(async () => {
    grpcPort = await freePort();
    telemetryPort = await freePort();
    const config = writeConfig(dir.path, `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpcPort}" }
processors:
  batch: { timeout: 100ms }
exporters:
  file/traces: { path: "${join(dir.path, 'traces.jsonl')}" }
  file/metrics: { path: "${join(dir.path, 'metrics.jsonl')}" }
  file/logs: { path: "${join(dir.path, 'logs.jsonl')}" }
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [file/traces] }
    metrics: { receivers: [otlp], processors: [batch], exporters: [file/metrics] }
    logs: { receivers: [otlp], processors: [batch], exporters: [file/logs] }
`);
    bpfcol = await startBpfcol(config);
    sent = JSON.parse(await runFixture('otel-app.ts', [`http://127.0.0.1:${grpcPort}`])) as typeof sent;
  });

  after(async () => {
    await bpfcol?.stop();
    dir.cleanup();
  });

  it('spans arrive with ids, kinds, nanosecond times, attributes, events, status and resource intact', async () => {
    const spans = await waitForItems(() => readSpans(join(dir.path, 'traces.jsonl')), 2);
    assert.equal(spans.length, 2);
    const parent = spans.find((s) => s.span.name === 'GET /cart')!;
    const child = spans.find((s) => s.span.name === 'SELECT cart')!;
    assert.ok(parent && child);
    assert.equal(parent.span.traceId, sent.traceId);
    assert.equal(parent.span.spanId, sent.parentSpanId);
    assert.equal(parent.span.kind, 2);
    assert.equal(parent.span.startTimeUnixNano, 1_700_000_000_123_456_789n);
    assert.equal(parent.span.endTimeUnixNano, 1_700_000_000_987_654_321n);
    assert.equal(getAttribute(parent.span.attributes, 'http.request.method'), 'GET');
    assert.equal(getAttribute(parent.span.attributes, 'http.response.status_code'), 200n);
    assert.equal(getAttribute(parent.span.attributes, 'app.ratio'), 0.25);
    assert.equal(getAttribute(parent.span.attributes, 'app.flag'), true);
    assert.equal(getAttribute(parent.resource.attributes, 'service.name'), 'checkout');
    assert.equal(getAttribute(parent.resource.attributes, 'service.version'), '1.2.3');
    assert.equal(parent.scope, 'otel-app');

    assert.equal(child.span.traceId, sent.traceId);
    assert.equal(child.span.spanId, sent.childSpanId);
    assert.equal(child.span.parentSpanId, sent.parentSpanId);
    assert.equal(child.span.kind, 3);
    assert.equal(child.span.startTimeUnixNano, 1_700_000_000_200_000_001n);
    assert.equal(child.span.endTimeUnixNano, 1_700_000_000_300_000_002n);
    assert.deepEqual(child.span.status, { code: 2, message: 'deadlock detected' });
    assert.equal(child.span.events.length, 1);
    assert.equal(child.span.events[0]!.name, 'rows fetched');
    assert.equal(child.span.events[0]!.timeUnixNano, 1_700_000_000_250_000_000n);
    assert.equal(getAttribute(child.span.events[0]!.attributes, 'db.response.returned_rows'), 3n);
  });

  it('metrics arrive: a monotonic sum per route and a histogram with the advised buckets', async () => {
    const metrics = await waitForItems(() => readMetrics(join(dir.path, 'metrics.jsonl')), 2);
    const requests = metrics.find((m) => m.metric.name === 'app.requests')!;
    assert.ok(requests, 'app.requests arrived');
    assert.equal(requests.metric.unit, '{request}');
    assert.equal(requests.metric.description, 'Requests served.');
    assert.equal(requests.metric.data.type, 'sum');
    if (requests.metric.data.type !== 'sum') return;
    assert.equal(requests.metric.data.isMonotonic, true);
    assert.equal(requests.metric.data.aggregationTemporality, 2);
    const byRoute = new Map(requests.metric.data.dataPoints.map((p) => [getAttribute(p.attributes, 'route'), p.asDouble ?? Number(p.asInt)]));
    assert.deepEqual(Object.fromEntries(byRoute), { '/cart': 5, '/pay': 2 });

    const duration = metrics.find((m) => m.metric.name === 'app.duration')!;
    assert.equal(duration.metric.data.type, 'histogram');
    if (duration.metric.data.type !== 'histogram') return;
    const point = duration.metric.data.dataPoints[0]!;
    assert.deepEqual(point.explicitBounds, [0.1, 1]);
    assert.deepEqual(point.bucketCounts, [1, 1, 1]);
    assert.equal(point.count, 3);
    assert.equal(point.sum, 2.55);
    assert.equal(point.min, 0.05);
    assert.equal(point.max, 2);
    assert.equal(getAttribute(duration.resource.attributes, 'service.name'), 'checkout');
  });

  it('logs arrive with body, severity, nanosecond time and attributes', async () => {
    const logs = await waitForItems(() => readLogs(join(dir.path, 'logs.jsonl')), 1);
    const { log, resource } = logs[0]!;
    assert.deepEqual(log.body, { stringValue: 'cart is slow' });
    assert.equal(log.severityNumber, 13);
    assert.equal(log.severityText, 'WARN');
    assert.equal(log.timeUnixNano, 1_700_000_001_000_000_005n);
    assert.equal(getAttribute(log.attributes, 'cart.items'), 4n);
    assert.equal(getAttribute(resource.attributes, 'service.name'), 'checkout');
  });

  it("bpfcol's own metrics count what was received and sent, and health is 200", async () => {
    const health = await fetch(`http://127.0.0.1:${telemetryPort}/health`);
    assert.equal(health.status, 200);
    const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
    assert.match(text, /^bpfcol_receiver_accepted_spans_total\{[^}]*receiver="otlp"[^}]*\} 2$/m);
    assert.match(text, /^bpfcol_exporter_sent_spans_total\{[^}]*exporter="file\/traces"[^}]*\} 2$/m);
    assert.match(text, /^bpfcol_receiver_accepted_log_records_total\{[^}]*receiver="otlp"[^}]*\} 1$/m);
    assert.match(text, /^bpfcol_process_memory_rss(_bytes)?(\{[^}]*\})? \d+/m);
    // The longest event loop stall since the last read, in seconds.
    assert.match(text, /^bpfcol_process_runtime_event_loop_delay_max(_seconds)?(\{[^}]*\})? [\d.e+-]+$/m);
  });
});
