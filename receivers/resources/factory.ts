// The resources receiver's factory: metrics only.
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { type ResourcesConfig, resourcesConfigSchema } from './config.ts';
import { ResourcesReceiver } from './receiver.ts';

export const resourcesFactory: ReceiverFactory<ResourcesConfig> = {
  kind: 'receiver',
  type: 'resources',
  description: 'CPU, memory, disk and network per node, container, pod and process from /proc, /sys and cgroups (v1 and v2); block I/O latency per container with eBPF.',
  configSchema: resourcesConfigSchema,
  create: {
    metrics: (settings: CreateSettings, config: ResourcesConfig, next: Consumer<'metrics'>): Receiver => new ResourcesReceiver(settings, config, next),
  },
};
