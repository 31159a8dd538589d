// config/kubernetes/: every manifest is valid against the Kubernetes schemas (kubernetes-models'
// validators for types and required fields; the official client's models for unknown fields), the
// objects agree with each other and with the ConfigMap's config, that config passes
// `bpfcol validate`, the ClusterRole allows exactly the API calls k8s_metadata makes with it
// (recorded by a proxy in front of a fake API server while bpfcol runs the config), and bpfcol runs
// that config with nothing but the DaemonSet's capabilities and its host layout (the node's / at
// HOST_ROOT in a mount namespace of its own). Needs root.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Namespace, Service, ServiceAccount, ConfigMap } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { BPFCOL, REPO_ROOT, runBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../support/kube-apiserver.ts';
import { freePort } from '../support/ports.ts';

const DIR = join(REPO_ROOT, 'config/kubernetes');
type Obj = Record<string, any>;

function load(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: ${d.errors.join('; ')}`);
    return d.toJS() as Obj;
  });
}

const kustomization = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace: string };
const objects = kustomization.resources.flatMap((file) => load(file).map((o) => ({ file, o })));
const byKind = (kind: string): Obj => {
  const found = objects.filter((x) => x.o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!.o;
};
const daemonset = byKind('DaemonSet');
const pod = daemonset.spec.template.spec;
const container = pod.containers.find((c: Obj) => c.name === 'bpfcol');
const configText: string = byKind('ConfigMap').data['config.yaml'];
const config = parseYaml(configText) as Obj;

/** The models of the official client (release 1.36), by kind and apiVersion. */
const MODELS: Record<string, string> = {
  'v1/Namespace': 'V1Namespace',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/Service': 'V1Service',
  'apps/v1/DaemonSet': 'V1DaemonSet',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
};

const VALIDATORS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

const PLAIN = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString', 'RawExtension']);

/** Fields the schema does not know (what `kubectl apply --validate=strict` refuses). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || PLAIN.has(type)) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value as Obj)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] }>)[type];
  assert.ok(model?.getAttributeTypeMap, `no model ${type} in @kubernetes/client-node`);
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Obj)) {
    const t = fields.get(k);
    if (t === undefined) out.push(`${path}.${k}`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

/** The port of a `host:port` value of the config, env references left in the host. */
const portOf = (address: string) => Number(address.split(':').pop());

describe('config/kubernetes manifests', () => {
  it('kustomization.yaml lists every manifest of the folder', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    assert.deepEqual([...kustomization.resources].sort(), files);
    assert.deepEqual(objects.map((x) => x.o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Namespace', 'Service', 'ServiceAccount']);
  });

  for (const { file, o } of objects) {
    it(`${file}: ${o.kind} is valid against the Kubernetes schemas, with no unknown field`, () => {
      const key = `${o.apiVersion}/${o.kind}`;
      const Validator = VALIDATORS[key];
      assert.ok(Validator, `no validator for ${key}`);
      new Validator(o).validate();
      const unknown: string[] = [];
      unknownFields(o, MODELS[key]!, o.kind, unknown);
      assert.deepEqual(unknown, []);
    });
  }

  it('objects refer to each other correctly', () => {
    for (const { o } of objects) if (o.kind !== 'Namespace' && !o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, kustomization.namespace, `${o.kind} namespace`);
    assert.equal(byKind('Namespace').metadata.name, kustomization.namespace);
    const sa = byKind('ServiceAccount');
    assert.equal(pod.serviceAccountName, sa.metadata.name);
    const binding = byKind('ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: byKind('ClusterRole').metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    const labels = daemonset.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(daemonset.spec.selector.matchLabels)) assert.equal(labels[k], v);
    const service = byKind('Service');
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v, 'the Service selects the agents');
    const portNames = new Set(container.ports.map((p: Obj) => p.name));
    for (const p of service.spec.ports) assert.ok(portNames.has(p.targetPort), `Service port ${p.name} -> ${p.targetPort}`);
    const configVolume = pod.volumes.find((v: Obj) => v.configMap);
    assert.equal(configVolume.configMap.name, byKind('ConfigMap').metadata.name);
    const configMount = container.volumeMounts.find((m: Obj) => m.name === configVolume.name);
    // The image's entrypoint reads /etc/bpfcol/config.yaml.
    assert.equal(join(configMount.mountPath, configVolume.configMap.items[0].path), '/etc/bpfcol/config.yaml');
  });

  it('the DaemonSet runs on every node with hostPID, the host paths, probes on /health, limits, and the downward API', () => {
    assert.equal(pod.hostPID, true);
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    const hostPaths = Object.fromEntries(pod.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.hostPath.path, container.volumeMounts.find((m: Obj) => m.name === v.name)]));
    for (const p of ['/sys/kernel/btf', '/sys/kernel/tracing']) assert.equal(hostPaths[p]?.mountPath, p, `${p} mounted at its own path`);
    assert.equal(hostPaths['/']?.mountPath, '/hostfs');
    assert.equal(hostPaths['/']?.readOnly, true);
    const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e]));
    assert.equal(env[config.processors.k8s_metadata.filter.node_from_env_var].valueFrom.fieldRef.fieldPath, 'spec.nodeName');
    assert.equal(env.HOST_ROOT.value, hostPaths['/'].mountPath);
    assert.ok(env.HOST_CGROUP_ROOT.value.startsWith(`${hostPaths['/'].mountPath}/sys/fs/cgroup`));
    // Every ${env:...} of the config is set in the pod: no default meant for outside a cluster applies.
    for (const m of configText.matchAll(/\$\{env:(\w+)/g)) assert.ok(env[m[1]!], `${m[1]} is used by the config but not set by the DaemonSet`);
    const ports = Object.fromEntries(container.ports.map((p: Obj) => [p.name, p.containerPort]));
    assert.equal(ports.telemetry, portOf(config.service.telemetry.metrics.address));
    assert.equal(ports.metrics, portOf(config.exporters.prometheus.endpoint));
    assert.equal(ports.pprof, portOf(config.exporters.pprof.endpoint));
    assert.equal(ports['otlp-grpc'], portOf(config.receivers.otlp.protocols.grpc.endpoint));
    assert.equal(ports['otlp-http'], portOf(config.receivers.otlp.protocols.http.endpoint));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.deepEqual(container[probe].httpGet, { path: '/health', port: 'telemetry' }, probe);
    const service = byKind('Service');
    assert.equal(service.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(Number(service.metadata.annotations['prometheus.io/port']), ports.metrics);
    assert.equal(service.spec.clusterIP, 'None', 'headless: every agent is a target');
    for (const k of ['cpu', 'memory']) {
      assert.ok(container.resources.requests[k], `requests.${k}`);
      assert.ok(container.resources.limits[k], `limits.${k}`);
    }
    assert.equal(container.securityContext.runAsUser, 0);
    assert.equal(container.securityContext.privileged, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(!container.securityContext.capabilities.add.includes('SYS_ADMIN'), 'no CAP_SYS_ADMIN');
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    // Files are written under the data volume only.
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    const dataDir = env.BPFCOL_DATA_DIR.value;
    assert.ok(container.volumeMounts.some((m: Obj) => m.mountPath === dataDir && !m.readOnly));
    for (const e of ['pprof', 'flamegraph']) assert.ok(config.exporters[e].directory.startsWith(dataDir + '/'), `${e} writes under ${dataDir}`);
  });

  it("the ConfigMap's config passes bpfcol validate", () => {
    const dir = tempDir('bpfcol-k8s-cm-');
    try {
      const r = runBpfcol(['validate', '--config', writeConfig(dir.path, configText)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /config is valid/);
    } finally {
      dir.cleanup();
    }
  });
});

/** Kubernetes' authorization attributes of a request path, as the API server derives them. */
function apiCall(method: string, url: string): string {
  const u = new URL(url, 'http://x');
  const parts = u.pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis') [group, rest] = [parts[1]!, parts.slice(3)];
  else return `${method} ${u.pathname} (not a resource)`;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name] = rest;
  const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
  const verb =
    method === 'GET' ? (watch ? 'watch' : name ? 'get' : 'list') : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' } as Record<string, string>)[method] ?? method;
  return `${group}/${resource}:${verb}`;
}

/** A pass-through proxy that records every request's method and URL. */
async function recordingProxy(target: string): Promise<{ url: string; calls: { method: string; url: string }[]; server: Server }> {
  const calls: { method: string; url: string }[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    calls.push({ method: req.method!, url: req.url! });
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server };
}

describe("bpfcol runs the ConfigMap's config with the DaemonSet's capabilities and host layout", { timeout: 300_000 }, () => {
  const dir = tempDir('bpfcol-k8s-run-');
  const hostfs = join(dir.path, 'hostfs');
  let api: FakeKubeApiServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<number | null>;
  const ports: Record<string, number> = {};

  before(async () => {
    api = await FakeKubeApiServer.start();
    api.apply('namespaces', fixture('namespace'));
    api.apply('nodes', fixture('node'));
    api.apply('replicasets', fixture('replicaset'));
    api.apply('pods', fixture('pod-deployment'));
    proxy = await recordingProxy(api.url);
    for (const name of ['grpc', 'http', 'prom', 'telemetry', 'pprof']) ports[name] = await freePort();
    const kubeconfig = writeKubeconfig(dir.path, { url: proxy.url } as FakeKubeApiServer);
    // Outside a cluster: the API through a kubeconfig (the rest of k8s_metadata's settings, which
    // decide what it watches, stay), loopback ports, files in the temp dir.
    const override = writeConfig(
      dir.path,
      `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${ports.grpc}" }
      http: { endpoint: "127.0.0.1:${ports.http}" }
processors:
  k8s_metadata: { auth_type: kubeConfig, kube_config_path: "${kubeconfig}", wait_for_metadata: true }
exporters:
  prometheus: { endpoint: "127.0.0.1:${ports.prom}" }
  pprof: { endpoint: "127.0.0.1:${ports.pprof}", directory: "${dir.path}/pprof" }
  flamegraph: { directory: "${dir.path}/flamegraphs" }
  otlp/traces: { endpoint: "127.0.0.1:1" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${ports.telemetry}" } }
`,
      'override.yaml',
    );
    const base = writeConfig(dir.path, configText, 'configmap.yaml');
    // The DaemonSet's env, with the host's / where the DaemonSet mounts it (a recursive read-only bind
    // in a mount namespace of bpfcol's own, gone when it exits).
    const env: Record<string, string> = {};
    for (const e of container.env as Obj[]) if (e.value !== undefined) env[e.name] = e.value;
    env.K8S_NODE_NAME = 'node-a';
    env.K8S_POD_IP = '127.0.0.1';
    env.BPFCOL_DATA_DIR = join(dir.path, 'data');
    const mountedRoot = env.HOST_ROOT!;
    env.HOST_ROOT = hostfs;
    // The DaemonSet's value is for cgroup v2 nodes; this machine may be hybrid (v2 under unified/).
    const v2 = statfsSync('/sys/fs/cgroup').type === 0x63677270;
    env.HOST_CGROUP_ROOT = env.HOST_CGROUP_ROOT!.replace(mountedRoot, hostfs) + (v2 ? '' : '/unified');
    mkdirSync(hostfs);
    mkdirSync(env.BPFCOL_DATA_DIR);
    const caps = (container.securityContext.capabilities.add as string[]).map((c) => `+${c.toLowerCase()}`).join(',');
    const script = `mount --rbind / "${hostfs}" && mount -o remount,bind,ro "${hostfs}" && exec setpriv --no-new-privs --bounding-set -all,${caps} -- "${BPFCOL}" --config "${base}" --config "${override}"`;
    child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { env: { ...process.env, ...env, KUBERNETES_SERVICE_HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c));
    child.stderr!.on('data', (c: Buffer) => (output += c));
    exited = new Promise((r) => child!.once('exit', (code) => r(code)));
    const deadline = Date.now() + 120_000;
    while (!/everything is ready/.test(output)) {
      assert.ok(child.exitCode === null, `bpfcol exited:\n${output}`);
      assert.ok(Date.now() < deadline, `bpfcol not ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await api?.stop();
    rmSync(dir.path, { recursive: true, force: true });
  });

  it('every receiver starts with only those capabilities, and /health says healthy', async () => {
    for (const r of Object.keys(config.receivers)) assert.match(output, new RegExp(`receiver ${r} \\(\\w+\\) started`), `${r} did not start:\n${output}`);
    const health = (await (await fetch(`http://127.0.0.1:${ports.telemetry}/health`)).json()) as { healthy: boolean };
    assert.equal(health.healthy, true, output);
  });

  it('the resources receiver reads the node below HOST_ROOT', async () => {
    let text = '';
    for (let i = 0; i < 150 && !/^system_cpu_time_seconds_total\{/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 200));
      text = await (await fetch(`http://127.0.0.1:${ports.prom}/metrics`)).text();
    }
    assert.match(text, /^system_cpu_time_seconds_total\{[^}]*cpu_mode="user"/m);
    assert.match(text, /^system_memory_usage_bytes\{/m);
  });

  it('the ClusterRole allows exactly the API calls k8s_metadata makes', async () => {
    // Every list is followed by its watch; wait until each resource listed has both.
    const deadline = Date.now() + 30_000;
    const calls = () => new Set(proxy.calls.map((c) => apiCall(c.method, c.url)));
    for (;;) {
      const made = calls();
      const listed = [...made].filter((c) => c.endsWith(':list'));
      if (listed.length > 0 && listed.every((l) => made.has(l.replace(/:list$/, ':watch')))) break;
      assert.ok(Date.now() < deadline, `no list+watch pairs: ${[...made].join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const allowed = new Set<string>();
    for (const rule of byKind('ClusterRole').rules as Obj[]) {
      for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) allowed.add(`${g}/${r}:${v}`);
    }
    assert.deepEqual([...calls()].sort(), [...allowed].sort());
  });
});
