// The processor with live data: real processes in real cgroups named as kubelet names them (each
// container runtime's layout, cgroup v2 and v1), pods served by an API server speaking the real
// list/watch protocol, and every association path from there.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { attributes, getAttribute, type KeyValue } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import { SpanKind, type TracesData } from '../../src/pdata/traces.ts';
import { tempDir } from '../../test/support/cli.ts';
import { captureLogger, recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../../test/support/kube-apiserver.ts';
import { CgroupSandbox, kubeletPath, type Layout, type TestCgroup } from '../../test/support/kube-cgroups.ts';
import { configSchema } from './config.ts';
import { k8sMetadataFactory } from './factory.ts';
import { placeOf } from './host.ts';

const NODE_ENV = 'BPFCOL_TEST_K8S_NODE';
process.env[NODE_ENV] = 'node-a';

const hex = (c: string) => c.repeat(64);
const C = { checkout: hex('a'), envoy: hex('b'), db: hex('c'), exporter: hex('d'), report: hex('e'), etcd: hex('f'), unknownEtcd: '1'.repeat(64), stranger: '2'.repeat(64) };
const U = { checkout: '11111111-2222-4333-8444-555555555501', db: '11111111-2222-4333-8444-555555555502', exporter: '11111111-2222-4333-8444-555555555503', report: '11111111-2222-4333-8444-555555555504', etcd: '11111111-2222-4333-8444-555555555505' };
const ETCD_HASH = '5ede50c3cbbe94c4cec7017c71e46240';

let server: FakeKubeApiServer;
let v2: CgroupSandbox;
let v1: CgroupSandbox;
const dir = tempDir('bpfcol-k8s-meta-');
let kubeconfig: string;
const cg: Record<string, TestCgroup> = {};
const pid: Record<string, number> = {};

function status(name: string, id: string) {
  return { name, containerID: `containerd://${id}`, ready: true, restartCount: 0, state: { running: { startedAt: '2024-11-17T10:19:48Z' } } };
}

before(async () => {
  server = await FakeKubeApiServer.start();
  kubeconfig = writeKubeconfig(dir.path, server);
  server.apply('namespaces', fixture('namespace'));
  server.apply('nodes', fixture('node'));
  server.apply('replicasets', fixture('replicaset'));
  server.apply('jobs', fixture('job'));
  server.apply('pods', fixture('pod-deployment', { metadata: { uid: U.checkout }, status: { containerStatuses: [status('checkout', C.checkout), status('envoy', C.envoy)] } }));
  server.apply('pods', fixture('pod-statefulset', { metadata: { uid: U.db }, status: { containerStatuses: [{ ...status('postgres', C.db), containerID: `cri-o://${C.db}` }] } }));
  server.apply('pods', fixture('pod-daemonset-hostnetwork', { metadata: { uid: U.exporter }, status: { containerStatuses: [{ ...status('node-exporter', C.exporter), containerID: `docker://${C.exporter}` }] } }));
  server.apply('pods', fixture('pod-cronjob', { metadata: { uid: U.report }, status: { containerStatuses: [status('report', C.report)] } }));
  server.apply('pods', fixture('pod-static-mirror', { metadata: { uid: U.etcd }, status: { containerStatuses: [{ ...status('etcd', C.etcd), containerID: `cri-o://${C.etcd}` }] } }));
  server.apply('pods', fixture('pod-deployment', { metadata: { name: 'elsewhere-1', uid: '99999999-2222-4333-8444-555555555599' }, spec: { nodeName: 'node-b' }, status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], containerStatuses: [] } }));

  v2 = CgroupSandbox.create();
  v1 = CgroupSandbox.create('cpu');
  const place = (sandbox: CgroupSandbox, key: string, layout: Layout, uid: string, id: string, qos: 'burstable' | 'besteffort' | 'guaranteed' = 'burstable') => {
    cg[key] = sandbox.cgroup(kubeletPath(layout, uid, id, qos));
  };
  place(v2, 'checkout', 'containerd', U.checkout, C.checkout);
  place(v2, 'envoy', 'containerd', U.checkout, C.envoy);
  place(v2, 'db', 'cri-o', U.db, C.db, 'besteffort');
  place(v2, 'exporter', 'docker', U.exporter, C.exporter, 'guaranteed');
  place(v1, 'report', 'cgroupfs', U.report, C.report, 'besteffort');
  // A static pod: the path holds kubelet's uid for it (its config hash), and a container its status does not list yet.
  cg.etcd = v2.cgroup(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${ETCD_HASH}.slice/crio-${C.unknownEtcd}.scope`);
  // A container of a pod the API does not know.
  cg.stranger = v2.cgroup(kubeletPath('containerd', '99999999-0000-4000-8000-000000000000', C.stranger));
  for (const key of Object.keys(cg)) pid[key] = await (key === 'report' ? v1 : v2).spawnIn(cg[key]!);
});

after(async () => {
  await v2?.cleanup();
  await v1?.cleanup();
  await server?.stop();
  dir.cleanup();
});

function make<S extends Signal>(signal: S, config: Record<string, unknown> = {}) {
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger('info');
  const sink = new SinkConsumer<S>();
  const parsed = configSchema.parse({ auth_type: 'kubeConfig', kube_config_path: kubeconfig, wait_for_metadata: true, filter: { node_from_env_var: NODE_ENV }, ...config });
  const p = k8sMetadataFactory.create[signal]!(testSettings('k8s_metadata', 'processor', signal, { telemetry, logger }), parsed, sink as never);
  return { p, sink, telemetry, lines };
}

async function withProcessor<S extends Signal>(signal: S, config: Record<string, unknown>, run: (x: ReturnType<typeof make<S>>) => Promise<void>) {
  const x = make(signal, config);
  await x.p.start({ getExtension: () => undefined });
  try {
    await run(x);
  } finally {
    await x.p.shutdown();
  }
}

function traces(resource: Record<string, string | number | bigint>, spans: { kind?: SpanKind; attrs?: Record<string, string | number | bigint> }[] = []): TracesData {
  return {
    resourceSpans: [{
      resource: { attributes: attributes(resource) },
      scopeSpans: [{ spans: spans.map((s, i) => ({ traceId: 'a'.repeat(32), spanId: String(i + 1).padStart(16, '0'), name: 'GET /', kind: s.kind ?? SpanKind.SERVER, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: attributes(s.attrs ?? {}), events: [], links: [], status: { code: 0 } })) }],
    }],
  };
}

const str = (list: KeyValue[], key: string) => getAttribute(list, key);
const pick = (list: KeyValue[], keys: string[]) => Object.fromEntries(keys.map((k) => [k, str(list, k)]));

async function resourceOf(config: Record<string, unknown>, resource: Record<string, string | number | bigint>): Promise<KeyValue[]> {
  let out: KeyValue[] = [];
  await withProcessor('traces', config, async ({ p, sink }) => {
    await p.consume(traces(resource, [{}]));
    out = sink.received[0]!.resourceSpans[0]!.resource.attributes;
  });
  return out;
}

describe('k8s_metadata: from a process to its pod, per container runtime', () => {
  it('containerd (systemd driver, cgroup v2): pid -> cgroup -> container -> Deployment pod, with the workload chain, container, service.name and process facts', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.checkout! });
    assert.deepEqual(pick(r, ['k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid', 'k8s.node.name', 'k8s.container.name', 'container.id', 'k8s.deployment.name', 'k8s.replicaset.name', 'service.name']), {
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'checkout-7d9c6b5f4d-x2lqp',
      'k8s.pod.uid': U.checkout,
      'k8s.node.name': 'node-a',
      'k8s.container.name': 'checkout',
      'container.id': C.checkout,
      'k8s.deployment.name': 'checkout',
      'k8s.replicaset.name': 'checkout-7d9c6b5f4d',
      'service.name': 'checkout',
    });
    assert.deepEqual(pick(r, ['process.executable.name', 'process.executable.path', 'process.owner']), { 'process.executable.name': 'sleep', 'process.executable.path': '/usr/bin/sleep', 'process.owner': 'root' });
    assert.deepEqual(pick(r, ['host.name', 'os.type']), { 'host.name': hostname(), 'os.type': 'linux' });
  });

  it('the second container of the same pod is told apart by its own cgroup', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.envoy! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.container.name', 'container.id']), { 'k8s.pod.name': 'checkout-7d9c6b5f4d-x2lqp', 'k8s.container.name': 'envoy', 'container.id': C.envoy });
  });

  it('CRI-O (crio-<id>.scope, BestEffort): a StatefulSet pod, service.name from the resource.opentelemetry.io annotation', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.db! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.statefulset.name', 'k8s.container.name', 'service.name']), { 'k8s.pod.name': 'orders-db-0', 'k8s.statefulset.name': 'orders-db', 'k8s.container.name': 'postgres', 'service.name': 'orders-postgres' });
  });

  it('Docker (docker-<id>.scope, Guaranteed): a host-network DaemonSet pod, service.name from app.kubernetes.io/name', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.exporter! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.daemonset.name', 'service.name', 'k8s.namespace.name']), { 'k8s.pod.name': 'node-exporter-njm2k', 'k8s.daemonset.name': 'node-exporter', 'service.name': 'node-exporter', 'k8s.namespace.name': 'monitoring' });
  });

  it('cgroupfs driver on cgroup v1 (cpu hierarchy): a CronJob pod, the CronJob found through its Job', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.report! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.job.name', 'k8s.cronjob.name', 'service.name', 'container.id']), { 'k8s.pod.name': 'report-28865040-9xk2v', 'k8s.job.name': 'report-28865040', 'k8s.cronjob.name': 'report', 'service.name': 'report', 'container.id': C.report });
  });

  it('a static pod found by the config hash in its cgroup path, before its container is in the status', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.etcd! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.pod.uid', 'container.id', 'k8s.container.name', 'service.name']), { 'k8s.pod.name': 'etcd-node-a', 'k8s.pod.uid': U.etcd, 'container.id': C.unknownEtcd, 'k8s.container.name': undefined, 'service.name': 'etcd-node-a' });
  });

  it('a container of a pod the API does not know: container.id only', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.stranger! });
    assert.deepEqual(pick(r, ['container.id', 'k8s.pod.name']), { 'container.id': C.stranger, 'k8s.pod.name': undefined });
  });
});

describe('k8s_metadata: every association source', () => {
  it('cgroup id (the inode eBPF programs report) -> pod', async () => {
    const r = await resourceOf({}, { 'container.cgroup.id': cg.db!.id });
    assert.equal(str(r, 'k8s.pod.name'), 'orders-db-0');
    assert.equal(str(r, 'container.id'), C.db);
  });

  it('cgroup path -> pod', async () => {
    const r = await resourceOf({}, { 'container.cgroup.path': cg.exporter!.path });
    assert.equal(str(r, 'k8s.pod.name'), 'node-exporter-njm2k');
  });

  it('container.id, k8s.pod.uid and k8s.pod.ip -> pod', async () => {
    assert.equal(str(await resourceOf({}, { 'container.id': C.envoy }), 'k8s.container.name'), 'envoy');
    assert.equal(str(await resourceOf({}, { 'k8s.pod.uid': U.report }), 'k8s.cronjob.name'), 'report');
    assert.equal(str(await resourceOf({}, { 'k8s.pod.ip': '10.244.0.20' }), 'k8s.pod.name'), 'orders-db-0');
  });

  it('a pod IP as the local address of kernel data without an owning process', async () => {
    assert.equal(str(await resourceOf({}, { 'network.local.address': '10.244.0.12' }), 'k8s.pod.name'), 'checkout-7d9c6b5f4d-x2lqp');
    assert.equal(str(await resourceOf({}, { 'network.local.address': '192.168.59.100' }), 'k8s.pod.name'), undefined, 'a node IP names no pod');
  });

  it('the first rule that resolves wins, in the configured order (the Collector form is accepted)', async () => {
    const both = { 'container.cgroup.id': cg.db!.id, 'process.pid': pid.checkout! };
    assert.equal(str(await resourceOf({}, both), 'k8s.pod.name'), 'orders-db-0');
    assert.equal(str(await resourceOf({ pod_association: [{ from: 'pid' }, { from: 'cgroup_id' }] }, both), 'k8s.pod.name'), 'checkout-7d9c6b5f4d-x2lqp');
    assert.equal(str(await resourceOf({ pod_association: [{ sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] }] }, { 'k8s.pod.ip': '10.244.0.31', 'process.pid': pid.checkout! }), 'k8s.pod.name'), 'report-28865040-9xk2v');
    // An attribute that resolves to nothing does not stop the next rule.
    assert.equal(str(await resourceOf({}, { 'container.cgroup.id': 1n, 'process.pid': pid.envoy! }), 'k8s.container.name'), 'envoy');
  });

  it('values already there are kept; unknown_service is replaced; override_service_name replaces any', async () => {
    const r = await resourceOf({}, { 'process.pid': pid.checkout!, 'k8s.namespace.name': 'given', 'service.name': 'frontend' });
    assert.deepEqual(pick(r, ['k8s.namespace.name', 'service.name']), { 'k8s.namespace.name': 'given', 'service.name': 'frontend' });
    assert.equal(str(await resourceOf({}, { 'process.pid': pid.checkout!, 'service.name': 'unknown_service:node' }), 'service.name'), 'checkout');
    assert.equal(str(await resourceOf({ extract: { override_service_name: true } }, { 'process.pid': pid.checkout!, 'service.name': 'sleep' }), 'service.name'), 'checkout');
  });

  it('labels and annotations by rule, from the pod, its namespace and its node; metadata limited to what is asked', async () => {
    const r = await resourceOf({
      extract: {
        metadata: ['k8s.pod.name'],
        labels: [{ key: 'team' }, { tag_name: 'app.label.$1', key_regex: 'app(.*)' }, { key: 'environment', from: 'namespace' }, { tag_name: 'zone', key: 'topology.kubernetes.io/zone', from: 'node' }],
        annotations: [{ key: 'prometheus.io/scrape' }],
      },
    }, { 'process.pid': pid.checkout! });
    assert.deepEqual(pick(r, ['k8s.pod.name', 'k8s.namespace.name', 'k8s.pod.labels.team', 'app.label.', 'k8s.namespace.labels.environment', 'zone', 'k8s.pod.annotations.prometheus.io/scrape']), {
      'k8s.pod.name': 'checkout-7d9c6b5f4d-x2lqp',
      'k8s.namespace.name': undefined,
      'k8s.pod.labels.team': 'payments',
      'app.label.': 'checkout',
      'k8s.namespace.labels.environment': 'staging',
      zone: 'eu-west-1b',
      'k8s.pod.annotations.prometheus.io/scrape': 'true',
    });
  });
});

describe('k8s_metadata: items and peers', () => {
  it('data points of one resource (tcp_drop\'s shape) each get their own pod; the resource gets host and node', async () => {
    await withProcessor('metrics', {}, async ({ p, sink, telemetry }) => {
      const point = (attrs: Record<string, string | number | bigint>) => ({ attributes: attributes(attrs), timeUnixNano: 1n, asInt: 1n });
      const data: MetricsData = {
        resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [{ name: 'tcp.drops', data: { type: 'sum', aggregationTemporality: 2, isMonotonic: true, dataPoints: [
          point({ 'process.pid': pid.checkout!, 'container.cgroup.id': cg.checkout!.id, 'network.peer.address': '10.244.0.20' }),
          point({ 'container.cgroup.id': cg.db!.id, 'network.peer.address': '10.244.0.12' }),
          point({ 'container.cgroup.id': cg.exporter!.id, 'network.peer.address': '192.168.59.100', 'network.peer.port': 9100 }),
          point({ 'network.peer.address': '192.168.59.100' }),
          point({ 'network.peer.address': '10.244.1.5' }),
        ] } }] }] }],
      };
      await p.consume(data);
      const rm = sink.received[0]!.resourceMetrics[0]!;
      assert.deepEqual(pick(rm.resource.attributes, ['k8s.node.name', 'host.name', 'os.type']), { 'k8s.node.name': 'node-a', 'host.name': hostname(), 'os.type': 'linux' });
      const pts = rm.scopeMetrics[0]!.metrics[0]!.data.dataPoints.map((x) => x.attributes);
      const keys = ['k8s.pod.name', 'k8s.deployment.name', 'service.name', 'peer.k8s.pod.name', 'peer.k8s.namespace.name', 'peer.k8s.deployment.name', 'peer.service'];
      assert.deepEqual(pick(pts[0]!, keys), { 'k8s.pod.name': 'checkout-7d9c6b5f4d-x2lqp', 'k8s.deployment.name': 'checkout', 'service.name': 'checkout', 'peer.k8s.pod.name': 'orders-db-0', 'peer.k8s.namespace.name': 'shop', 'peer.k8s.deployment.name': undefined, 'peer.service': 'orders-postgres' });
      assert.deepEqual(pick(pts[1]!, keys), { 'k8s.pod.name': 'orders-db-0', 'k8s.deployment.name': undefined, 'service.name': 'orders-postgres', 'peer.k8s.pod.name': 'checkout-7d9c6b5f4d-x2lqp', 'peer.k8s.namespace.name': 'shop', 'peer.k8s.deployment.name': 'checkout', 'peer.service': 'checkout' });
      assert.equal(str(pts[2]!, 'peer.k8s.pod.name'), 'node-exporter-njm2k', 'a host-network peer by node IP and port');
      assert.equal(str(pts[3]!, 'peer.k8s.pod.name'), undefined, 'a node IP without a port names no pod');
      assert.equal(str(pts[4]!, 'peer.k8s.pod.name'), undefined, 'pods of other nodes are not watched without peer.cluster_wide');
      assert.equal(telemetry.counters.get('processor_k8s_metadata_associations'), 3 + 5);
    });
  });

  it('peer.cluster_wide watches every node\'s pods, so remote peers resolve', async () => {
    await withProcessor('metrics', { peer: { cluster_wide: true } }, async ({ p, sink }) => {
      await p.consume({ resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [{ name: 'g', data: { type: 'gauge', dataPoints: [{ attributes: attributes({ 'network.peer.address': '10.244.1.5' }), timeUnixNano: 1n, asInt: 1n }] } }] }] }] });
      const point = sink.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data.dataPoints[0]!;
      assert.deepEqual(pick(point.attributes, ['peer.k8s.pod.name', 'peer.k8s.node.name']), { 'peer.k8s.pod.name': 'elsewhere-1', 'peer.k8s.node.name': 'node-b' });
    });
    assert.equal(server.requests.filter((r) => r.resource === 'pods' && !r.watch).at(-1)!.query.fieldSelector, undefined);
  });

  it('spans: a CLIENT span\'s server.address and a SERVER span\'s client.address name the peer; the resource names the local pod', async () => {
    await withProcessor('traces', {}, async ({ p, sink }) => {
      await p.consume(traces({ 'process.pid': pid.checkout! }, [
        { kind: SpanKind.CLIENT, attrs: { 'server.address': '10.244.0.20', 'server.port': 5432 } },
        { kind: SpanKind.SERVER, attrs: { 'client.address': '10.244.0.31', 'client.port': 51234 } },
        { kind: SpanKind.INTERNAL, attrs: { 'server.address': '10.244.0.20' } },
      ]));
      const rs = sink.received[0]!.resourceSpans[0]!;
      assert.equal(str(rs.resource.attributes, 'k8s.pod.name'), 'checkout-7d9c6b5f4d-x2lqp');
      const spans = rs.scopeSpans[0]!.spans;
      assert.deepEqual(spans.map((s) => [str(s.attributes, 'peer.k8s.pod.name'), str(s.attributes, 'peer.service'), str(s.attributes, 'k8s.pod.name')]), [
        ['orders-db-0', 'orders-postgres', undefined],
        ['report-28865040-9xk2v', 'report', undefined],
        [undefined, undefined, undefined],
      ]);
    });
  });

  it('logs records and profile samples are items too', async () => {
    await withProcessor('logs', {}, async ({ p, sink }) => {
      const data: LogsData = { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [{ timeUnixNano: 1n, observedTimeUnixNano: 1n, attributes: attributes({ 'process.pid': pid.report!, 'network.peer.address': '10.244.0.12' }) }] }] }] };
      await p.consume(data);
      const rec = sink.received[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
      assert.deepEqual(pick(rec.attributes, ['k8s.cronjob.name', 'peer.k8s.deployment.name']), { 'k8s.cronjob.name': 'report', 'peer.k8s.deployment.name': 'checkout' });
    });
    await withProcessor('profiles', {}, async ({ p, sink }) => {
      const data: ProfilesData = { resourceProfiles: [{ resource: { attributes: attributes({ 'process.pid': pid.db! }) }, scopeProfiles: [{ profiles: [{ sampleTypes: [], period: { type: 'cpu', unit: 'ns', value: 1 }, timeUnixNano: 1n, durationNano: 1n, attributes: [], samples: [{ frames: [], values: [1], attributes: attributes({ 'container.cgroup.id': cg.checkout!.id }) }] }] }] }] };
      await p.consume(data);
      const rp = sink.received[0]!.resourceProfiles[0]!;
      assert.equal(str(rp.resource.attributes, 'k8s.pod.name'), 'orders-db-0');
      assert.equal(str(rp.scopeProfiles[0]!.profiles[0]!.samples[0]!.attributes, 'k8s.pod.name'), 'checkout-7d9c6b5f4d-x2lqp', 'a sample of another pod than its resource gets its own');
    });
  });
});

describe('k8s_metadata: pods come and go', () => {
  it('follows the watch; a deleted pod resolves through its grace period and not after', async () => {
    await withProcessor('traces', { pod_delete_grace_period: '300ms' }, async ({ p, sink }) => {
      const extra = fixture('pod-deployment', { metadata: { name: 'checkout-7d9c6b5f4d-new12', uid: '11111111-2222-4333-8444-555555555599' }, status: { podIP: '10.244.0.99', podIPs: [{ ip: '10.244.0.99' }], containerStatuses: [] } });
      const ask = async () => {
        await p.consume(traces({ 'k8s.pod.ip': '10.244.0.99' }));
        return str(sink.received.at(-1)!.resourceSpans[0]!.resource.attributes, 'k8s.pod.name');
      };
      assert.equal(await ask(), undefined);
      server.apply('pods', extra);
      for (let i = 0; i < 100 && (await ask()) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await ask(), 'checkout-7d9c6b5f4d-new12');
      server.delete('pods', 'shop', 'checkout-7d9c6b5f4d-new12');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await ask(), 'checkout-7d9c6b5f4d-new12', 'still resolves in its grace period');
      for (let i = 0; i < 150 && (await ask()) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await ask(), undefined);
    });
  });
});

describe('k8s_metadata: without Kubernetes', () => {
  it('auth_type none: host and process metadata and the container id the cgroup shows, said once in the log', async () => {
    const x = make('traces', { auth_type: 'none' });
    await x.p.start({ getExtension: () => undefined });
    try {
      await x.p.consume(traces({ 'process.pid': pid.checkout! }));
      await x.p.consume(traces({ 'process.pid': pid.db! }));
      const r = x.sink.received[0]!.resourceSpans[0]!.resource.attributes;
      assert.deepEqual(pick(r, ['host.name', 'os.type', 'process.executable.name', 'container.id', 'k8s.pod.name', 'k8s.node.name']), { 'host.name': hostname(), 'os.type': 'linux', 'process.executable.name': 'sleep', 'container.id': C.checkout, 'k8s.pod.name': undefined, 'k8s.node.name': undefined });
      assert.equal(x.lines.filter((l) => l.includes('adding host and process metadata only')).length, 1);
    } finally {
      await x.p.shutdown();
    }
  });

  it('serviceAccount outside a pod falls back to host metadata, saying why', async () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const x = make('traces', { auth_type: 'serviceAccount', kube_config_path: undefined });
      assert.ok(x.lines.some((l) => l.includes('adding host and process metadata only') && l.includes('KUBERNETES_SERVICE_HOST')), x.lines.join('\n'));
      await x.p.shutdown();
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });

  it('wait_for_metadata fails start when the API does not answer in time; a missing kubeconfig is an error', async () => {
    const down = await FakeKubeApiServer.start();
    const path = writeKubeconfig(tempDir().path, down);
    await down.stop();
    const x = make('traces', { kube_config_path: path, wait_for_metadata_timeout: '300ms', watch_retry: { initial_interval: '50ms', max_interval: '100ms' } });
    await assert.rejects(x.p.start({ getExtension: () => undefined }), /did not answer within wait_for_metadata_timeout \(300 ms\)/);
    assert.throws(() => make('traces', { kube_config_path: '/nonexistent/kubeconfig' }), /kube_config_path \/nonexistent\/kubeconfig does not exist/);
  });
});

describe('k8s_metadata: cgroup layouts (src/host/cgroups.ts)', () => {
  it('reads the container and pod of every layout kubelet and the runtimes make', () => {
    const uid = '0a1b2c3d-4e5f-4061-8273-948596a7b8c9';
    const id = hex('9');
    for (const layout of ['containerd', 'cri-o', 'docker', 'cgroupfs'] as const) {
      for (const qos of ['guaranteed', 'burstable', 'besteffort'] as const) {
        const p = placeOf(kubeletPath(layout, uid, id, qos));
        assert.equal(p.container?.id, id, `${layout} ${qos}`);
        assert.deepEqual([p.pod?.uid, p.pod?.qosClass], [uid, qos], `${layout} ${qos}`);
      }
    }
    // Docker without Kubernetes, and a kind node (nested): the innermost container wins.
    assert.equal(placeOf(`/docker/${id}`).container?.runtime, 'docker');
    assert.equal(placeOf(`/system.slice/docker-${hex('3')}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`).container?.id, id);
  });
});
