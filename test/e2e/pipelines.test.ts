// Pipelines as a user builds them: one receiver fanned out to several pipelines, a mutating
// processor that must not leak its change into the other pipelines, an exporter shared by two
// pipelines (fan-in), start in the Collector's order, and a SIGTERM that drains a batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { getAttribute } from '../../src/pdata/common.ts';
import { startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { runFixture } from '../support/node-app.ts';
import { readSpans, waitForItems } from '../support/otlp-files.ts';
import { freePort } from '../support/ports.ts';

describe('pipeline graph', () => {
  it('fans out with a private copy for the mutating pipeline and fans in to a shared exporter', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = writeConfig(dir.path, `
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${port}" } } }
processors:
  attributes/tag: { actions: [{ key: pipeline.tag, action: upsert, value: tagged }] }
exporters:
  file/plain: { path: "${join(dir.path, 'plain.jsonl')}" }
  file/tagged: { path: "${join(dir.path, 'tagged.jsonl')}" }
  file/shared: { path: "${join(dir.path, 'shared.jsonl')}" }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces/plain: { receivers: [otlp], exporters: [file/plain, file/shared] }
    traces/tagged: { receivers: [otlp], processors: [attributes/tag], exporters: [file/tagged, file/shared] }
`);
    const bpfcol = await startBpfcol(config);
    try {
      await runFixture('otel-app.ts', [`http://127.0.0.1:${port}`]);
      const plain = await waitForItems(() => readSpans(join(dir.path, 'plain.jsonl')), 2);
      const tagged = await waitForItems(() => readSpans(join(dir.path, 'tagged.jsonl')), 2);
      const shared = await waitForItems(() => readSpans(join(dir.path, 'shared.jsonl')), 4);
      assert.equal(plain.length, 2);
      assert.equal(tagged.length, 2);
      for (const s of plain) assert.equal(getAttribute(s.span.attributes, 'pipeline.tag'), undefined, 'the plain pipeline never sees the tag');
      for (const s of tagged) assert.equal(getAttribute(s.span.attributes, 'pipeline.tag'), 'tagged');
      // One shared exporter instance received both pipelines' spans: two tagged, two not.
      assert.equal(shared.length, 4);
      assert.equal(shared.filter((s) => getAttribute(s.span.attributes, 'pipeline.tag') === 'tagged').length, 2);
    } finally {
      await bpfcol.stop();
      dir.cleanup();
    }
  });

  it('starts exporters, then processors, then receivers, and SIGTERM drains a batch still held', async () => {
    const dir = tempDir();
    const port = await freePort();
    const out = join(dir.path, 'drained.jsonl');
    const config = writeConfig(dir.path, `
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${port}" } } }
processors:
  batch: { timeout: 1h, send_batch_size: 100000 }
exporters:
  file: { path: "${out}" }
service:
  telemetry: { logs: { level: debug }, metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [file] }
`);
    const bpfcol = await startBpfcol(config);
    let code: number | null;
    try {
      await runFixture('otel-app.ts', [`http://127.0.0.1:${port}`]);
      assert.equal(readSpans(out).length, 0, 'the batch holds the spans until it is flushed');
    } finally {
      code = await bpfcol.stop('SIGTERM');
    }
    try {
      assert.equal(code, 0, bpfcol.output());
      assert.equal(readSpans(out).length, 2, 'shutdown flushed the batch to the exporter');
      const lines = bpfcol.output().split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const exporter = at(/starting.*exporter file/);
      const processor = at(/starting.*processor batch/);
      const receiver = at(/starting.*receiver otlp/);
      assert.ok(exporter >= 0 && processor > exporter && receiver > processor, `start order wrong:\n${bpfcol.output()}`);
      assert.match(bpfcol.output(), /shutdown complete/);
    } finally {
      dir.cleanup();
    }
  });
});
