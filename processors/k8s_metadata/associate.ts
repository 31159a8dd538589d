// From the attributes of a resource or an item to the pod (and container) it came from, by the
// configured rules in order, as the Collector's pod_association: the first rule whose attribute
// is present and resolves to a pod wins. On the way it keeps what the machine says even without
// a pod (the process, a container id from the cgroup), for host-only metadata.
import { anyValueToString, type KeyValue } from '../../src/pdata/common.ts';
import type { AssociationSource } from './config.ts';
import { type CgroupPlace, type CgroupResolver, placeOf, type ProcessInfo, type ProcessTable } from './host.ts';
import type { PodMatch, PodStore } from './store.ts';

export interface Resolved {
  pod?: PodMatch;
  /** A container id the cgroup shows, pod or no pod. */
  containerId?: string;
  process?: ProcessInfo;
  /** The rule that found the pod. */
  via?: AssociationSource['from'];
}

export interface AssociatorDeps {
  pods: PodStore | undefined;
  processes: ProcessTable;
  cgroups: CgroupResolver;
}

function find(list: readonly KeyValue[], key: string): KeyValue | undefined {
  for (const kv of list) if (kv.key === key) return kv;
  return undefined;
}

export class Associator {
  readonly #sources: readonly AssociationSource[];
  readonly #deps: AssociatorDeps;
  readonly #pidAttribute: string;
  readonly #wantProcess: boolean;

  constructor(sources: readonly AssociationSource[], deps: AssociatorDeps, options: { pidAttribute?: string; wantProcess: boolean }) {
    this.#sources = sources;
    this.#deps = deps;
    this.#pidAttribute = options.pidAttribute ?? 'process.pid';
    this.#wantProcess = options.wantProcess;
  }

  /** What `attrs` lead to, or undefined when nothing; `cache` spans one batch. */
  resolve(attrs: readonly KeyValue[], cache: Map<string, Resolved | null>): Resolved | undefined {
    const out: Resolved = {};
    if (this.#wantProcess) {
      const pid = find(attrs, this.#pidAttribute);
      if (pid) {
        // Once per pid per batch: a batch of kernel data names the same few processes many times.
        const key = `process\u0000${anyValueToString(pid.value)}`;
        let p = cache.get(key);
        if (p === undefined) {
          const info = this.#deps.processes.get(Number(anyValueToString(pid.value)));
          p = info ? { process: info } : null;
          cache.set(key, p);
        }
        if (p?.process) out.process = p.process;
      }
    }
    for (const source of this.#sources) {
      const kv = find(attrs, source.name);
      if (!kv) continue;
      const text = anyValueToString(kv.value);
      if (text === '') continue;
      const key = `${source.from}\u0000${text}`;
      let r = cache.get(key);
      if (r === undefined) {
        r = this.#lookup(source.from, text, out.process) ?? null;
        cache.set(key, r);
      }
      if (!r) continue;
      if (r.containerId && !out.containerId) out.containerId = r.containerId;
      if (r.pod) {
        out.pod = r.pod;
        out.via = source.from;
        if (!out.containerId && r.pod.container?.id) out.containerId = r.pod.container.id;
        break;
      }
    }
    return out.pod || out.containerId || out.process ? out : undefined;
  }

  #lookup(from: AssociationSource['from'], text: string, process: ProcessInfo | undefined): Resolved | undefined {
    const pods = this.#deps.pods;
    switch (from) {
      case 'cgroup_id': {
        let id: bigint;
        try {
          id = BigInt(text);
        } catch {
          return undefined;
        }
        const place = this.#deps.cgroups.byId(id);
        return place && this.#fromPlace(place);
      }
      case 'cgroup_path':
        return this.#fromPlace(placeOf(text));
      case 'pid': {
        const p = process?.pid === Number(text) ? process : this.#deps.processes.get(Number(text));
        return p?.place && this.#fromPlace(p.place);
      }
      case 'container_id': {
        const pod = pods?.byContainerId(text);
        return pod ? { pod, containerId: text } : undefined;
      }
      case 'pod_uid': {
        const pod = pods?.byUid(text);
        return pod ? { pod: { pod } } : undefined;
      }
      case 'pod_ip': {
        const pod = pods?.byAddress(text);
        return pod ? { pod: { pod } } : undefined;
      }
    }
  }

  /** The pod of a cgroup: by its container id first (names the container too), else by the pod uid in the path. */
  #fromPlace(place: CgroupPlace): Resolved | undefined {
    const r: Resolved = {};
    const cid = place.container?.id;
    if (cid) r.containerId = cid;
    const pods = this.#deps.pods;
    const byContainer = cid ? pods?.byContainerId(cid) : undefined;
    if (byContainer) r.pod = byContainer;
    else if (place.pod) {
      const pod = pods?.byUid(place.pod.uid);
      if (pod) r.pod = cid ? { pod, container: { name: pod.containerIds.get(cid) ?? '', id: cid } } : { pod };
    }
    return r.pod || r.containerId ? r : undefined;
  }
}
