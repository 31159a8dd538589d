// The otlp receiver's factory. As the Collector's otlpreceiver, one instance per receiver id
// serves every signal on one port: each per-signal create finds (or makes) that instance and
// registers its signal's next consumer; start and shutdown run once for all of them.
import type { CreateSettings, Receiver, ReceiverFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { type OtlpReceiverConfig, otlpReceiverConfigSchema, validateOtlpReceiverConfig } from './config.ts';
import type { OtlpSignal } from './pipeline.ts';
import { OtlpReceiver } from './receiver.ts';

const receivers = new SharedComponents<OtlpReceiver>();

function createFor<S extends OtlpSignal>(signal: S) {
  return (settings: CreateSettings, config: OtlpReceiverConfig, next: Consumer<S>): Receiver => {
    const { component, handle } = receivers.getOrCreate(settings.id.text, () => new OtlpReceiver(settings, config));
    component.consumers.register(signal, next);
    return handle;
  };
}

export const otlpFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  description: 'Receives traces, metrics and logs over OTLP/gRPC and OTLP/HTTP (protobuf and JSON).',
  configSchema: otlpReceiverConfigSchema,
  validate: validateOtlpReceiverConfig,
  create: {
    traces: createFor('traces'),
    metrics: createFor('metrics'),
    logs: createFor('logs'),
  },
};
