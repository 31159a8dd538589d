// The TCP drops map between pod pairs, from live kernel data: two network namespaces stand for
// two pods (their addresses are the pods' IPs in a fake API server speaking list/watch), the
// client and server processes run in real cgroups named as kubelet names them, tcp_drop sees their
// connections and drops, k8s_metadata names the pods (pid/cgroup id of the owner; the local
// address for drops no process owns; the peer address for the other end), the servicegraph
// connector folds the socket series into edges, and a real Prometheus scrapes them. Needs root.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startBpfcol, tempDir, writeConfig, type RunningBpfcol } from '../support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../support/kube-apiserver.ts';
import { CgroupSandbox, kubeletPath, type TestCgroup } from '../support/kube-cgroups.ts';
import { createNetnsPair, type Netns, type NetnsPair, requireRootForNetns } from '../support/netns.ts';
import { freePort } from '../support/ports.ts';
import { type PrometheusPeer, type Sample, startPrometheus } from '../support/prometheus.ts';

const PEER = join(REPO_ROOT, 'test/support/tcp-peer.ts');
const FRONTEND = { uid: '33333333-4444-4555-8666-777777777701', cid: 'a'.repeat(63) + '1', name: 'frontend-5c8d9f7b6c-q8wzt' };
const CHECKOUT = { uid: '33333333-4444-4555-8666-777777777702', cid: 'b'.repeat(63) + '2', name: 'checkout-7d9c6b5f4d-x2lqp' };

function pod(base: 'frontend' | 'checkout', ip: string) {
  const p = base === 'frontend' ? FRONTEND : CHECKOUT;
  const patch: Record<string, unknown> = {
    metadata: { uid: p.uid },
    status: { podIP: ip, podIPs: [{ ip }], containerStatuses: [{ name: base, ready: true, restartCount: 0, started: true, state: { running: { startedAt: '2024-11-17T10:19:48Z' } }, image: '', imageID: '', containerID: `containerd://${p.cid}` }] },
  };
  if (base === 'frontend') {
    Object.assign(patch.metadata as object, {
      name: FRONTEND.name,
      labels: { app: 'frontend', 'pod-template-hash': '5c8d9f7b6c' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend-5c8d9f7b6c', uid: '0f0e0d0c-0b0a-4909-8807-060504030201', controller: true }],
    });
    patch.spec = { containers: [{ name: 'frontend', image: 'registry.example.com/shop/frontend:2.0.0' }] };
  }
  return fixture('pod-deployment', patch);
}

const started: ChildProcess[] = [];

/**
 * Runs a tcp-peer command inside `ns`, from inside `cg`: the shell joins the cgroup, then execs
 * `ip netns exec`, which execs node (one pid throughout). It joins before entering the namespace
 * because `ip netns exec` mounts a sysfs of its own, without the cgroup mounts.
 */
function inCgroup(ns: Netns, cg: TestCgroup, args: string[]): ChildProcess {
  const child = spawn('sh', ['-c', `echo $$ > "${cg.dir}/cgroup.procs" && exec ip netns exec "${ns.name}" "${process.execPath}" "${PEER}" ${args.join(' ')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return child;
}

function firstLine(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as Record<string, unknown>);
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`tcp-peer exited (${code}) without output: ${err}`));
    });
  });
}

const sum = (samples: Sample[]) => samples.reduce((a, s) => a + s.value, 0);

describe('tcp_drop -> k8s_metadata -> servicegraph: drops and connections between pod pairs', () => {
  const dir = tempDir('bpfcol-k8s-tcp-');
  let pair: NetnsPair;
  let api: FakeKubeApiServer;
  let cgroups: CgroupSandbox;
  let prometheus: PrometheusPeer | undefined;
  let bpfcol: RunningBpfcol | undefined;

  before(async () => {
    requireRootForNetns();
    pair = createNetnsPair();
    api = await FakeKubeApiServer.start();
    api.apply('replicasets', fixture('replicaset'));
    api.apply('replicasets', fixture('replicaset', { metadata: { name: 'frontend-5c8d9f7b6c', uid: '0f0e0d0c-0b0a-4909-8807-060504030201', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'frontend', uid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', controller: true }] } }));
    api.apply('pods', pod('frontend', pair.a.address));
    api.apply('pods', pod('checkout', pair.b.address));
    cgroups = CgroupSandbox.create();
  });

  after(async () => {
    for (const c of started) c.kill('SIGKILL');
    await bpfcol?.stop();
    await prometheus?.stop();
    pair?.cleanup();
    await cgroups?.cleanup();
    await api?.stop();
    dir.cleanup();
  });

  it('Prometheus shows connections, bytes and drops per client -> server pod pair', async () => {
    const { a, b } = pair;
    const frontend = cgroups.cgroup(kubeletPath('containerd', FRONTEND.uid, FRONTEND.cid));
    const checkout = cgroups.cgroup(kubeletPath('containerd', CHECKOUT.uid, CHECKOUT.cid));
    const [promPort, telemetryPort] = [await freePort(), await freePort()];
    const config = writeConfig(
      dir.path,
      `
receivers:
  tcp_drop:
    collection_interval: 1s
    filters: { cidrs: ["${pair.cidr}"] }
processors:
  k8s_metadata:
    auth_type: kubeConfig
    kube_config_path: "${writeKubeconfig(dir.path, api)}"
    wait_for_metadata: true
    filter: { node_from_env_var: E2E_NODE_NAME }
connectors:
  servicegraph:
    metrics_flush_interval: 500ms
    dimensions: [k8s.namespace.name, k8s.pod.name, k8s.deployment.name]
exporters:
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    metrics/tcp:
      receivers: [tcp_drop]
      processors: [k8s_metadata]
      exporters: [servicegraph, prometheus]
    metrics:
      receivers: [servicegraph]
      exporters: [prometheus]
`,
    );
    bpfcol = await startBpfcol(config, { E2E_NODE_NAME: 'node-a' });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${promPort}`] });

    // checkout listens on 8080; frontend makes 3 connections of 1000 bytes each, then 3 SYNs to
    // port 9 where nothing listens (3 NO_SOCKET drops in checkout's namespace, owned by no process).
    const server = inCgroup(b, checkout, ['server', b.address, '8080']);
    await firstLine(server);
    await firstLine(inCgroup(a, frontend, ['send', b.address, '8080', '1000', '3']));
    const refused = (await firstLine(inCgroup(a, frontend, ['connect', b.address, '9', '3', '5000']))) as { results: { result: string }[] };
    assert.deepEqual(refused.results.map((r) => r.result), ['refused', 'refused', 'refused']);
    await a.waitForQuietSockets();
    await b.waitForQuietSockets();

    const pods = `client="frontend",server="checkout",client_k8s_pod_name="${FRONTEND.name}",server_k8s_pod_name="${CHECKOUT.name}",client_k8s_deployment_name="frontend",server_k8s_deployment_name="checkout",client_k8s_namespace_name="shop",server_k8s_namespace_name="shop"`;
    const drops = await prometheus.waitForSeries(`tcp_service_graph_drops_total{${pods},tcp_drop_reason="NO_SOCKET"}`, { accept: (s) => sum(s) === 3, timeoutMs: 60_000 });
    assert.deepEqual(drops.map((s) => [s.labels.reporter, s.value]), [['server', 3]]);

    const opened = await prometheus.waitForSeries(`tcp_service_graph_connections_total{${pods}}`, { accept: (s) => s.length === 2 && sum(s) === 6, timeoutMs: 60_000 });
    assert.deepEqual(opened.map((s) => [s.labels.reporter, s.value]).sort(), [['client', 3], ['server', 3]], 'each connection seen from both sockets, each in its own pod');
    // As the kernel counts: the client's bytes acked include its SYN and FIN, the server's bytes received the FIN.
    const request = await prometheus.waitForSeries(`tcp_service_graph_request_bytes_total{${pods}}`, { accept: (s) => s.length === 2, timeoutMs: 60_000 });
    assert.deepEqual(request.map((s) => [s.labels.reporter, s.value]).sort(), [['client', 3 * 1002], ['server', 3 * 1001]]);
    const failed = await prometheus.waitForSeries(`tcp_service_graph_connections_failed_total{${pods}}`, { timeoutMs: 60_000 });
    assert.deepEqual(failed.map((s) => [s.labels.reporter, s.value]), [['client', 3]]);

    // The socket series themselves, labelled with both pods.
    const raw = await prometheus.waitForSeries(`tcp_connections_opened_total{k8s_pod_name="${FRONTEND.name}",peer_k8s_pod_name="${CHECKOUT.name}",peer_service="checkout",container_id="${FRONTEND.cid}"}`);
    assert.equal(sum(raw), 3);
    assert.equal(await bpfcol.stop(), 0);
    bpfcol = undefined;
  });
});
