// At start bpfcol says each receiver as it is ready (with how long it took) and each pipeline;
// `bpfcol status` and the health JSON show, per component, what went in and out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { runBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { readSpans, waitForItems } from '../support/otlp-files.ts';
import { freePort } from '../support/ports.ts';

describe('progress and status', () => {
  it('start lines, the health JSON and bpfcol status agree with what flowed', async () => {
    const dir = tempDir();
    const port = await freePort();
    const telemetry = await freePort();
    const out = join(dir.path, 'spans.jsonl');
    const config = writeConfig(dir.path, `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } } }
processors: { batch: { timeout: 50ms } }
exporters: { file: { path: "${out}" } }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetry}" } }
  pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [file] } }
`);
    const bpfcol = await startBpfcol(config);
    try {
      assert.match(bpfcol.output(), /receiver otlp \(traces\) started\s+duration_ms=\d+/);
      assert.match(bpfcol.output(), /pipeline traces: otlp -> batch -> file/);

      const spans = [1, 2, 3].map((i) => ({ traceId: '5b8efff798038103d269b633813fc60c', spanId: `eee19b7ec3c1b17${i}`, name: `s${i}`, kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2' }));
      const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ resource: {}, scopeSpans: [{ spans }] }] }) });
      assert.equal(r.status, 200);
      await waitForItems(() => readSpans(out), 3);

      const health = (await (await fetch(`http://127.0.0.1:${telemetry}/health`)).json()) as { healthy: boolean; components: { component: string; counters: Record<string, number> }[] };
      assert.equal(health.healthy, true);
      const of = (name: string) => health.components.find((c) => c.component === name)?.counters ?? {};
      assert.equal(of('receiver otlp')['receiver_accepted_spans'], 3);
      assert.equal(of('exporter file')['exporter_sent_spans'], 3);
      assert.equal(of('processor batch')['processor_incoming_items{otel.signal="traces",pipeline="traces"}'], 3);

      const status = runBpfcol(['status', '--config', config]);
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /^bpfcol is running \(healthy\), up \d+ s$/m);
      assert.match(status.stdout, /^ {2}pipeline traces: otlp -> batch -> file$/m);
      assert.match(status.stdout, /^receiver otlp:\n {2}receiver_accepted_spans\s+3$/m);
      assert.match(status.stdout, /^exporter file:\n(?: {2}.*\n)*? {2}exporter_sent_spans\s+3$/m);
    } finally {
      await bpfcol.stop();
      dir.cleanup();
    }
  });

  it('status says so when no bpfcol answers', async () => {
    const dir = tempDir();
    try {
      const port = await freePort();
      const config = writeConfig(dir.path, `
receivers: { otlp: { protocols: { http: {} } } }
exporters: { debug: {} }
service:
  telemetry: { metrics: { address: "127.0.0.1:${port}" } }
  pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
`);
      const r = runBpfcol(['status', '--config', config]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, new RegExp(`no bpfcol answers on http://127.0.0.1:${port}/health`));
    } finally {
      dir.cleanup();
    }
  });
});
