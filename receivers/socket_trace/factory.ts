// The socket_trace receiver's factory. One instance per receiver id serves both signals: the
// traces pipelines get a span per request, the metrics pipelines the request duration histograms.
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { type SocketTraceConfig, socketTraceConfigSchema } from './config.ts';
import { KERNEL_TRACEPOINTS, missingKernelFeatures } from './kernel.ts';
import { SocketTraceReceiver } from './receiver.ts';

const receivers = new SharedComponents<SocketTraceReceiver>();

function instance(settings: CreateSettings, config: SocketTraceConfig) {
  return receivers.getOrCreate(settings.id.text, () => new SocketTraceReceiver(settings, config));
}

export const socketTraceFactory: ReceiverFactory<SocketTraceConfig> = {
  kind: 'receiver',
  type: 'socket_trace',
  description: 'Spans and request metrics for every HTTP/1.x, PostgreSQL, MySQL and Redis request processes serve and make, from their syscalls (eBPF raw tracepoints), with no instrumentation.',
  configSchema: socketTraceConfigSchema,
  missingKernelFeatures: (config) => missingKernelFeatures(config),
  kernelTracepoints: () => KERNEL_TRACEPOINTS,
  create: {
    traces: (settings: CreateSettings, config: SocketTraceConfig, next: Consumer<'traces'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.tracesConsumer = next;
      return handle;
    },
    metrics: (settings: CreateSettings, config: SocketTraceConfig, next: Consumer<'metrics'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.metricsConsumer = next;
      return handle;
    },
  },
};
