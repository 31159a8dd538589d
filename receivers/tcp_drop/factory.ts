// The tcp_drop receiver's factory. One instance per receiver id serves both signals: the metrics
// pipelines get the aggregated counts, the logs pipelines the per-drop records (logs.enabled).
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { type TcpDropConfig, tcpDropConfigSchema } from './config.ts';
import { HOOKS, missingKernelFeatures } from './kernel.ts';
import { TcpDropReceiver } from './receiver.ts';

const receivers = new SharedComponents<TcpDropReceiver>();

function instance(settings: CreateSettings, config: TcpDropConfig) {
  return receivers.getOrCreate(settings.id.text, () => new TcpDropReceiver(settings, config));
}

/** Tracepoints the receiver may attach (the optional ones included), for `bpfcol probe`. */
export const tcpDropTracepoints: string[] = HOOKS.map((h) => h.tracepoint);
/** What this kernel lacks for a config (empty: it can run); the receiver refuses to start otherwise. */
export const tcpDropMissingFeatures = missingKernelFeatures;

export const tcpDropFactory: ReceiverFactory<TcpDropConfig> = {
  kind: 'receiver',
  type: 'tcp_drop',
  description: 'TCP drops with the kernel drop reason, retransmits, resets and connection stats per endpoint pair and process (eBPF tracepoints).',
  configSchema: tcpDropConfigSchema,
  missingKernelFeatures: (config) => missingKernelFeatures(config),
  kernelTracepoints: () => tcpDropTracepoints,
  create: {
    metrics: (settings: CreateSettings, config: TcpDropConfig, next: Consumer<'metrics'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.metricsConsumer = next;
      return handle;
    },
    logs: (settings: CreateSettings, config: TcpDropConfig, next: Consumer<'logs'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.logsConsumer = next;
      return handle;
    },
  },
};
