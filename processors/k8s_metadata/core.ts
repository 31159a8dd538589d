// The state one k8s_metadata processor shares across its pipelines and signals: the informers
// and stores (one set of watches however many pipelines use it), the process table, the cgroup
// index, host attributes. Started by the first pipeline to start, stopped by the first to stop.
import type { CreateSettings } from '../../src/component/component.ts';
import { publishPodInventory } from '../../src/host/pod-inventory.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import { Associator } from './associate.ts';
import type { K8sMetadataConfig } from './config.ts';
import { Extractor, type Stores } from './extract.ts';
import { CgroupResolver, hostAttributes, ProcessTable } from './host.ts';
import { environment, Resources, type ResourceSpec } from './kube/client.ts';
import { Informer, type InformerTelemetry } from './kube/informer.ts';
import { type LabelledInfo, type PodInfo, slimLabelled, slimPod, slimWorkload, type WorkloadInfo } from './kube/objects.ts';
import { LabelledStore, PodStore, WorkloadStore } from './store.ts';

export interface Core {
  readonly config: K8sMetadataConfig;
  readonly logger: Logger;
  /** Pods, when running against an API server. */
  readonly pods: PodStore | undefined;
  readonly extractor: Extractor;
  readonly associator: Associator;
  /** host.* and os.type (and k8s.node.name in Kubernetes) for every resource. */
  readonly hostAttributes: Record<string, string>;
  readonly informers: Informer<unknown>[];
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

const cores = new WeakMap<K8sMetadataConfig, Core>();

/** The core for this processor's config, made on first use. */
export function coreFor(settings: CreateSettings, config: K8sMetadataConfig): Core {
  let core = cores.get(config);
  if (!core) {
    core = new SharedCore(settings, config);
    cores.set(config, core);
  }
  return core;
}

class SharedCore implements Core {
  readonly config: K8sMetadataConfig;
  readonly logger: Logger;
  readonly pods: PodStore | undefined;
  readonly extractor: Extractor;
  readonly associator: Associator;
  readonly hostAttributes: Record<string, string>;
  readonly informers: Informer<unknown>[] = [];
  readonly #settings: CreateSettings;
  readonly #stores: Stores;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #withdraw: (() => void) | undefined;
  #podsSynced: Promise<void> | undefined;
  readonly #nodeName: string | undefined;

  constructor(settings: CreateSettings, config: K8sMetadataConfig) {
    this.#settings = settings;
    this.config = config;
    this.logger = settings.logger;
    const env = environment(config.auth_type, { kubeConfigPath: config.kube_config_path, context: config.context });
    this.#stores = { replicaSets: new WorkloadStore(), jobs: new WorkloadStore(), nodes: new LabelledStore(), namespaces: new LabelledStore() };
    this.extractor = new Extractor(this.#stores, config.extract);
    this.hostAttributes = config.extract.host ? hostAttributes(config.proc_root) : {};
    const nodeName = config.filter.node_from_env_var ? process.env[config.filter.node_from_env_var] : undefined;
    this.#nodeName = nodeName;
    if (env.kind === 'kubernetes') {
      this.pods = new PodStore({ graceMs: config.pod_delete_grace_period });
      if (nodeName) this.hostAttributes['k8s.node.name'] = nodeName;
      this.#makeInformers(env.kubeConfig, nodeName);
    } else {
      this.pods = undefined;
      this.logger.info('k8s_metadata: no Kubernetes API in use; adding host and process metadata only', { reason: env.reason });
    }
    const processes = new ProcessTable({ procRoot: config.proc_root });
    const cgroups = new CgroupResolver(config.cgroup_root ? { root: config.cgroup_root } : {});
    this.associator = new Associator(config.pod_association, { pods: this.pods, processes, cgroups }, { wantProcess: config.extract.process.length > 0 || config.pod_association.some((s) => s.from === 'pid') });
    const t = settings.telemetry;
    t.gauge('processor_k8s_metadata_pods', 'Pods known (including deleted ones in their grace period).', () => this.pods?.size ?? 0, '{pods}');
  }

  #makeInformers(kc: import('@kubernetes/client-node').KubeConfig, nodeName: string | undefined): void {
    const c = this.config;
    const r = new Resources(kc);
    const t = this.#settings.telemetry;
    const telemetry: InformerTelemetry = {
      lists: t.counter('processor_k8s_metadata_lists', 'List calls to the Kubernetes API (first lists and relists after 410 Gone or errors).', '{requests}'),
      events: t.counter('processor_k8s_metadata_watch_events', 'Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).', '{events}'),
      errors: t.counter('processor_k8s_metadata_watch_errors', 'List or watch failures (each followed by a retry after backoff).', '{errors}'),
    };
    const namespace = c.filter.namespace || undefined;
    const perNode = c.peer.enabled && c.peer.cluster_wide ? undefined : nodeName;
    if (!perNode && !namespace) {
      this.logger.info(nodeName ? 'k8s_metadata: watching the pods of every node (peer.cluster_wide)' : `k8s_metadata: ${c.filter.node_from_env_var || 'node_from_env_var'} is not set; watching the pods of every node`);
    }
    const add = <T>(spec: ResourceSpec, slim: (raw: any) => { metadata: any; info: T } | undefined, store: { upsert(x: T): void; remove(x: T): void }) => {
      this.informers.push(
        new Informer<T>({ ...spec, kubeConfig: kc, slim, upsert: (x) => store.upsert(x), remove: (x) => store.remove(x), retry: { initialMs: c.watch_retry.initial_interval, maxMs: c.watch_retry.max_interval }, logger: this.logger, telemetry }) as Informer<unknown>,
      );
    };
    add<PodInfo>(r.pods({ nodeName: perNode, namespace }), slimPod, this.pods!);
    this.#podsSynced = this.informers.at(-1)!.synced;
    const keys = new Set([...c.extract.metadata, ...(c.peer.enabled ? c.peer.metadata : [])]);
    if (keys.has('k8s.deployment.name') || keys.has('service.name')) add<WorkloadInfo>(r.replicaSets(namespace), slimWorkload, this.#stores.replicaSets);
    if (keys.has('k8s.cronjob.name') || keys.has('service.name')) add<WorkloadInfo>(r.jobs(namespace), slimWorkload, this.#stores.jobs);
    if (this.extractor.rulesFrom('node')) add<LabelledInfo>(r.nodes(c.peer.cluster_wide ? undefined : nodeName), slimLabelled, this.#stores.nodes);
    if (this.extractor.rulesFrom('namespace')) add<LabelledInfo>(r.namespaces(), slimLabelled, this.#stores.namespaces);
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      for (const i of this.informers) i.start();
      if (this.pods) {
        this.#sweeper = setInterval(() => this.pods!.sweep(), Math.max(1000, Math.min(this.config.pod_delete_grace_period, 30_000)));
        this.#sweeper.unref();
        // The node's pods per namespace, for receivers that count them (resources).
        const pods = this.pods;
        const inventory = { synced: false, podsByNamespace: () => pods.countByNamespace(this.#nodeName) };
        void this.#podsSynced?.then(() => (inventory.synced = true));
        this.#withdraw = publishPodInventory(inventory);
      }
      if (this.config.wait_for_metadata && this.informers.length) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`k8s_metadata: the Kubernetes API did not answer within wait_for_metadata_timeout (${this.config.wait_for_metadata_timeout} ms)`)), this.config.wait_for_metadata_timeout);
        });
        try {
          await Promise.race([Promise.all(this.informers.map((i) => i.synced)), timeout]);
        } catch (error) {
          await this.shutdown();
          throw error;
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.#started;
  }

  shutdown(): Promise<void> {
    this.#stopped ??= (async () => {
      clearInterval(this.#sweeper);
      this.#withdraw?.();
      await Promise.all(this.informers.map((i) => i.stop()));
      cores.delete(this.config);
    })();
    return this.#stopped;
  }
}
