// The retry and timeout senders: one attempt is bounded by `timeout`; a retryable failure is tried
// again after an exponential backoff (at least as long as the peer's Retry-After / RetryInfo
// hint), a permanent one is given up at once, as the Collector's retry sender does.
import { ConsumerError, isRetryable, retryableError } from '../component/errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Counter } from '../telemetry/self.ts';
import { ExponentialBackoff } from './backoff.ts';
import type { RetryConfig } from './config.ts';

/** One attempt at sending a batch; `signal` aborts when the attempt timed out or the exporter stops. */
export type Attempt<T> = (data: T, signal: AbortSignal) => Promise<void>;

/** The exporter stopped before the batch could be sent; a persistent queue keeps it. */
export class InterruptedError extends Error {
  constructor(cause?: unknown) {
    super('interrupted due to shutdown', { cause });
    this.name = 'InterruptedError';
  }
}

export interface RetryOptions {
  retry: RetryConfig;
  /** Deadline of one attempt in ms; 0: none. */
  timeoutMs: number;
  /** Aborts waits and attempts when the exporter stops for good. */
  stop: AbortSignal;
  logger: Logger;
  retries: Counter;
  /** Items in the batch, for log lines. */
  items: number;
  /** For tests: the clock and the jitter source. */
  now?: () => number;
  random?: () => number;
}

function asConsumerError(error: unknown): ConsumerError {
  if (error instanceof ConsumerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConsumerError(message, isRetryable(error), { cause: error });
}

/** Runs one attempt within timeoutMs; rejects with a ConsumerError, or InterruptedError on stop. */
export async function attemptWithTimeout<T>(attempt: Attempt<T>, data: T, timeoutMs: number, stop: AbortSignal): Promise<void> {
  if (stop.aborted) throw new InterruptedError(stop.reason);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onStop = () => controller.abort(new InterruptedError(stop.reason));
  stop.addEventListener('abort', onStop, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    if (timeoutMs > 0) {
      timer = setTimeout(() => controller.abort(retryableError(`export timed out after ${timeoutMs} ms (timeout)`)), timeoutMs);
    }
  });
  aborted.catch(() => {});
  try {
    await Promise.race([attempt(data, controller.signal), aborted]);
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    if (stop.aborted) throw new InterruptedError(error);
    throw asConsumerError(error);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stop.aborted) return reject(new InterruptedError(stop.reason));
    const onStop = () => {
      clearTimeout(timer);
      reject(new InterruptedError(stop.reason));
    };
    const timer = setTimeout(() => {
      stop.removeEventListener('abort', onStop);
      resolve();
    }, ms);
    stop.addEventListener('abort', onStop, { once: true });
  });
}

/**
 * Sends `data`, retrying as configured. Resolves once sent; rejects with the last ConsumerError
 * when it gave up (permanent, or retries exhausted), or with InterruptedError when stopped.
 */
export async function sendWithRetry<T>(attempt: Attempt<T>, data: T, options: RetryOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const backoff = new ExponentialBackoff(options.retry, now(), options.random);
  for (;;) {
    let error: ConsumerError;
    try {
      await attemptWithTimeout(attempt, data, options.timeoutMs, options.stop);
      return;
    } catch (e) {
      if (e instanceof InterruptedError) throw e;
      error = e as ConsumerError;
    }
    if (!error.retryable) {
      options.logger.error('Exporting failed. The error is not retryable. Dropping data.', { error: error.message, dropped_items: options.items });
      throw error;
    }
    if (!options.retry.enabled) {
      options.logger.error('Exporting failed. Try enabling retry_on_failure config option to retry on retryable errors. Dropping data.', {
        error: error.message,
        dropped_items: options.items,
      });
      throw error;
    }
    let wait = backoff.next(now());
    if (wait !== undefined && error.retryAfterMs !== undefined) wait = Math.max(wait, error.retryAfterMs);
    if (wait === undefined || wait > backoff.remaining(now())) {
      options.logger.error('Exporting failed. No more retries left. Dropping data.', {
        error: error.message,
        max_elapsed_time: `${options.retry.max_elapsed_time}ms`,
        dropped_items: options.items,
      });
      throw new ConsumerError(`no more retries left: ${error.message}`, true, { cause: error });
    }
    options.logger.info('Exporting failed. Will retry the request after interval.', { error: error.message, interval: `${wait}ms` });
    options.retries.add(1);
    await sleep(wait, options.stop);
  }
}
