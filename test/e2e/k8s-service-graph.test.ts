// Spans shaped as socket_trace will produce them (CLIENT and SERVER, a process and its cgroup on
// the resource, addresses on the span, no service.name), sent over OTLP to the bpfcol command;
// k8s_metadata finds each process's pod (real processes in real kubelet-named cgroups, pods from
// an API server speaking list/watch), the spanmetrics and servicegraph connectors make request
// metrics, and a real Prometheus scrapes them labelled with namespace, pod and deployment for
// both ends of each edge. Needs root (cgroups).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBpfcol, tempDir, writeConfig, type RunningBpfcol } from '../support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../support/kube-apiserver.ts';
import { CgroupSandbox, kubeletPath, type TestCgroup } from '../support/kube-cgroups.ts';
import { freePort } from '../support/ports.ts';
import { type PrometheusPeer, type Sample, startPrometheus } from '../support/prometheus.ts';

const FRONTEND = { uid: '22222222-3333-4444-8555-666666666601', cid: 'f'.repeat(63) + '1', ip: '10.244.0.11', name: 'frontend-5c8d9f7b6c-q8wzt' };
const CHECKOUT = { uid: '22222222-3333-4444-8555-666666666602', cid: 'c'.repeat(63) + '2', ip: '10.244.0.12', name: 'checkout-7d9c6b5f4d-x2lqp' };
const DB = { ip: '10.244.0.20', name: 'orders-db-0' };

function frontendPod() {
  return fixture('pod-deployment', {
    metadata: {
      name: FRONTEND.name,
      generateName: 'frontend-5c8d9f7b6c-',
      uid: FRONTEND.uid,
      labels: { app: 'frontend', 'pod-template-hash': '5c8d9f7b6c' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend-5c8d9f7b6c', uid: '0f0e0d0c-0b0a-4909-8807-060504030201', controller: true, blockOwnerDeletion: true }],
    },
    spec: { containers: [{ name: 'frontend', image: 'registry.example.com/shop/frontend:2.0.0', ports: [{ name: 'http', containerPort: 3000, protocol: 'TCP' }] }] },
    status: { podIP: FRONTEND.ip, podIPs: [{ ip: FRONTEND.ip }], containerStatuses: [{ name: 'frontend', ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2024-11-17T10:19:48Z' } }, image: 'registry.example.com/shop/frontend:2.0.0', imageID: '', containerID: `containerd://${FRONTEND.cid}` }] },
  });
}

function checkoutPod() {
  return fixture('pod-deployment', {
    metadata: { uid: CHECKOUT.uid },
    status: { podIP: CHECKOUT.ip, podIPs: [{ ip: CHECKOUT.ip }], containerStatuses: [{ name: 'checkout', ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2024-11-17T10:19:48Z' } }, image: 'registry.example.com/shop/checkout:1.4.2', imageID: '', containerID: `containerd://${CHECKOUT.cid}` }] },
  });
}

const int = (v: number | bigint) => ({ intValue: String(v) });
const str = (v: string) => ({ stringValue: v });

/** OTLP/JSON resource spans for one process, as socket_trace describes it. */
function resourceSpans(pid: number, cgroupId: bigint, exe: string, spans: object[]) {
  return {
    resource: { attributes: [{ key: 'process.pid', value: int(pid) }, { key: 'container.cgroup.id', value: int(cgroupId) }, { key: 'process.executable.name', value: str(exe) }] },
    scopeSpans: [{ scope: { name: 'bpfcol/receiver/socket_trace', version: '0.1.0' }, spans }],
  };
}

function span(o: { trace: string; id: string; parent?: string; kind: 2 | 3; ms: number; error?: boolean; attrs: Record<string, string | number> }) {
  const start = BigInt(Date.now() - 1000) * 1_000_000n;
  return {
    traceId: o.trace,
    spanId: o.id,
    ...(o.parent && { parentSpanId: o.parent }),
    name: o.kind === 3 ? 'GET' : 'GET /api/cart',
    kind: o.kind,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(o.ms) * 1_000_000n),
    attributes: Object.entries(o.attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? int(v) : str(v) })),
    status: { code: o.error ? 2 : 0 },
  };
}

const sum = (samples: Sample[]) => samples.reduce((a, s) => a + s.value, 0);

describe('spans through k8s_metadata, spanmetrics and servicegraph to Prometheus', () => {
  const dir = tempDir('bpfcol-k8s-e2e-');
  let api: FakeKubeApiServer;
  let cgroups: CgroupSandbox;
  let prometheus: PrometheusPeer | undefined;
  let bpfcol: RunningBpfcol | undefined;
  const cg: Record<string, TestCgroup> = {};
  const pid: Record<string, number> = {};

  before(async () => {
    api = await FakeKubeApiServer.start();
    api.apply('replicasets', fixture('replicaset'));
    api.apply('replicasets', fixture('replicaset', { metadata: { name: 'frontend-5c8d9f7b6c', uid: '0f0e0d0c-0b0a-4909-8807-060504030201', labels: { app: 'frontend', 'pod-template-hash': '5c8d9f7b6c' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'frontend', uid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', controller: true, blockOwnerDeletion: true }] } }));
    api.apply('pods', frontendPod());
    api.apply('pods', checkoutPod());
    api.apply('pods', fixture('pod-statefulset', { status: { podIP: DB.ip, podIPs: [{ ip: DB.ip }] } }));
    cgroups = CgroupSandbox.create();
    cg.frontend = cgroups.cgroup(kubeletPath('containerd', FRONTEND.uid, FRONTEND.cid));
    cg.checkout = cgroups.cgroup(kubeletPath('containerd', CHECKOUT.uid, CHECKOUT.cid));
    pid.frontend = await cgroups.spawnIn(cg.frontend);
    pid.checkout = await cgroups.spawnIn(cg.checkout);
  });

  after(async () => {
    await bpfcol?.stop();
    await prometheus?.stop();
    await cgroups?.cleanup();
    await api?.stop();
    dir.cleanup();
  });

  it('Prometheus shows request, error and latency metrics per edge with namespace, pod and deployment of both ends', async () => {
    const [otlpPort, promPort, telemetryPort] = [await freePort(), await freePort(), await freePort()];
    const kubeconfig = writeKubeconfig(dir.path, api);
    const config = writeConfig(
      dir.path,
      `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${otlpPort}" }
processors:
  k8s_metadata:
    auth_type: kubeConfig
    kube_config_path: "${kubeconfig}"
    wait_for_metadata: true
    filter: { node_from_env_var: E2E_NODE_NAME }
connectors:
  spanmetrics:
    metrics_flush_interval: 500ms
    dimensions:
      - name: k8s.namespace.name
      - name: k8s.pod.name
      - name: k8s.deployment.name
  servicegraph:
    metrics_flush_interval: 500ms
    store: { ttl: 1s }
    store_expiration_loop: 200ms
    virtual_node_extra_label: true
    dimensions: [k8s.namespace.name, k8s.pod.name, k8s.deployment.name]
exporters:
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    traces:
      receivers: [otlp]
      processors: [k8s_metadata]
      exporters: [spanmetrics, servicegraph]
    metrics:
      receivers: [spanmetrics, servicegraph]
      exporters: [prometheus]
`,
    );
    bpfcol = await startBpfcol(config, { E2E_NODE_NAME: 'node-a' });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${promPort}`] });

    // Five requests frontend -> checkout (one failing on the server), and one to the database,
    // whose server side is not traced: it becomes a virtual node named from the peer address.
    const client = [];
    const server = [];
    for (let i = 1; i <= 5; i++) {
      const trace = `${i}`.padStart(32, 'a');
      const id = `${i}`.padStart(16, 'c');
      client.push(span({ trace, id, kind: 3, ms: 30, attrs: { 'server.address': CHECKOUT.ip, 'server.port': 8080, 'network.peer.address': CHECKOUT.ip, 'network.peer.port': 8080, 'http.request.method': 'GET' } }));
      server.push(span({ trace, id: `${i}`.padStart(16, 'd'), parent: id, kind: 2, ms: 20, error: i === 5, attrs: { 'client.address': FRONTEND.ip, 'network.peer.address': FRONTEND.ip, 'http.request.method': 'GET', 'http.response.status_code': i === 5 ? 500 : 200 } }));
    }
    client.push(span({ trace: 'b'.repeat(32), id: 'e'.repeat(16), kind: 3, ms: 4, attrs: { 'server.address': DB.ip, 'server.port': 5432, 'network.peer.address': DB.ip, 'network.peer.port': 5432, 'db.system.name': 'postgresql' } }));
    const body = {
      resourceSpans: [
        resourceSpans(pid.frontend!, cg.frontend!.id, 'node', client),
        resourceSpans(pid.checkout!, cg.checkout!.id, 'java', server),
      ],
    };
    const r = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());

    const both = `client="frontend",server="checkout",client_k8s_namespace_name="shop",server_k8s_namespace_name="shop",client_k8s_deployment_name="frontend",server_k8s_deployment_name="checkout",client_k8s_pod_name="${FRONTEND.name}",server_k8s_pod_name="${CHECKOUT.name}"`;
    const requests = await prometheus.waitForSeries(`traces_service_graph_request_total{${both}}`, { accept: (s) => sum(s) === 5 });
    assert.deepEqual(requests.map((s) => [s.labels.failed, s.value]).sort(), [['false', 4], ['true', 1]]);
    const failed = await prometheus.waitForSeries(`traces_service_graph_request_failed_total{${both}}`);
    assert.equal(sum(failed), 1);
    const latency = await prometheus.waitForSeries(`traces_service_graph_request_server_seconds_bucket{${both},le="0.05"}`, { accept: (s) => sum(s) === 5 });
    assert.equal(sum(latency), 5);
    assert.equal(sum(await prometheus.query(`traces_service_graph_request_server_seconds_bucket{${both},le="0.01"}`)), 0, 'the 20 ms server spans are above 10 ms');
    const clientSeconds = sum(await prometheus.query(`traces_service_graph_request_client_seconds_sum{${both}}`));
    assert.ok(Math.abs(clientSeconds - 0.15) < 1e-9, `five 30 ms client spans, got ${clientSeconds}`);

    const db = await prometheus.waitForSeries(`traces_service_graph_request_total{client="frontend",server="orders-postgres",connection_type="virtual_node",virtual_node="server"}`);
    assert.deepEqual([db[0]!.labels.server_k8s_pod_name, db[0]!.labels.client_k8s_pod_name, db[0]!.value], [DB.name, FRONTEND.name, 1]);

    const calls = await prometheus.waitForSeries(`traces_span_metrics_calls_total{service_name="checkout",span_kind="SPAN_KIND_SERVER",k8s_namespace_name="shop",k8s_pod_name="${CHECKOUT.name}",k8s_deployment_name="checkout"}`, { accept: (s) => sum(s) === 5 });
    assert.deepEqual(calls.map((s) => [s.labels.status_code, s.value]).sort(), [['STATUS_CODE_ERROR', 1], ['STATUS_CODE_UNSET', 4]]);
    const clientCalls = await prometheus.waitForSeries(`traces_span_metrics_calls_total{service_name="frontend",span_kind="SPAN_KIND_CLIENT",k8s_pod_name="${FRONTEND.name}",k8s_deployment_name="frontend"}`, { accept: (s) => sum(s) === 6 });
    assert.equal(sum(clientCalls), 6);
    const duration = await prometheus.waitForSeries(`traces_span_metrics_duration_milliseconds_count{service_name="checkout",k8s_pod_name="${CHECKOUT.name}"}`, { accept: (s) => sum(s) === 5 });
    assert.equal(sum(duration), 5);

    const own = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
    assert.match(own, /bpfcol_processor_k8s_metadata_associations_total\{[^}]*level="resource"[^}]*result="matched"[^}]*\} 2/);
    assert.equal(await bpfcol.stop(), 0);
    bpfcol = undefined;
  });
});
