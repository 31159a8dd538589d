// The jvm_usdt receiver's factory. One instance per receiver id serves both signals: the metrics
// pipelines get the JVMs' metrics, the logs pipelines one record per collection (logs.enabled).
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { type JvmUsdtConfig, jvmUsdtConfigSchema } from './config.ts';
import { TRACEPOINTS, missingKernelFeatures } from './kernel.ts';
import { JvmUsdtReceiver } from './receiver.ts';

const receivers = new SharedComponents<JvmUsdtReceiver>();

function instance(settings: CreateSettings, config: JvmUsdtConfig) {
  return receivers.getOrCreate(settings.id.text, () => new JvmUsdtReceiver(settings, config));
}

export const jvmUsdtFactory: ReceiverFactory<JvmUsdtConfig> = {
  kind: 'receiver',
  type: 'jvm_usdt',
  description: "JVM memory pools, garbage collection, safepoints, threads and classes from HotSpot's USDT probes and hsperfdata, with no agent in the JVM.",
  configSchema: jvmUsdtConfigSchema,
  missingKernelFeatures: (config) => missingKernelFeatures({ probes: config.probes, logs: config.logs.enabled }),
  kernelTracepoints: () => [...TRACEPOINTS],
  create: {
    metrics: (settings: CreateSettings, config: JvmUsdtConfig, next: Consumer<'metrics'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.metricsConsumer = next;
      return handle;
    },
    logs: (settings: CreateSettings, config: JvmUsdtConfig, next: Consumer<'logs'>): Receiver => {
      const { component, handle } = instance(settings, config);
      component.logsConsumer = next;
      return handle;
    },
  },
};
