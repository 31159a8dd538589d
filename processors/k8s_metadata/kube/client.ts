// Connecting to the API server the way the config says (in-cluster service account or a
// kubeconfig), and the list calls and watch paths of the resources the processor watches.
import { existsSync } from 'node:fs';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ListResult } from './informer.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type Environment = { kind: 'kubernetes'; kubeConfig: KubeConfig } | { kind: 'host'; reason: string };

/**
 * The API server to use, or why there is none. serviceAccount outside a pod (no
 * KUBERNETES_SERVICE_HOST or no token) is not an error: the processor then adds host metadata
 * only. A kubeConfig that cannot be read is an error (the user asked for it).
 */
export function environment(
  auth: 'serviceAccount' | 'kubeConfig' | 'none',
  options: { kubeConfigPath?: string | undefined; context?: string | undefined; serviceAccountRoot?: string } = {},
): Environment {
  if (auth === 'none') return { kind: 'host', reason: 'auth_type is none' };
  const kc = new KubeConfig();
  if (auth === 'serviceAccount') {
    const root = options.serviceAccountRoot ?? '';
    if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) return { kind: 'host', reason: 'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)' };
    if (!existsSync(`${root}${SERVICE_ACCOUNT_DIR}/token`)) return { kind: 'host', reason: `no service account token at ${root}${SERVICE_ACCOUNT_DIR}/token` };
    kc.loadFromCluster(root);
    return { kind: 'kubernetes', kubeConfig: kc };
  }
  if (options.kubeConfigPath) {
    if (!existsSync(options.kubeConfigPath)) throw new Error(`kube_config_path ${options.kubeConfigPath} does not exist`);
    kc.loadFromFile(options.kubeConfigPath);
  } else {
    kc.loadFromDefault();
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new Error(`kubeconfig has no context "${options.context}"`);
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig names no current cluster');
  return { kind: 'kubernetes', kubeConfig: kc };
}

export interface ResourceSpec {
  resource: string;
  path: string;
  list: () => Promise<ListResult>;
  fieldSelector?: string;
}

/** The typed list calls of the official client, as what the informers need. */
export class Resources {
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #batch: BatchV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
  }

  pods(options: { nodeName?: string | undefined; namespace?: string | undefined }): ResourceSpec {
    const fieldSelector = options.nodeName ? `spec.nodeName=${options.nodeName}` : undefined;
    const ns = options.namespace;
    const sel = fieldSelector ? { fieldSelector } : {};
    return {
      resource: 'pods',
      path: ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/pods` : '/api/v1/pods',
      list: () => (ns ? this.#core.listNamespacedPod({ namespace: ns, ...sel }) : this.#core.listPodForAllNamespaces(sel)) as Promise<ListResult>,
      ...(fieldSelector && { fieldSelector }),
    };
  }

  replicaSets(namespace?: string): ResourceSpec {
    return {
      resource: 'replicasets',
      path: namespace ? `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets` : '/apis/apps/v1/replicasets',
      list: () => (namespace ? this.#apps.listNamespacedReplicaSet({ namespace }) : this.#apps.listReplicaSetForAllNamespaces()) as Promise<ListResult>,
    };
  }

  jobs(namespace?: string): ResourceSpec {
    return {
      resource: 'jobs',
      path: namespace ? `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs` : '/apis/batch/v1/jobs',
      list: () => (namespace ? this.#batch.listNamespacedJob({ namespace }) : this.#batch.listJobForAllNamespaces()) as Promise<ListResult>,
    };
  }

  nodes(name?: string): ResourceSpec {
    const fieldSelector = name ? `metadata.name=${name}` : undefined;
    return { resource: 'nodes', path: '/api/v1/nodes', list: () => this.#core.listNode(fieldSelector ? { fieldSelector } : {}) as Promise<ListResult>, ...(fieldSelector && { fieldSelector }) };
  }

  namespaces(): ResourceSpec {
    return { resource: 'namespaces', path: '/api/v1/namespaces', list: () => this.#core.listNamespace() as Promise<ListResult> };
  }
}
