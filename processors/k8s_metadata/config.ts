// The k8s_metadata processor's settings: the Collector's k8sattributes keys where they exist
// (auth_type, filter, extract, pod_association), bpfcol's for cgroup/pid association, peers,
// host and process metadata.
import { z } from 'zod';
import { duration } from '../../src/config/types.ts';

export const METADATA_KEYS = [
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'k8s.pod.start_time',
  'k8s.pod.ip',
  'k8s.node.name',
  'k8s.container.name',
  'container.id',
  'container.image.name',
  'container.image.tag',
  'k8s.deployment.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.job.name',
  'k8s.cronjob.name',
  'service.name',
] as const;
export type MetadataKey = (typeof METADATA_KEYS)[number];

export const DEFAULT_METADATA: MetadataKey[] = [
  'k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid', 'k8s.node.name', 'k8s.container.name', 'container.id',
  'k8s.deployment.name', 'k8s.replicaset.name', 'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.job.name', 'k8s.cronjob.name', 'service.name',
];
export const DEFAULT_PEER_METADATA: MetadataKey[] = [
  'k8s.namespace.name', 'k8s.pod.name', 'k8s.node.name', 'k8s.deployment.name', 'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.job.name', 'k8s.cronjob.name', 'service.name',
];

export const PROCESS_KEYS = ['process.executable.name', 'process.executable.path', 'process.command_line', 'process.owner', 'process.parent_pid'] as const;
export type ProcessKey = (typeof PROCESS_KEYS)[number];

const metadataKey = z.enum(METADATA_KEYS, { error: (i) => `expected one of ${METADATA_KEYS.join(', ')}, got ${JSON.stringify(i.input)}` });

const extractRule = z
  .strictObject({
    /** Attribute name; default k8s.<from>.labels.<key> (annotations: k8s.<from>.annotations.<key>). With key_regex, $1... name capture groups. */
    tag_name: z.string().optional(),
    key: z.string().optional(),
    key_regex: z.string().optional(),
    from: z.enum(['pod', 'namespace', 'node'], { error: 'expected pod, namespace or node' }).default('pod'),
  })
  .superRefine((r, ctx) => {
    if ((r.key === undefined) === (r.key_regex === undefined)) ctx.addIssue({ code: 'custom', message: 'give key or key_regex (one of them)' });
    if (r.key_regex !== undefined) {
      try {
        new RegExp(r.key_regex);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['key_regex'], message: `expected a regular expression: ${(error as Error).message}` });
      }
    }
  });
export type ExtractRule = z.infer<typeof extractRule>;

export const SOURCE_KINDS = ['cgroup_id', 'cgroup_path', 'pid', 'container_id', 'pod_uid', 'pod_ip'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
export const DEFAULT_SOURCE_ATTRIBUTE: Record<SourceKind, string> = {
  cgroup_id: 'container.cgroup.id',
  cgroup_path: 'container.cgroup.path',
  pid: 'process.pid',
  container_id: 'container.id',
  pod_uid: 'k8s.pod.uid',
  pod_ip: 'k8s.pod.ip',
};
/** The Collector's resource_attribute sources, by attribute name. */
const COLLECTOR_ATTRIBUTE_SOURCES: Record<string, SourceKind> = { 'k8s.pod.ip': 'pod_ip', 'k8s.pod.uid': 'pod_uid', 'container.id': 'container_id' };

export interface AssociationSource {
  from: SourceKind;
  name: string;
}

const bpfcolSource = z.strictObject({
  from: z.enum(SOURCE_KINDS, { error: `expected one of ${SOURCE_KINDS.join(', ')}` }),
  /** Attribute holding the value (defaults per kind). */
  name: z.string().optional(),
});
// The Collector's form: { sources: [{ from: resource_attribute, name: k8s.pod.ip }] }, one source per rule.
const collectorRule = z.strictObject({
  sources: z
    .array(z.strictObject({ from: z.enum(['resource_attribute', 'connection'], { error: 'expected resource_attribute or connection' }), name: z.string().optional() }))
    .length(1, 'bpfcol takes one source per rule'),
});

const associationRule = z.union([bpfcolSource, collectorRule]).transform((rule, ctx): AssociationSource => {
  if ('sources' in rule) {
    const s = rule.sources[0]!;
    const kind = s.from === 'resource_attribute' ? COLLECTOR_ATTRIBUTE_SOURCES[s.name ?? ''] : undefined;
    if (!kind) {
      ctx.addIssue({ code: 'custom', message: `unsupported source ${s.from}${s.name ? ` ${s.name}` : ''}: expected resource_attribute k8s.pod.ip, k8s.pod.uid or container.id` });
      return z.NEVER;
    }
    return { from: kind, name: s.name! };
  }
  return { from: rule.from, name: rule.name ?? DEFAULT_SOURCE_ATTRIBUTE[rule.from] };
});

export const DEFAULT_ASSOCIATION: AssociationSource[] = [
  ...(['cgroup_id', 'cgroup_path', 'pid', 'container_id', 'pod_uid', 'pod_ip'] as const).map((from) => ({ from, name: DEFAULT_SOURCE_ATTRIBUTE[from] })),
  // Kernel data with no owning process (a SYN to a closed port) still has the local address: a pod IP names its pod.
  { from: 'pod_ip', name: 'network.local.address' },
];

export const configSchema = z
  .strictObject({
    /** serviceAccount (in-cluster), kubeConfig (KUBECONFIG / ~/.kube/config or kube_config_path), or none (host and process metadata only). */
    auth_type: z.enum(['serviceAccount', 'kubeConfig', 'none'], { error: 'expected serviceAccount, kubeConfig or none' }).default('serviceAccount'),
    /** kubeConfig: the file to read instead of the default loading rules. */
    kube_config_path: z.string().optional(),
    /** kubeConfig: the context to use instead of the current one. */
    context: z.string().optional(),
    filter: z
      .strictObject({
        /** Env var holding this node's name (the downward API's spec.nodeName); pods are watched for this node only. Empty: all nodes. */
        node_from_env_var: z.string().default('K8S_NODE_NAME'),
        /** Watch only this namespace's pods. */
        namespace: z.string().default(''),
      })
      .default({ node_from_env_var: 'K8S_NODE_NAME', namespace: '' }),
    extract: z
      .strictObject({
        metadata: z.array(metadataKey).default(DEFAULT_METADATA),
        labels: z.array(extractRule).default([]),
        annotations: z.array(extractRule).default([]),
        /** Process attributes added where process.pid is (read from /proc). */
        process: z.array(z.enum(PROCESS_KEYS, { error: `expected one of ${PROCESS_KEYS.join(', ')}` })).default(['process.executable.name', 'process.executable.path', 'process.owner']),
        /** host.name, host.id, os.type on every resource (when absent). */
        host: z.boolean().default(true),
        /** Replace a service.name the source set (else only an absent or unknown_service one is). */
        override_service_name: z.boolean().default(false),
      })
      .default({ metadata: DEFAULT_METADATA, labels: [], annotations: [], process: ['process.executable.name', 'process.executable.path', 'process.owner'], host: true, override_service_name: false }),
    /** How data finds its pod; the first rule whose attribute is present and resolves wins. Tried on each item, then on its resource. */
    pod_association: z.array(associationRule).default(DEFAULT_ASSOCIATION),
    peer: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Prefix of the peer's attributes: peer.k8s.pod.name ... */
        attribute_prefix: z.string().default('peer.'),
        /** Item attributes holding the peer address; spans also use server.address (CLIENT) / client.address (SERVER). */
        address_attributes: z.array(z.string()).default(['network.peer.address']),
        port_attributes: z.array(z.string()).default(['network.peer.port']),
        metadata: z.array(metadataKey).default(DEFAULT_PEER_METADATA),
        /** Watch the pods of every node so peers on other nodes resolve (the node filter then does not apply). */
        cluster_wide: z.boolean().default(false),
        /** Set the semantic-convention peer.service to the peer's service name when absent. */
        set_peer_service: z.boolean().default(true),
      })
      .default({ enabled: true, attribute_prefix: 'peer.', address_attributes: ['network.peer.address'], port_attributes: ['network.peer.port'], metadata: DEFAULT_PEER_METADATA, cluster_wide: false, set_peer_service: true }),
    /** Deleted pods still resolve for this long (late data). */
    pod_delete_grace_period: duration('2m'),
    /** Start only once the pods are listed (or fail after wait_for_metadata_timeout). */
    wait_for_metadata: z.boolean().default(false),
    wait_for_metadata_timeout: duration('10s'),
    /** Backoff between attempts after a list or watch error. */
    watch_retry: z
      .strictObject({ initial_interval: duration('1s'), max_interval: duration('30s') })
      .default({ initial_interval: 1000, max_interval: 30_000 }),
    /** /proc of the host (mounted elsewhere in a container: /host/proc). */
    proc_root: z.string().default('/proc'),
    /** The cgroup v2 mount; empty finds it in /proc/self/mountinfo. */
    cgroup_root: z.string().default(''),
  });

export type K8sMetadataConfig = z.infer<typeof configSchema>;
