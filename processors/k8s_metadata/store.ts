// What the informers know, indexed the ways data finds a pod: by uid, by runtime container id,
// by pod IP (pods on the pod network) and by node IP + port (host-network pods, which share their
// node's IP). A deleted pod keeps resolving for the grace period, so data that arrives late (a
// connection closed after its pod) still gets its metadata; a newer pod takes its IP at once.
import type { LabelledInfo, PodInfo, WorkloadInfo } from './kube/objects.ts';

/** A static pod's mirror in the API carries kubelet's uid for it (the hash of its manifest). */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface PodMatch {
  pod: PodInfo;
  /** The container, when the lookup named one. */
  container?: { name: string; id: string };
}

export class PodStore {
  readonly #pods = new Map<string, PodInfo>();
  readonly #byContainer = new Map<string, string>();
  readonly #byIp = new Map<string, string>();
  readonly #byHostPort = new Map<string, string>();
  /** Static pods: kubelet's uid (the config hash the cgroup path holds) -> the mirror pod's API uid. */
  readonly #byMirror = new Map<string, string>();
  /** uid -> when its grace period ends (ms). */
  readonly #deleted = new Map<string, number>();
  readonly #graceMs: number;
  readonly #now: () => number;

  constructor(options: { graceMs: number; now?: () => number }) {
    this.#graceMs = options.graceMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#pods.size;
  }

  get deletedCount(): number {
    return this.#deleted.size;
  }

  upsert(pod: PodInfo): void {
    const old = this.#pods.get(pod.uid);
    if (old) this.#unindex(old);
    this.#deleted.delete(pod.uid);
    this.#pods.set(pod.uid, pod);
    this.#index(pod);
  }

  /** A deleted pod resolves until its grace period ends. */
  remove(pod: PodInfo): void {
    if (!this.#pods.has(pod.uid)) return;
    this.#deleted.set(pod.uid, this.#now() + this.#graceMs);
  }

  /** Live pods (not deleted) per namespace, only those on `nodeName` when given. */
  countByNamespace(nodeName?: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const pod of this.#pods.values()) {
      if (this.#deleted.has(pod.uid) || (nodeName !== undefined && pod.nodeName !== nodeName)) continue;
      out.set(pod.namespace, (out.get(pod.namespace) ?? 0) + 1);
    }
    return out;
  }

  /** Forgets pods whose grace period ended. */
  sweep(): void {
    const now = this.#now();
    for (const [uid, until] of this.#deleted) {
      if (until > now) continue;
      const pod = this.#pods.get(uid);
      if (pod) this.#unindex(pod);
      this.#pods.delete(uid);
      this.#deleted.delete(uid);
    }
  }

  /** By API uid, or, for a static pod, by the uid kubelet knows it by (its config hash). */
  byUid(uid: string): PodInfo | undefined {
    const pod = this.#pods.get(uid);
    if (pod) return pod;
    const mirror = this.#byMirror.get(uid.replaceAll('-', ''));
    return mirror === undefined ? undefined : this.#pods.get(mirror);
  }

  byContainerId(id: string): PodMatch | undefined {
    const uid = this.#byContainer.get(id);
    const pod = uid === undefined ? undefined : this.#pods.get(uid);
    if (!pod) return undefined;
    return { pod, container: { name: pod.containerIds.get(id) ?? '', id } };
  }

  /** The pod with this IP; for a node IP, the host-network pod serving `port` on it. */
  byAddress(ip: string, port?: number): PodInfo | undefined {
    if (port !== undefined) {
      const uid = this.#byHostPort.get(`${ip}|${port}`);
      const pod = uid === undefined ? undefined : this.#pods.get(uid);
      if (pod) return pod;
    }
    const uid = this.#byIp.get(ip);
    return uid === undefined ? undefined : this.#pods.get(uid);
  }

  #index(pod: PodInfo): void {
    for (const id of pod.containerIds.keys()) this.#byContainer.set(id, pod.uid);
    const mirror = pod.annotations[MIRROR_ANNOTATION];
    if (mirror) this.#byMirror.set(mirror, pod.uid);
    if (pod.hostNetwork) {
      // Its IP is its node's: only (IP, port) names it.
      for (const ip of pod.podIPs) for (const c of pod.containers) for (const port of c.ports) this.#take(this.#byHostPort, `${ip}|${port}`, pod.uid);
    } else {
      for (const ip of pod.podIPs) this.#take(this.#byIp, ip, pod.uid);
    }
  }

  /** A live pod takes a key from a deleted one; a deleted one never takes it from a live one. */
  #take(map: Map<string, string>, key: string, uid: string): void {
    const current = map.get(key);
    if (current !== undefined && current !== uid && !this.#deleted.has(current) && this.#deleted.has(uid)) return;
    map.set(key, uid);
  }

  #unindex(pod: PodInfo): void {
    const drop = (map: Map<string, string>, key: string) => {
      if (map.get(key) === pod.uid) map.delete(key);
    };
    for (const id of pod.containerIds.keys()) drop(this.#byContainer, id);
    const mirror = pod.annotations[MIRROR_ANNOTATION];
    if (mirror) drop(this.#byMirror, mirror);
    for (const ip of pod.podIPs) {
      drop(this.#byIp, ip);
      for (const c of pod.containers) for (const port of c.ports) drop(this.#byHostPort, `${ip}|${port}`);
    }
  }
}

/** ReplicaSets or Jobs by namespace/name (their owners name the Deployment or CronJob). */
export class WorkloadStore {
  readonly #items = new Map<string, WorkloadInfo>();

  upsert(w: WorkloadInfo): void {
    this.#items.set(`${w.namespace}/${w.name}`, w);
  }

  remove(w: WorkloadInfo): void {
    this.#items.delete(`${w.namespace}/${w.name}`);
  }

  get(namespace: string, name: string): WorkloadInfo | undefined {
    return this.#items.get(`${namespace}/${name}`);
  }

  get size(): number {
    return this.#items.size;
  }
}

/** Nodes or namespaces by name, for their labels and annotations. */
export class LabelledStore {
  readonly #items = new Map<string, LabelledInfo>();

  upsert(x: LabelledInfo): void {
    this.#items.set(x.name, x);
  }

  remove(x: LabelledInfo): void {
    this.#items.delete(x.name);
  }

  get(name: string): LabelledInfo | undefined {
    return this.#items.get(name);
  }
}
