// Registers the k8s_metadata processor (all signals).
import type { CreateSettings, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { Signal } from '../../src/pdata/signal.ts';
import { configSchema, type K8sMetadataConfig } from './config.ts';
import { K8sMetadataProcessor } from './processor.ts';

function create<S extends Signal>(signal: S) {
  return (settings: CreateSettings, config: K8sMetadataConfig, next: Consumer<S>) => new K8sMetadataProcessor(settings, config, signal, next);
}

export const k8sMetadataFactory: ProcessorFactory<K8sMetadataConfig> = {
  kind: 'processor',
  type: 'k8s_metadata',
  description: 'Adds Kubernetes pod, workload and container metadata (and host and process metadata) found from pids, cgroups, container ids, pod uids and IPs; peers by address.',
  configSchema,
  create: { traces: create('traces'), metrics: create('metrics'), logs: create('logs'), profiles: create('profiles') },
};
