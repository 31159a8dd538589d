// The few fields of Kubernetes objects the processor uses, taken from API objects as the list
// calls (typed by @kubernetes/client-node) and the watch streams (plain JSON) give them. The
// informers keep only these slim objects, as the Collector's k8sattributes transforms do, so a
// watched cluster costs little memory.

/** What the client-node cache needs of every object, plus our part. */
export interface Slim<T> {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
  info: T;
}

export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
}

export interface ContainerInfo {
  name: string;
  image?: string;
  /** Container ports (and host ports) the spec declares. */
  ports: number[];
}

export interface PodInfo {
  uid: string;
  name: string;
  namespace: string;
  nodeName?: string;
  hostNetwork: boolean;
  podIPs: string[];
  hostIPs: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  owner?: OwnerRef;
  startTime?: string;
  containers: ContainerInfo[];
  /** Runtime container id (64 hex, no scheme) -> container name, current and previous instances. */
  containerIds: Map<string, string>;
}

export interface WorkloadInfo {
  uid: string;
  name: string;
  namespace: string;
  owner?: OwnerRef;
}

export interface LabelledInfo {
  uid: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

type Raw = Record<string, any>;

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  return undefined;
}

function strings(map: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (map && typeof map === 'object') for (const [k, v] of Object.entries(map)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The controller owner (the one with controller: true, else the first). */
export function controllerOf(meta: Raw | undefined): OwnerRef | undefined {
  const refs = Array.isArray(meta?.ownerReferences) ? (meta.ownerReferences as Raw[]) : [];
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  if (!ref || typeof ref.kind !== 'string' || typeof ref.name !== 'string') return undefined;
  return { kind: ref.kind, name: ref.name, uid: typeof ref.uid === 'string' ? ref.uid : '' };
}

/** `containerd://<id>`, `docker://<id>`, `cri-o://<id>` -> `<id>`. */
export function runtimeContainerId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  const at = id.indexOf('://');
  return at >= 0 ? id.slice(at + 3) : id;
}

function metaOf(o: Raw): Slim<unknown>['metadata'] | undefined {
  const m = o?.metadata;
  if (!m || typeof m.name !== 'string') return undefined;
  const meta: Slim<unknown>['metadata'] = { name: m.name, uid: typeof m.uid === 'string' ? m.uid : '' };
  if (typeof m.namespace === 'string') meta.namespace = m.namespace;
  if (typeof m.resourceVersion === 'string') meta.resourceVersion = m.resourceVersion;
  return meta;
}

export function slimPod(o: Raw): Slim<PodInfo> | undefined {
  const metadata = metaOf(o);
  if (!metadata) return undefined;
  const spec = o.spec ?? {};
  const status = o.status ?? {};
  const ips = (list: unknown, single: unknown) => {
    const out = Array.isArray(list) ? (list as Raw[]).map((x) => x?.ip).filter((x): x is string => typeof x === 'string' && x !== '') : [];
    if (typeof single === 'string' && single !== '' && !out.includes(single)) out.unshift(single);
    return out;
  };
  const containers: ContainerInfo[] = [];
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])] as Raw[]) {
    if (typeof c?.name !== 'string') continue;
    const ports = new Set<number>();
    for (const p of (c.ports ?? []) as Raw[]) {
      if (p?.protocol && p.protocol !== 'TCP') continue;
      if (typeof p?.containerPort === 'number') ports.add(p.containerPort);
      if (typeof p?.hostPort === 'number') ports.add(p.hostPort);
    }
    const info: ContainerInfo = { name: c.name, ports: [...ports] };
    if (typeof c.image === 'string') info.image = c.image;
    containers.push(info);
  }
  const containerIds = new Map<string, string>();
  for (const s of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])] as Raw[]) {
    if (typeof s?.name !== 'string') continue;
    for (const id of [s.containerID, s.lastState?.terminated?.containerID]) {
      const rid = runtimeContainerId(id);
      if (rid) containerIds.set(rid, s.name);
    }
  }
  const info: PodInfo = {
    uid: metadata.uid,
    name: metadata.name,
    namespace: metadata.namespace ?? '',
    hostNetwork: spec.hostNetwork === true,
    podIPs: ips(status.podIPs, status.podIP),
    hostIPs: ips(status.hostIPs, status.hostIP),
    labels: strings(o.metadata.labels),
    annotations: strings(o.metadata.annotations),
    containers,
    containerIds,
  };
  if (typeof spec.nodeName === 'string' && spec.nodeName) info.nodeName = spec.nodeName;
  const owner = controllerOf(o.metadata);
  if (owner) info.owner = owner;
  const start = text(status.startTime);
  if (start) info.startTime = start;
  return { metadata, info };
}

export function slimWorkload(o: Raw): Slim<WorkloadInfo> | undefined {
  const metadata = metaOf(o);
  if (!metadata) return undefined;
  const info: WorkloadInfo = { uid: metadata.uid, name: metadata.name, namespace: metadata.namespace ?? '' };
  const owner = controllerOf(o.metadata);
  if (owner) info.owner = owner;
  return { metadata, info };
}

export function slimLabelled(o: Raw): Slim<LabelledInfo> | undefined {
  const metadata = metaOf(o);
  if (!metadata) return undefined;
  return { metadata, info: { uid: metadata.uid, name: metadata.name, labels: strings(o.metadata.labels), annotations: strings(o.metadata.annotations) } };
}
