// The perf_sampling receiver's factory. One instance per receiver id serves both signals: the
// profiles pipelines get one profile per process (or container) per window, the metrics pipelines
// the process.cpu.samples sums.
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { type PerfSamplingConfig, perfSamplingConfigSchema } from './config.ts';
import { TRACEPOINTS, missingKernelFeatures } from './kernel.ts';
import { PerfSamplingReceiver } from './receiver.ts';

const receivers = new SharedComponents<PerfSamplingReceiver>();

function instance(settings: CreateSettings, config: PerfSamplingConfig) {
  return receivers.getOrCreate(settings.id.text, () => new PerfSamplingReceiver(settings, config));
}

export const perfSamplingFactory: ReceiverFactory<PerfSamplingConfig> = {
  kind: 'receiver',
  type: 'perf_sampling',
  description: 'Continuous CPU profiles of every process: stacks sampled on every CPU (eBPF perf events), symbolized on the node, one profile per process per window; CPU samples per process as a metric.',
  configSchema: perfSamplingConfigSchema,
  missingKernelFeatures: (config) => missingKernelFeatures(config),
  kernelTracepoints: () => [...TRACEPOINTS],
  create: {
    profiles: (settings: CreateSettings, config: PerfSamplingConfig, next: Consumer<'profiles'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.profilesConsumer = next;
      return handle;
    },
    metrics: (settings: CreateSettings, config: PerfSamplingConfig, next: Consumer<'metrics'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.metricsConsumer = next;
      return handle;
    },
  },
};
