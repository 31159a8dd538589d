// Processors users write themselves, loaded from a module named in the YAML: the documented
// example works, a module's config is checked by its own schema, and a module that throws never
// breaks the pipeline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { getAttribute } from '../../src/pdata/common.ts';
import { REPO_ROOT, runBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { readSpans, waitForItems } from '../support/otlp-files.ts';
import { freePort } from '../support/ports.ts';

function span(name: string, service: string) {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name, kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2' }] }],
    }],
  };
}

async function post(port: number, body: unknown): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  return r.status;
}

describe('custom processors from modules', () => {
  it('the documented example validates', () => {
    const r = runBpfcol(['validate', '--config', join(REPO_ROOT, 'config/examples/custom-processor.yaml')]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('the example tags spans with the tenant of their service', async () => {
    const dir = tempDir();
    const port = await freePort();
    const out = join(dir.path, 'spans.jsonl');
    const config = writeConfig(dir.path, `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } } }
processors:
  custom/tag_tenant:
    module: ${join(REPO_ROOT, 'config/examples/processors/tag-tenant.ts')}
    config: { tenants: { checkout: team-payments } }
exporters: { file: { path: "${out}" } }
service:
  telemetry: { metrics: { level: none } }
  pipelines: { traces: { receivers: [otlp], processors: [custom/tag_tenant], exporters: [file] } }
`);
    const bpfcol = await startBpfcol(config);
    try {
      assert.equal(await post(port, span('pay', 'checkout')), 200);
      assert.equal(await post(port, span('look', 'catalog')), 200);
      const spans = await waitForItems(() => readSpans(out), 2);
      const tenantOf = (name: string) => getAttribute(spans.find((s) => s.span.name === name)!.span.attributes, 'tenant.id');
      assert.equal(tenantOf('pay'), 'team-payments');
      assert.equal(tenantOf('look'), 'shared');
    } finally {
      await bpfcol.stop();
      dir.cleanup();
    }
  });

  it("a module's config is checked by its own schema, with the path", () => {
    const dir = tempDir();
    try {
      const config = writeConfig(dir.path, `
receivers: { otlp: { protocols: { http: {} } } }
processors:
  custom/tag_tenant: { module: ${join(REPO_ROOT, 'config/examples/processors/tag-tenant.ts')}, config: { tenant: x } }
  custom/missing: { module: ./nope.ts }
exporters: { debug: {} }
service: { pipelines: { traces: { receivers: [otlp], processors: [custom/tag_tenant, custom/missing], exporters: [debug] } } }
`);
      const r = runBpfcol(['validate', '--config', config]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /processors\.custom\/tag_tenant\.config\.tenant: unknown key/);
      assert.match(r.stderr, /processors\.custom\/missing\.module: no such file: .*nope\.ts/);
    } finally {
      dir.cleanup();
    }
  });

  for (const onError of ['pass', 'drop'] as const) {
    it(`a module that throws: the batch is ${onError === 'pass' ? 'passed on unchanged' : 'dropped'}, counted, and the pipeline keeps working`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const telemetry = await freePort();
      const out = join(dir.path, 'spans.jsonl');
      const config = writeConfig(dir.path, `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } } }
processors:
  custom/flaky: { module: ${join(REPO_ROOT, 'test/fixtures/modules/flaky.ts')}, on_error: ${onError} }
exporters: { file: { path: "${out}" } }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetry}" } }
  pipelines: { traces: { receivers: [otlp], processors: [custom/flaky], exporters: [file] } }
`);
      const bpfcol = await startBpfcol(config);
      try {
        assert.equal(await post(port, span('boom', 'svc')), 200);
        assert.equal(await post(port, span('fine', 'svc')), 200);
        const spans = await waitForItems(() => readSpans(out), onError === 'pass' ? 2 : 1);
        const names = spans.map((s) => s.span.name).sort();
        assert.deepEqual(names, onError === 'pass' ? ['boom', 'fine'] : ['fine']);
        const fine = spans.find((s) => s.span.name === 'fine')!;
        assert.equal(getAttribute(fine.span.attributes, 'flaky.mark'), 'seen');
        if (onError === 'pass') {
          const boom = spans.find((s) => s.span.name === 'boom')!;
          assert.equal(getAttribute(boom.span.attributes, 'flaky.mark'), undefined, 'passed on as it was before the module touched it');
        }
        const metrics = await (await fetch(`http://127.0.0.1:${telemetry}/metrics`)).text();
        assert.match(metrics, new RegExp(`bpfcol_processor_module_errors_total\\{[^}]*processor="custom/flaky"[^}]*\\} 1`));
        assert.match(bpfcol.output(), /processor module threw/);
      } finally {
        await bpfcol.stop();
        dir.cleanup();
      }
    });
  }
});
