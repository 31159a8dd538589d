// config/examples/kubernetes.yaml: it validates, and outside a cluster it starts, says once that
// k8s_metadata adds host and process metadata only, and turns spans into RED and service graph
// metrics on its Prometheus endpoint. Ports are moved to free ones by a second config file
// (the CLI merges them). Needs root (the example's tcp_drop receiver).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, runBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';

const EXAMPLE = join(REPO_ROOT, 'config/examples/kubernetes.yaml');

describe('config/examples/kubernetes.yaml', () => {
  it('validates', () => {
    const r = runBpfcol(['validate', '--config', EXAMPLE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /5 pipeline\(s\)/);
  });

  it('runs outside Kubernetes with host metadata only, and makes span metrics and service graph edges', async () => {
    const dir = tempDir('bpfcol-k8s-example-');
    const [grpc, http, prom, telemetry] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const override = writeConfig(
      dir.path,
      `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpc}" }
      http: { endpoint: "127.0.0.1:${http}" }
connectors:
  spanmetrics: { metrics_flush_interval: 200ms }
  servicegraph: { metrics_flush_interval: 200ms }
exporters:
  prometheus: { endpoint: "127.0.0.1:${prom}" }
  otlp/traces: { endpoint: "127.0.0.1:1" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetry}" } }
`,
      'override.yaml',
    );
    const env = { KUBERNETES_SERVICE_HOST: '', K8S_NODE_NAME: '' };
    const bpfcol = await startBpfcol([EXAMPLE, override], env);
    try {
      const trace = '5b8efff798038103d269b633813fc60c';
      const resource = (name: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: name } }] });
      const body = {
        resourceSpans: [
          { resource: resource('web'), scopeSpans: [{ spans: [{ traceId: trace, spanId: 'eee19b7ec3c1b174', name: 'GET', kind: 3, startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712660030000000' }] }] },
          { resource: resource('api'), scopeSpans: [{ spans: [{ traceId: trace, spanId: 'eee19b7ec3c1b175', parentSpanId: 'eee19b7ec3c1b174', name: 'GET /items', kind: 2, startTimeUnixNano: '1544712660001000000', endTimeUnixNano: '1544712660021000000' }] }] },
        ],
      };
      const r = await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 200);
      let text = '';
      for (let i = 0; i < 150 && !/traces_service_graph_request_total\{[^}]*client="web"[^}]*server="api"[^}]*\} 1/.test(text); i++) {
        await new Promise((res) => setTimeout(res, 100));
        text = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
      }
      assert.match(text, /traces_service_graph_request_total\{[^}]*client="web"[^}]*server="api"[^}]*\} 1/);
      assert.match(text, /traces_span_metrics_calls_total\{[^}]*service_name="api"[^}]*span_kind="SPAN_KIND_SERVER"[^}]*\} 1/);
      assert.match(text, /target_info\{[^}]*host_name="[^"]+"[^}]*k8s_cluster_name="dev"/);
      const lines = bpfcol.output().split('\n').filter((l) => l.includes('adding host and process metadata only'));
      assert.equal(lines.length, 1, bpfcol.output());
    } finally {
      assert.equal(await bpfcol.stop(), 0);
      dir.cleanup();
    }
  });
});
