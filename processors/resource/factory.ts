// The resource processor: inserts, updates, deletes or hashes resource attributes, as the
// Collector's resourceprocessor, with the attributes processor's actions.
import type { Processor, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { Resource } from '../../src/pdata/common.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import { applyActions } from '../attributes/actions.ts';
import { configSchema, type ResourceConfig, validate } from './config.ts';

/** Every resource in a batch of any signal. */
export function resourcesOf<S extends Signal>(signal: S, data: SignalData[S]): Resource[] {
  switch (signal) {
    case 'traces':
      return (data as SignalData['traces']).resourceSpans.map((r) => r.resource);
    case 'metrics':
      return (data as SignalData['metrics']).resourceMetrics.map((r) => r.resource);
    case 'logs':
      return (data as SignalData['logs']).resourceLogs.map((r) => r.resource);
    default:
      return (data as SignalData['profiles']).resourceProfiles.map((r) => r.resource);
  }
}

function create<S extends Signal>(signal: S) {
  return (_settings: unknown, config: ResourceConfig, next: Consumer<S>): Processor<S> => ({
    capabilities: { mutatesData: true },
    async start() {},
    async shutdown() {},
    async consume(data: SignalData[S]) {
      for (const resource of resourcesOf(signal, data)) applyActions(resource.attributes, config.attributes);
      await next.consume(data);
    },
  });
}

export const resourceFactory: ProcessorFactory<ResourceConfig> = {
  kind: 'processor',
  type: 'resource',
  description: 'Inserts, updates, deletes or hashes resource attributes.',
  configSchema,
  validate,
  create: { traces: create('traces'), metrics: create('metrics'), logs: create('logs'), profiles: create('profiles') },
};
