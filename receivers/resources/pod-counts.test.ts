// Pods per namespace on the node, from the k8s_metadata processor's cache: bpfcol runs resources
// (node metrics only) into k8s_metadata against a fake API server speaking list/watch with real
// recorded pod objects; pods are added and deleted while it runs, and each collection's
// k8s.pod.count follows, on the node's resource (k8s.node.name from the processor).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { anyValueToString } from '../../src/pdata/common.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../../test/support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../../test/support/kube-apiserver.ts';
import { readMetrics } from '../../test/support/otlp-files.ts';

const NODE = 'node-a';

function pod(name: string, namespace: string, uid: string, nodeName: string) {
  return fixture('pod-deployment', { metadata: { name, namespace, uid }, spec: { nodeName }, status: { podIP: `10.9.0.${uid.slice(-2)}`, podIPs: [{ ip: `10.9.0.${uid.slice(-2)}` }] } });
}

/** The latest collection's k8s.pod.count per namespace, with the resource's k8s.node.name. */
function latestCounts(path: string): { node?: string; counts: Record<string, number> } | undefined {
  const items = readMetrics(path).filter((i) => i.metric.name === 'k8s.pod.count');
  const last = items.at(-1);
  if (!last || last.metric.data.type !== 'sum') return undefined;
  const data = last.metric.data;
  assert.equal(data.isMonotonic, false, 'an updowncounter');
  assert.equal(last.metric.unit, '{pod}');
  const counts: Record<string, number> = {};
  for (const p of data.dataPoints) counts[anyValueToString(p.attributes.find((a) => a.key === 'k8s.namespace.name')!.value)] = Number(p.asInt);
  const node = last.resource.attributes.find((a) => a.key === 'k8s.node.name');
  return { node: node && anyValueToString(node.value), counts };
}

async function until<T>(read: () => T | undefined, accept: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = read();
    if (last !== undefined && accept(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: last ${JSON.stringify(last)}`);
}

describe('resources: pods per namespace from the k8s_metadata cache', () => {
  const dir = tempDir('bpfcol-pod-counts-');
  let api: FakeKubeApiServer;
  let bpfcol: RunningBpfcol;
  const metricsPath = `${dir.path}/metrics.jsonl`;

  before(async () => {
    api = await FakeKubeApiServer.start();
    api.apply('pods', pod('web-1', 'shop', '00000000-0000-4000-8000-000000000011', NODE));
    api.apply('pods', pod('web-2', 'shop', '00000000-0000-4000-8000-000000000012', NODE));
    api.apply('pods', pod('agent', 'kube-system', '00000000-0000-4000-8000-000000000013', NODE));
    // Another node's pod: not this node's to count.
    api.apply('pods', pod('web-3', 'shop', '00000000-0000-4000-8000-000000000014', 'node-b'));
    const config = writeConfig(
      dir.path,
      `
receivers:
  resources:
    collection_interval: 300ms
    cgroups: { enabled: false }
processors:
  k8s_metadata:
    auth_type: kubeConfig
    kube_config_path: "${writeKubeconfig(dir.path, api)}"
    wait_for_metadata: true
    filter: { node_from_env_var: POD_COUNTS_NODE }
exporters:
  file: { path: "${metricsPath}" }
service:
  pipelines:
    metrics: { receivers: [resources], processors: [k8s_metadata], exporters: [file] }
`,
    );
    bpfcol = await startBpfcol(config, { POD_COUNTS_NODE: NODE });
  });

  after(async () => {
    await bpfcol?.stop();
    await api?.stop();
    dir.cleanup();
  });

  it("counts this node's pods per namespace, on the node's resource", async () => {
    const got = await until(() => latestCounts(metricsPath), (c) => c.counts.shop === 2, 'two shop pods');
    assert.deepEqual(got, { node: NODE, counts: { shop: 2, 'kube-system': 1 } });
  });

  it('follows pods added and deleted; a namespace whose last pod left reads 0', async () => {
    api.apply('pods', pod('web-4', 'shop', '00000000-0000-4000-8000-000000000015', NODE));
    await until(() => latestCounts(metricsPath), (c) => c.counts.shop === 3, 'a third shop pod');
    api.delete('pods', 'kube-system', 'agent');
    api.delete('pods', 'shop', 'web-1');
    const got = await until(() => latestCounts(metricsPath), (c) => c.counts.shop === 2, 'web-1 deleted');
    assert.deepEqual(got.counts, { shop: 2, 'kube-system': 0 });
  });
});
