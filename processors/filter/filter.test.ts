import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { SpanKind, type Span, type TracesData } from '../../src/pdata/traces.ts';
import { recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { configSchema } from './config.ts';
import { filterFactory } from './factory.ts';
import { severityNumber } from './match.ts';

function span(name: string, kind: SpanKind, attrs: Record<string, string | number> = {}): Span {
  return { traceId: '1'.repeat(32), spanId: '2'.repeat(16), name, kind, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: attributes(attrs), events: [], links: [], status: { code: 0 } };
}

function traces(): TracesData {
  return {
    resourceSpans: [
      { resource: { attributes: attributes({ 'service.name': 'nginx', 'k8s.namespace.name': 'shop' }) }, scopeSpans: [{ scope: { name: 'bpfcol/socket_trace', version: '1' }, spans: [span('GET /health', SpanKind.SERVER, { 'url.path': '/health' }), span('GET /cart', SpanKind.SERVER, { 'url.path': '/cart' }), span('SELECT', SpanKind.CLIENT, { 'db.system.name': 'postgresql' })] }] },
      { resource: { attributes: attributes({ 'service.name': 'kube-probe', 'k8s.namespace.name': 'kube-system' }) }, scopeSpans: [{ spans: [span('GET /metrics', SpanKind.CLIENT)] }] },
    ],
  };
}

async function run<S extends 'traces' | 'metrics' | 'logs'>(signal: S, config: unknown, data: S extends 'traces' ? TracesData : S extends 'metrics' ? MetricsData : LogsData) {
  const telemetry = recordingTelemetry();
  const sink = new SinkConsumer<S>();
  const p = filterFactory.create[signal]!(testSettings('filter', 'processor', signal, { telemetry }), configSchema.parse(config), sink as never);
  await p.consume(data as never);
  return { out: sink.received as unknown[], telemetry };
}

const names = (d: unknown) => (d as TracesData).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name)));

describe('filter processor: spans', () => {
  it('exclude by span name (strict) and count what it dropped', async () => {
    const { out, telemetry } = await run('traces', { spans: { exclude: { match_type: 'strict', span_names: ['GET /health', 'GET /metrics'] } } }, traces());
    assert.deepEqual(names(out[0]), ['GET /cart', 'SELECT']);
    assert.equal((out[0] as TracesData).resourceSpans.length, 1, 'a resource left without spans is removed');
    assert.equal(telemetry.counters.get('processor_filter_spans_filtered'), 2);
  });

  it('include by resource attribute and kind (all properties must match)', async () => {
    const { out } = await run('traces', { spans: { include: { resources: [{ key: 'k8s.namespace.name', value: 'shop' }], span_kinds: ['SPAN_KIND_SERVER'] } } }, traces());
    assert.deepEqual(names(out[0]), ['GET /health', 'GET /cart']);
  });

  it('regexp on attribute values, services and libraries; include and exclude together', async () => {
    const { out } = await run('traces', {
      spans: {
        include: { match_type: 'regexp', services: ['^ngi'], libraries: [{ name: 'socket_trace$' }] },
        exclude: { match_type: 'regexp', attributes: [{ key: 'url.path', value: '^/heal' }] },
      },
    }, traces());
    assert.deepEqual(names(out[0]), ['GET /cart', 'SELECT']);
  });

  it('an attribute with no value matches by presence; a batch filtered to nothing is not sent on', async () => {
    const { out } = await run('traces', { spans: { include: { attributes: [{ key: 'db.system.name' }] } } }, traces());
    assert.deepEqual(names(out[0]), ['SELECT']);
    const none = await run('traces', { spans: { include: { span_names: ['nothing'] } } }, traces());
    assert.equal(none.out.length, 0);
    assert.equal(none.telemetry.counters.get('processor_filter_spans_filtered'), 4);
  });

  it('no spans section: everything passes, nothing mutated', async () => {
    const telemetry = recordingTelemetry();
    const p = filterFactory.create.traces!(testSettings('filter', 'processor', 'traces', { telemetry }), configSchema.parse({ logs: { include: { bodies: ['x'] } } }), new SinkConsumer<'traces'>());
    assert.equal(p.capabilities?.mutatesData, false);
  });
});

describe('filter processor: metrics and logs', () => {
  const metrics = (): MetricsData => ({
    resourceMetrics: [{
      resource: { attributes: attributes({ 'host.name': 'n1' }) },
      scopeMetrics: [{ metrics: [
        { name: 'tcp.drops', data: { type: 'sum', aggregationTemporality: 2, isMonotonic: true, dataPoints: [
          { attributes: attributes({ 'network.peer.address': '10.0.0.1', 'tcp.drop.reason': 'NO_SOCKET' }), timeUnixNano: 1n, asInt: 1n },
          { attributes: attributes({ 'network.peer.address': '127.0.0.1', 'tcp.drop.reason': 'NO_SOCKET' }), timeUnixNano: 1n, asInt: 2n },
        ] } },
        { name: 'tcp.rtt', data: { type: 'gauge', dataPoints: [{ attributes: [], timeUnixNano: 1n, asInt: 1n }] } },
      ] }],
    }],
  });

  it('drops data points by point attribute (regexp) and whole metrics by name', async () => {
    const { out, telemetry } = await run('metrics', { metrics: { exclude: { match_type: 'regexp', attributes: [{ key: 'network.peer.address', value: '^127\\.' }] } } }, metrics());
    const m = (out[0] as MetricsData).resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    assert.deepEqual(m.map((x) => [x.name, x.data.dataPoints.length]), [['tcp.drops', 1], ['tcp.rtt', 1]]);
    assert.equal(telemetry.counters.get('processor_filter_datapoints_filtered'), 1);
    const byName = await run('metrics', { metrics: { include: { metric_names: ['tcp.rtt'], resource_attributes: [{ key: 'host.name', value: 'n1' }] } } }, metrics());
    assert.deepEqual((byName.out[0] as MetricsData).resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((x) => x.name), ['tcp.rtt']);
    assert.equal(byName.telemetry.counters.get('processor_filter_datapoints_filtered'), 2);
  });

  it('logs by severity, body and record attributes', async () => {
    const logs = (): LogsData => ({
      resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [
        { timeUnixNano: 1n, observedTimeUnixNano: 1n, severityNumber: 9, severityText: 'INFO', body: { stringValue: 'GC done' }, attributes: [] },
        { timeUnixNano: 1n, observedTimeUnixNano: 1n, severityNumber: 17, severityText: 'ERROR', body: { stringValue: 'drop burst' }, attributes: attributes({ 'tcp.drop.reason': 'NO_SOCKET' }) },
        { timeUnixNano: 1n, observedTimeUnixNano: 1n, body: { stringValue: 'no severity' }, attributes: [] },
      ] }] }],
    });
    const bodies = (d: unknown) => (d as LogsData).resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords.map((x) => x.body && 'stringValue' in x.body ? x.body.stringValue : '')));
    assert.deepEqual(bodies((await run('logs', { logs: { include: { severity_number: { min: 'WARN' } } } }, logs())).out[0]), ['drop burst']);
    assert.deepEqual(bodies((await run('logs', { logs: { include: { severity_number: { min: 13, match_undefined: true } } } }, logs())).out[0]), ['drop burst', 'no severity']);
    assert.deepEqual(bodies((await run('logs', { logs: { exclude: { match_type: 'regexp', bodies: ['^GC'] } } }, logs())).out[0]), ['drop burst', 'no severity']);
    assert.deepEqual(bodies((await run('logs', { logs: { include: { record_attributes: [{ key: 'tcp.drop.reason', value: 'NO_SOCKET' }], severity_texts: ['ERROR'] } } }, logs())).out[0]), ['drop burst']);
  });

  it('severity names map to OTLP numbers', () => {
    assert.deepEqual(['TRACE', 'debug', 'INFO', 'INFO3', 'WARN', 'ERROR', 'FATAL4'].map((s) => severityNumber(s)), [1, 5, 9, 11, 13, 17, 24]);
    assert.equal(severityNumber('LOUD'), undefined);
  });
});

describe('filter processor: config', () => {
  const issues = (c: unknown) => {
    const r = configSchema.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('names the bad key', () => {
    assert.deepEqual(issues({ spans: { include: { match_type: 'strict' } } }), ['spans.include: expected at least one property to match on besides match_type']);
    assert.match(issues({ spans: { exclude: { match_type: 'regexp', span_names: ['[a'] } } })[0]!, /^spans\.exclude\.span_names\.0: expected a regular expression/);
    assert.match(issues({ metrics: { include: { match_type: 'regexp', attributes: [{ key: 'a', value: '(' }] } } })[0]!, /^metrics\.include\.attributes\.0\.value: expected a regular expression/);
    assert.deepEqual(issues({ logs: { include: { severity_number: { min: 'LOUD' } } } }), ['logs.include.severity_number.min: expected a severity number 1-24 or a name like INFO, got "LOUD"']);
    assert.deepEqual(issues({ spans: { include: { match_type: 'glob', span_names: ['a'] } } }), ['spans.include.match_type: expected strict or regexp']);
    assert.match(issues({ spans: { include: { span_name: ['a'] } } })[0]!, /^spans\.include: Unrecognized key/);
  });
});
