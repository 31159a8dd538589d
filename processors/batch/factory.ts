// The batch processor: fewer, larger batches for the exporters, as in the Collector.
import type { CreateSettings, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { Signal } from '../../src/pdata/signal.ts';
import { Batcher } from './batcher.ts';
import { type BatchConfig, batchConfigSchema } from './config.ts';

function create<S extends Signal>(signal: S) {
  return (settings: CreateSettings, config: BatchConfig, next: Consumer<S>) =>
    new Batcher(signal, config, next, settings);
}

export const batchFactory: ProcessorFactory<BatchConfig> = {
  kind: 'processor',
  type: 'batch',
  description: 'Gathers spans, metric points, log records and profile samples into batches by size and time',
  configSchema: batchConfigSchema,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
