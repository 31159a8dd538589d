// The pods running on this node as a component that watches the Kubernetes API knows them
// (k8s_metadata's cache), published for components that report on the node (resources' pod
// counts) without either naming the other: one process, so a module-level registry is enough.

export interface PodInventory {
  /** This node's pods (every pod when the node is unknown), by namespace; deleted ones excluded. */
  podsByNamespace(): Map<string, number>;
  /** False until the first list of pods came back: counts before that would be zeros, not truths. */
  readonly synced: boolean;
}

const inventories = new Set<PodInventory>();

/** Makes `inventory` visible to podCounts(); the returned function withdraws it (at shutdown). */
export function publishPodInventory(inventory: PodInventory): () => void {
  inventories.add(inventory);
  return () => inventories.delete(inventory);
}

/**
 * Pods per namespace on this node, or undefined when no synced inventory is published (no
 * Kubernetes API in use). Several publishers (two k8s_metadata processors) watch the same pods:
 * the largest count per namespace is the truth, not their sum.
 */
export function podCounts(): Map<string, number> | undefined {
  let out: Map<string, number> | undefined;
  for (const inventory of inventories) {
    if (!inventory.synced) continue;
    out ??= new Map();
    for (const [namespace, n] of inventory.podsByNamespace()) out.set(namespace, Math.max(out.get(namespace) ?? 0, n));
  }
  return out;
}
