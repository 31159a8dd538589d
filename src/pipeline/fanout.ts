// One consumer in front of several. Consumers that change data each get their own copy, made
// before anyone is handed the batch; read-only ones share the original. When every consumer
// mutates, the last one takes the original (one copy fewer).
import type { Capabilities, Consumer } from '../component/consumer.ts';
import { ConsumerError, isRetryable } from '../component/errors.ts';
import { cloneData, type Signal, type SignalData } from '../pdata/signal.ts';

export interface Downstream<S extends Signal> {
  consumer: Consumer<S>;
  capabilities: Capabilities;
}

export function fanout<S extends Signal>(targets: Downstream<S>[]): Downstream<S> {
  if (targets.length === 1) return targets[0]!;
  const mutating = targets.filter((t) => t.capabilities.mutatesData);
  const allMutate = mutating.length === targets.length;
  const consumer: Consumer<S> = {
    async consume(data: SignalData[S]) {
      const inputs = targets.map((t, i) => {
        if (!t.capabilities.mutatesData) return data;
        if (allMutate && i === targets.length - 1) return data;
        return cloneData(data);
      });
      const results = await Promise.allSettled(targets.map((t, i) => t.consumer.consume(inputs[i]!)));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (errors.length === 0) return;
      if (errors.length === 1) throw errors[0];
      const messages = errors.map((e) => (e instanceof Error ? e.message : String(e)));
      throw new ConsumerError(messages.join('; '), errors.some(isRetryable), { cause: errors });
    },
  };
  // The fan-out itself hands out copies, so whoever feeds it need not.
  return { consumer, capabilities: { mutatesData: false } };
}
