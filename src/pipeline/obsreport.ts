// Counting around components, so no component counts its own accepted, refused, sent or failed
// items: the Collector's obsreport, under bpfcol's prefix.
import type { Consumer } from '../component/consumer.ts';
import { ITEM_NAME, itemCount, type Signal, type SignalData } from '../pdata/signal.ts';
import type { Counter, SelfTelemetry } from '../telemetry/self.ts';

/** Wraps what a receiver pushes into: accepted and refused items per receiver. */
export function countReceived<S extends Signal>(
  signal: S,
  receiverId: string,
  telemetry: SelfTelemetry,
  next: Consumer<S>,
): Consumer<S> {
  const item = ITEM_NAME[signal];
  const accepted = telemetry.counter(`receiver_accepted_${item}`, `Number of ${item} successfully pushed into the pipeline.`, `{${item}}`);
  const refused = telemetry.counter(`receiver_refused_${item}`, `Number of ${item} that could not be pushed into the pipeline.`, `{${item}}`);
  const attrs = { receiver: receiverId };
  return {
    async consume(data: SignalData[S]) {
      const n = itemCount(signal, data);
      try {
        await next.consume(data);
        accepted.add(n, attrs);
      } catch (error) {
        refused.add(n, attrs);
        throw error;
      }
    },
  };
}

/** The sent and failed item counters of an exporter; the exporter helper counts with them after its queue and retries. */
export function exporterItemCounters(signal: Signal, telemetry: SelfTelemetry): { sent: Counter; failed: Counter } {
  const item = ITEM_NAME[signal];
  return {
    sent: telemetry.counter(`exporter_sent_${item}`, `Number of ${item} successfully sent to destination.`, `{${item}}`),
    failed: telemetry.counter(`exporter_send_failed_${item}`, `Number of ${item} in failed attempts to send to destination.`, `{${item}}`),
  };
}

/** Wraps an exporter: sent and failed items per exporter (unless it counts them itself). */
export function countExported<S extends Signal>(
  signal: S,
  exporterId: string,
  telemetry: SelfTelemetry,
  exporter: Consumer<S>,
): Consumer<S> {
  const { sent, failed } = exporterItemCounters(signal, telemetry);
  const attrs = { exporter: exporterId };
  return {
    async consume(data: SignalData[S]) {
      const n = itemCount(signal, data);
      try {
        await exporter.consume(data);
        sent.add(n, attrs);
      } catch (error) {
        failed.add(n, attrs);
        throw error;
      }
    },
  };
}

/** Wraps a processor's input: items in and out per processor and pipeline. */
export function countProcessed<S extends Signal>(
  signal: S,
  processorId: string,
  pipelineId: string,
  telemetry: SelfTelemetry,
  next: Consumer<S>,
  direction: 'incoming' | 'outgoing',
): Consumer<S> {
  const counter = telemetry.counter(`processor_${direction}_items`, `Number of items passed ${direction === 'incoming' ? 'to' : 'from'} the processor.`, '{items}');
  const attrs = { processor: processorId, pipeline: pipelineId, 'otel.signal': signal };
  return {
    async consume(data: SignalData[S]) {
      counter.add(itemCount(signal, data), attrs);
      await next.consume(data);
    },
  };
}
