// What do the Kubernetes and aggregation components cost per item? CPU time of this process per
// item for k8s_metadata on tcp_drop-shaped batches (5000 data points from 50 processes in 10 pods:
// cgroup id and pid association, peer by IP), spanmetrics and servicegraph on 5000 spans (2500
// client/server pairs), and metrics_aggregation folding 5000 cumulative points, next to a baseline
// that only walks every item's attributes. Subjects and baseline alternate over the rounds; each
// line ends in the ratio to the baseline. Needs root (test cgroups).
//
//   node bench/k8s-graph-processors.ts [rounds, default 20]
import { setTimeout as sleep } from 'node:timers/promises';
import { attributes } from '../src/pdata/common.ts';
import { AggregationTemporality, type MetricsData } from '../src/pdata/metrics.ts';
import { cloneData } from '../src/pdata/signal.ts';
import { SpanKind, type TracesData } from '../src/pdata/traces.ts';
import { SinkConsumer, testSettings } from '../test/support/component-harness.ts';
import { tempDir } from '../test/support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../test/support/kube-apiserver.ts';
import { CgroupSandbox, kubeletPath } from '../test/support/kube-cgroups.ts';
import { configSchema as k8sConfig } from '../processors/k8s_metadata/config.ts';
import { k8sMetadataFactory } from '../processors/k8s_metadata/factory.ts';
import { configSchema as aggConfig } from '../processors/metrics_aggregation/config.ts';
import { metricsAggregationFactory } from '../processors/metrics_aggregation/factory.ts';
import { configSchema as smConfig } from '../connectors/spanmetrics/config.ts';
import { spanmetricsFactory } from '../connectors/spanmetrics/factory.ts';
import { configSchema as sgConfig } from '../connectors/servicegraph/config.ts';
import { servicegraphFactory } from '../connectors/servicegraph/factory.ts';

const ROUNDS = Number(process.argv[2] ?? 20);
const PODS = 10;
const PIDS = 50;
const N = 5000;

const dir = tempDir('bpfcol-bench-k8s-');
const api = await FakeKubeApiServer.start();
const cgroups = CgroupSandbox.create();
try {
  const pids: { pid: number; cgroup: bigint; ip: string }[] = [];
  for (let p = 0; p < PODS; p++) {
    const uid = `44444444-5555-4666-8777-${String(p).padStart(12, '0')}`;
    const cid = String(p).repeat(64).slice(0, 64).replace(/[^0-9]/g, '0');
    const ip = `10.244.3.${p + 1}`;
    api.apply('pods', fixture('pod-deployment', { metadata: { name: `app-${p}`, uid }, status: { podIP: ip, podIPs: [{ ip }], containerStatuses: [{ name: 'checkout', containerID: `containerd://${cid}`, ready: true, restartCount: 0 }] } }));
    const cg = cgroups.cgroup(kubeletPath('containerd', uid, cid));
    for (let i = 0; i < PIDS / PODS; i++) pids.push({ pid: await cgroups.spawnIn(cg), cgroup: cg.id, ip });
  }
  api.apply('replicasets', fixture('replicaset'));
  process.env.BENCH_NODE = 'node-a';

  const points = (t: bigint): MetricsData => ({
    resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [{ name: 'tcp.connections.opened', data: { type: 'sum', aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: true, dataPoints: Array.from({ length: N }, (_, i) => {
      const o = pids[i % pids.length]!;
      const peer = pids[(i * 7 + 3) % pids.length]!;
      return { attributes: attributes({ 'network.local.address': o.ip, 'network.peer.address': peer.ip, 'network.peer.port': 8080 + (i % 500), 'process.pid': o.pid, 'container.cgroup.id': o.cgroup }), startTimeUnixNano: t - 1n, timeUnixNano: t, asInt: BigInt(i + Number(t % 1000n)) };
    }) } }] }] }],
  });
  const spans = (): TracesData => ({
    resourceSpans: Array.from({ length: PODS }, (_, p) => ({
      resource: { attributes: attributes({ 'service.name': `svc-${p}`, 'k8s.pod.name': `app-${p}` }) },
      scopeSpans: [{ spans: Array.from({ length: N / PODS }, (_, i) => {
        const pair = Math.floor((p * (N / PODS) + i) / 2);
        const client = i % 2 === 0;
        return { traceId: pair.toString(16).padStart(32, '0'), spanId: (client ? pair : pair + 1e9).toString(16).padStart(16, '0'), ...(client ? {} : { parentSpanId: pair.toString(16).padStart(16, '0') }), name: `op-${i % 20}`, kind: client ? SpanKind.CLIENT : SpanKind.SERVER, startTimeUnixNano: 1n, endTimeUnixNano: 1n + BigInt(i * 1000), attributes: attributes({ 'http.request.method': 'GET' }), events: [], links: [], status: { code: 0 } };
      }) }],
    })),
  });

  const k8s = k8sMetadataFactory.create.metrics!(testSettings('k8s_metadata', 'processor', 'metrics'), k8sConfig.parse({ auth_type: 'kubeConfig', kube_config_path: writeKubeconfig(dir.path, api), wait_for_metadata: true, filter: { node_from_env_var: 'BENCH_NODE' } }), new SinkConsumer());
  await k8s.start({ getExtension: () => undefined });
  const agg = metricsAggregationFactory.create.metrics!(testSettings('metrics_aggregation', 'processor', 'metrics'), aggConfig.parse({ interval: '1h', rules: [{ metric_names: ['tcp.connections.opened'], drop_attributes: ['process.pid', 'container.cgroup.id', 'network.peer.port'] }] }), new SinkConsumer());
  const sm = spanmetricsFactory.create.traces!.metrics!(testSettings('spanmetrics', 'connector', 'traces'), smConfig.parse({ metrics_flush_interval: '1h', dimensions: [{ name: 'k8s.pod.name' }] }), new SinkConsumer());
  const sg = servicegraphFactory.create.traces!.metrics!(testSettings('servicegraph', 'connector', 'traces'), sgConfig.parse({ metrics_flush_interval: '1h', dimensions: ['k8s.pod.name'] }), new SinkConsumer());

  let t = BigInt(Date.now()) * 1_000_000n;
  const baseline = async (d: MetricsData | TracesData) => {
    let n = 0;
    const walk = (list: { attributes: { key: string }[] }[]) => {
      for (const x of list) for (const a of x.attributes) n += a.key.length;
    };
    if ('resourceMetrics' in d) for (const rm of d.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) walk(m.data.dataPoints);
    else for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) walk(ss.spans);
    return n;
  };
  const subjects: { name: string; items: number; make: () => MetricsData | TracesData; run: (d: any) => Promise<unknown>; cpu: number[] }[] = [
    { name: 'baseline (walk every attribute)', items: N, make: () => points((t += 1_000_000_000n)), run: baseline, cpu: [] },
    { name: 'k8s_metadata, tcp_drop points', items: N, make: () => points((t += 1_000_000_000n)), run: (d) => k8s.consume(d), cpu: [] },
    { name: 'metrics_aggregation, cumulative points', items: N, make: () => points((t += 1_000_000_000n)), run: (d) => agg.consume(d), cpu: [] },
    { name: 'spanmetrics, spans', items: N, make: spans, run: (d) => sm.consume(d), cpu: [] },
    { name: 'servicegraph, paired spans', items: N, make: spans, run: (d) => sg.consume(d), cpu: [] },
  ];
  for (let round = 0; round < ROUNDS + 3; round++) {
    for (const s of subjects) {
      const data = cloneData(s.make());
      const c0 = process.cpuUsage();
      await s.run(data);
      const c = process.cpuUsage(c0);
      if (round >= 3) s.cpu.push((c.user + c.system) / 1000);
    }
    await sleep(1);
  }
  // Totals over the rounds: one batch's CPU time is close to the clock's resolution.
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const base = total(subjects[0]!.cpu) / (N * ROUNDS);
  for (const s of subjects) {
    const perItem = total(s.cpu) / (s.items * ROUNDS);
    console.log(`${s.name}: ${(perItem * 1000).toFixed(2)} µs CPU per item, ${Math.round(1000 / perItem).toLocaleString('en')} items per CPU-second: ${(perItem / base).toFixed(1)} x baseline`);
  }
  await k8s.shutdown();
} finally {
  await cgroups.cleanup();
  await api.stop();
  dir.cleanup();
}
