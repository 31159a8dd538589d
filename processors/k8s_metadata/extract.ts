// From a pod (and the container data came from) to attributes: the metadata keys asked for,
// the workload that owns the pod (Deployment through its ReplicaSet, CronJob through its Job),
// service.name as the semantic conventions derive it for Kubernetes, and labels and annotations
// by rule.
import type { ExtractRule, MetadataKey } from './config.ts';
import type { PodInfo } from './kube/objects.ts';
import type { LabelledStore, PodMatch, WorkloadStore } from './store.ts';

export interface Stores {
  replicaSets: WorkloadStore;
  jobs: WorkloadStore;
  nodes: LabelledStore;
  namespaces: LabelledStore;
}

export interface Workload {
  'k8s.deployment.name'?: string;
  'k8s.replicaset.name'?: string;
  'k8s.statefulset.name'?: string;
  'k8s.daemonset.name'?: string;
  'k8s.job.name'?: string;
  'k8s.cronjob.name'?: string;
}

/** The workloads owning a pod. Without the ReplicaSet (or Job) at hand, its name is trimmed as the controllers build it. */
export function workloadOf(pod: PodInfo, stores: Pick<Stores, 'replicaSets' | 'jobs'>): Workload {
  const w: Workload = {};
  const owner = pod.owner;
  if (!owner) return w;
  switch (owner.kind) {
    case 'ReplicaSet': {
      w['k8s.replicaset.name'] = owner.name;
      const rs = stores.replicaSets.get(pod.namespace, owner.name);
      if (rs) {
        if (rs.owner?.kind === 'Deployment') w['k8s.deployment.name'] = rs.owner.name;
      } else {
        const hash = pod.labels['pod-template-hash'];
        if (hash && owner.name.endsWith(`-${hash}`)) w['k8s.deployment.name'] = owner.name.slice(0, -hash.length - 1);
      }
      break;
    }
    case 'StatefulSet':
      w['k8s.statefulset.name'] = owner.name;
      break;
    case 'DaemonSet':
      w['k8s.daemonset.name'] = owner.name;
      break;
    case 'Job': {
      w['k8s.job.name'] = owner.name;
      const job = stores.jobs.get(pod.namespace, owner.name);
      if (job) {
        if (job.owner?.kind === 'CronJob') w['k8s.cronjob.name'] = job.owner.name;
      } else {
        // A CronJob names its Jobs <cronjob>-<scheduled time in minutes>.
        const m = /^(.+)-\d{8,}$/.exec(owner.name);
        if (m) w['k8s.cronjob.name'] = m[1]!;
      }
      break;
    }
  }
  return w;
}

export const SERVICE_NAME_ANNOTATION = 'resource.opentelemetry.io/service.name';

/** service.name for a pod, as the semantic conventions' Kubernetes guidance orders the sources. */
export function serviceNameOf(pod: PodInfo, workload: Workload, container?: string): string {
  return (
    pod.annotations[SERVICE_NAME_ANNOTATION] ||
    pod.labels['app.kubernetes.io/name'] ||
    workload['k8s.deployment.name'] ||
    workload['k8s.replicaset.name'] ||
    workload['k8s.statefulset.name'] ||
    workload['k8s.daemonset.name'] ||
    workload['k8s.cronjob.name'] ||
    workload['k8s.job.name'] ||
    pod.name ||
    container ||
    ''
  );
}

/** `registry/repo:tag@sha256:...` -> name and tag. */
export function splitImage(image: string): { name: string; tag?: string } {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash) return { name: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
  return { name: noDigest };
}

interface CompiledRule {
  from: ExtractRule['from'];
  kind: 'labels' | 'annotations';
  apply(map: Record<string, string>, out: Record<string, string>): void;
}

function compileRule(rule: ExtractRule, kind: 'labels' | 'annotations'): CompiledRule {
  const prefix = `k8s.${rule.from}.${kind}.`;
  if (rule.key !== undefined) {
    const key = rule.key;
    const name = rule.tag_name || prefix + key;
    return { from: rule.from, kind, apply: (map, out) => void (map[key] !== undefined && (out[name] = map[key])) };
  }
  const re = new RegExp(`^(?:${rule.key_regex})$`);
  return {
    from: rule.from,
    kind,
    apply: (map, out) => {
      for (const [k, v] of Object.entries(map)) {
        if (!re.test(k)) continue;
        out[rule.tag_name ? k.replace(re, rule.tag_name) : prefix + k] = v;
      }
    },
  };
}

export class Extractor {
  readonly #stores: Stores;
  readonly #rules: CompiledRule[];

  constructor(stores: Stores, rules: { labels: readonly ExtractRule[]; annotations: readonly ExtractRule[] }) {
    this.#stores = stores;
    this.#rules = [...rules.labels.map((r) => compileRule(r, 'labels')), ...rules.annotations.map((r) => compileRule(r, 'annotations'))];
  }

  /** Whether any rule reads namespace or node objects (so they must be watched). */
  rulesFrom(from: 'namespace' | 'node'): boolean {
    return this.#rules.some((r) => r.from === from);
  }

  /** The attributes of `keys` (and the label/annotation rules when `withRules`) for a pod match. */
  attributes(m: PodMatch, keys: readonly MetadataKey[], withRules: boolean): Record<string, string> {
    const { pod, container } = m;
    const out: Record<string, string> = {};
    const workload = workloadOf(pod, this.#stores);
    const spec = container ? pod.containers.find((c) => c.name === container.name) : undefined;
    for (const key of keys) {
      let v: string | undefined;
      switch (key) {
        case 'k8s.namespace.name': v = pod.namespace; break;
        case 'k8s.pod.name': v = pod.name; break;
        case 'k8s.pod.uid': v = pod.uid; break;
        case 'k8s.pod.start_time': v = pod.startTime; break;
        case 'k8s.pod.ip': v = pod.podIPs[0]; break;
        case 'k8s.node.name': v = pod.nodeName; break;
        case 'k8s.container.name': v = container?.name || undefined; break;
        case 'container.id': v = container?.id; break;
        case 'container.image.name': v = spec?.image && splitImage(spec.image).name; break;
        case 'container.image.tag': v = spec?.image && splitImage(spec.image).tag; break;
        case 'service.name': v = serviceNameOf(pod, workload, container?.name) || undefined; break;
        default: v = workload[key];
      }
      if (v) out[key] = v;
    }
    if (withRules) {
      for (const r of this.#rules) {
        const source = r.from === 'pod' ? pod : r.from === 'namespace' ? this.#stores.namespaces.get(pod.namespace) : pod.nodeName ? this.#stores.nodes.get(pod.nodeName) : undefined;
        if (source) r.apply(source[r.kind], out);
      }
    }
    return out;
  }
}
