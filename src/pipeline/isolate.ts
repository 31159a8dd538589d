// A processor from a user's module must never break its pipeline: an error it throws (as opposed
// to a refusal from further down the pipeline, which passes through it) is counted, logged at
// most once a minute, and the batch is passed on unchanged or dropped, as its config says.
import type { Processor } from '../component/component.ts';
import type { Consumer } from '../component/consumer.ts';
import { cloneData, type Signal, type SignalData } from '../pdata/signal.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { SelfTelemetry } from '../telemetry/self.ts';

export interface IsolationOptions {
  onError: 'pass' | 'drop';
  processorId: string;
  logger: Logger;
  telemetry: SelfTelemetry;
}

/** Wraps the consumer handed to a module so refusals from downstream can be told apart. */
export function markDownstream<S extends Signal>(next: Consumer<S>, downstreamErrors: WeakSet<object>): Consumer<S> {
  return {
    async consume(data) {
      try {
        await next.consume(data);
      } catch (error) {
        if (typeof error === 'object' && error !== null) downstreamErrors.add(error);
        throw error;
      }
    },
  };
}

export function isolate<S extends Signal>(
  processor: Processor<S>,
  next: Consumer<S>,
  downstreamErrors: WeakSet<object>,
  options: IsolationOptions,
): Processor<S> {
  const errors = options.telemetry.counter('processor_module_errors', 'Errors thrown by processors loaded from modules; the batch was passed on or dropped as configured.', '{errors}');
  const attrs = { processor: options.processorId, action: options.onError };
  // Passing on "unchanged" needs the batch as it was before a mutating module touched it.
  const keepCopy = options.onError === 'pass' && (processor.capabilities?.mutatesData ?? false);
  let lastLog = 0;
  return {
    ...(processor.capabilities ? { capabilities: processor.capabilities } : {}),
    start: (host) => processor.start(host),
    shutdown: () => processor.shutdown(),
    async consume(data: SignalData[S]) {
      const original = keepCopy ? cloneData(data) : data;
      try {
        await processor.consume(data);
      } catch (error) {
        if (typeof error === 'object' && error !== null && downstreamErrors.has(error)) throw error;
        errors.add(1, attrs);
        if (Date.now() - lastLog > 60_000) {
          lastLog = Date.now();
          options.logger.error('processor module threw; batch ' + (options.onError === 'pass' ? 'passed on unchanged' : 'dropped'), {
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
        }
        if (options.onError === 'pass') await next.consume(original);
      }
    },
  };
}
