// The README's run command starts config/default.yaml: it must validate, start, serve metrics,
// health and the OTLP endpoints on their documented addresses, and stop cleanly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { REPO_ROOT, runBpfcol, startBpfcol, tempDir } from '../support/cli.ts';
import { readSpans, waitForItems } from '../support/otlp-files.ts';

const DEFAULT = join(REPO_ROOT, 'config/default.yaml');

describe('config/default.yaml', () => {
  it('validates', () => {
    const r = runBpfcol(['validate', '--config', DEFAULT]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('runs with no backend: Prometheus endpoint, health, OTLP/HTTP in, spans to the local file', async () => {
    const data = tempDir();
    const bpfcol = await startBpfcol(DEFAULT, { BPFCOL_DATA_DIR: data.path });
    try {
      const health = await fetch('http://127.0.0.1:8888/health');
      assert.equal(health.status, 200);
      const prom = await fetch('http://127.0.0.1:9464/metrics');
      assert.equal(prom.status, 200);
      assert.match(prom.headers.get('content-type') ?? '', /text\/plain/);

      const span = {
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'curl-like' } }] },
          scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'hello', kind: 2, startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000000' }] }],
        }],
      };
      const r = await fetch('http://127.0.0.1:4318/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(span) });
      assert.equal(r.status, 200);
      // socket_trace (in the default pipeline) traces this test's own HTTP calls too: find ours
      const spans = await waitForItems(() => readSpans(join(data.path, 'traces.jsonl')).filter((s) => s.span.name === 'hello'), 1);
      assert.equal(spans[0]!.span.name, 'hello');
      await bpfcol.waitForOutput(/TracesExporter.*\bspans=\d+\b/);
      const own = await (await fetch('http://127.0.0.1:8888/metrics')).text();
      assert.match(own, /bpfcol_receiver_accepted_spans_total\{[^}]*receiver="otlp"[^}]*\} 1/);
    } finally {
      assert.equal(await bpfcol.stop(), 0);
      data.cleanup();
    }
  });
});
