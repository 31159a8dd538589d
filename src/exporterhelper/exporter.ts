// The exporter helper: what every push exporter is wrapped in, as the Collector's exporterhelper.
// A batch goes into the sending queue (consume resolves once it is queued, or written to disk
// with a persistent queue); num_consumers loops take batches and send them through the retry and
// timeout senders; sent and failed items are counted once each batch is done with.
import type { Component, CreateSettings, Exporter, Host } from '../component/component.ts';
import { ConsumerError, permanentError, retryableError } from '../component/errors.ts';
import { itemCount, ITEM_NAME, type Signal, type SignalData } from '../pdata/signal.ts';
import { exporterItemCounters } from '../pipeline/obsreport.ts';
import type { Counter } from '../telemetry/self.ts';
import type { ExporterHelperConfig } from './config.ts';
import { PersistentQueue } from './persistent-queue.ts';
import { MemoryQueue, QueueFullError, type SendingQueue } from './queue.ts';
import { type Attempt, InterruptedError, sendWithRetry } from './retry.ts';
import { isStorageExtension } from './storage.ts';

/** What an exporter gives the helper: its lifecycle and one attempt at sending a batch. */
export interface Sender<S extends Signal> extends Component {
  /** Sends once; resolves when the backend took the batch, rejects with a ConsumerError. Should stop when `signal` aborts. */
  send(data: SignalData[S], signal: AbortSignal): Promise<void>;
}

export interface HelperOptions {
  /** How long a shutdown keeps sending what is queued before it stops (default 10 s). */
  drainTimeoutMs?: number;
  /** For tests: the jitter source of the backoff. */
  random?: () => number;
}

const DEFAULT_DRAIN_MS = 10_000;
/** At most one log line per this many ms about refused batches (a full queue refuses many). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class HelperExporter<S extends Signal> implements Exporter<S> {
  readonly capabilities = { mutatesData: false };
  readonly countsItems = true;
  private readonly signal: S;
  private readonly settings: CreateSettings;
  private readonly config: ExporterHelperConfig;
  private readonly sender: Sender<S>;
  private readonly options: HelperOptions;
  private readonly stopController = new AbortController();
  private readonly counters: { sent: Counter; failed: Counter; enqueueFailed: Counter; retries: Counter; corruptedItems: Counter; corruptedRecords: Counter };
  private queue?: SendingQueue<S>;
  private consumers: Promise<void>[] = [];
  /** Sends in progress when there is no queue. */
  private readonly direct = new Set<Promise<void>>();
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  private lastRefusalLog = 0;
  private lastRefusalReason = '';
  private suppressedRefusals = 0;

  constructor(signal: S, settings: CreateSettings, config: ExporterHelperConfig, sender: Sender<S>, options: HelperOptions = {}) {
    this.signal = signal;
    this.settings = settings;
    this.config = config;
    this.sender = sender;
    this.options = options;
    const t = settings.telemetry.with({ data_type: signal });
    const item = ITEM_NAME[signal];
    this.counters = {
      ...exporterItemCounters(signal, settings.telemetry),
      enqueueFailed: settings.telemetry.counter(`exporter_enqueue_failed_${item}`, `Number of ${item} failed to be added to the sending queue.`, `{${item}}`),
      retries: t.counter('exporter_retries', 'Number of export attempts retried after a retryable failure.', '{retries}'),
      corruptedItems: settings.telemetry.counter(
        `exporter_queue_corrupted_${item}`,
        `Number of ${item} in persistent queue records that could not be read back (corrupted or missing) and were skipped.`,
        `{${item}}`,
      ),
      corruptedRecords: t.counter('exporter_queue_corrupted_records', 'Number of persistent queue records that could not be read back and were skipped.', '{records}'),
    };
    if (config.sending_queue.enabled) {
      // No unit: it is the sizer's (requests, items or bytes), which differs between exporters sharing the metric.
      t.gauge('exporter_queue_size', 'Current size of the retry queue (in the sizer\'s unit).', () => this.queue?.size() ?? 0);
      t.gauge('exporter_queue_capacity', 'Fixed capacity of the retry queue (in the sizer\'s unit).', () => config.sending_queue.queue_size);
    }
  }

  async start(host: Host): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    await this.sender.start(host);
    const q = this.config.sending_queue;
    if (!q.enabled) {
      this.state = 'started';
      return;
    }
    const queueOptions = { sizer: q.sizer, capacity: q.queue_size, block: q.block_on_overflow };
    if (q.storage === undefined) {
      this.queue = new MemoryQueue(this.signal, queueOptions);
    } else {
      const storageId = q.storage;
      const extension = host.getExtension(storageId);
      if (extension === undefined) {
        throw new Error(`sending_queue.storage: extension "${storageId}" is not running: expected it under extensions: and in service.extensions`);
      }
      if (!isStorageExtension(extension)) throw new Error(`sending_queue.storage: extension "${storageId}" is not a storage extension (like file_storage)`);
      this.queue = new PersistentQueue(this.signal, {
        ...queueOptions,
        client: () => extension.getClient({ kind: 'exporter', id: this.settings.id.text, name: this.signal }),
        logger: this.settings.logger,
        onCorrupted: (items) => {
          this.counters.corruptedItems.add(items);
          this.counters.corruptedRecords.add(1);
        },
      });
    }
    await this.queue.start();
    for (let i = 0; i < q.num_consumers; i++) this.consumers.push(this.consumeQueue(this.queue));
    this.state = 'started';
  }

  async consume(data: SignalData[S]): Promise<void> {
    if (this.state !== 'started') {
      throw (this.state === 'stopped' ? retryableError : permanentError)(`the ${this.settings.id.text} exporter is ${this.state === 'stopped' ? 'shut down' : 'not started'}`);
    }
    const items = itemCount(this.signal, data);
    if (items === 0) return;
    if (!this.queue) {
      const sending = sendWithRetry(this.attempt, data, this.retryOptions(items));
      this.direct.add(sending);
      try {
        await sending;
        this.counters.sent.add(items);
      } catch (error) {
        this.counters.failed.add(items);
        throw error instanceof InterruptedError ? retryableError(`the ${this.settings.id.text} exporter is shutting down`, error) : error;
      } finally {
        this.direct.delete(sending);
      }
      return;
    }
    try {
      await this.queue.offer(data);
    } catch (error) {
      this.counters.enqueueFailed.add(items);
      const refusal =
        error instanceof QueueFullError
          ? retryableError(`${error.message}: try a larger sending_queue.queue_size, or block_on_overflow: true`, error)
          : error instanceof ConsumerError
            ? error
            : retryableError(error instanceof Error ? error.message : String(error), error);
      this.logRefusal(refusal, items);
      throw refusal;
    }
  }

  private readonly attempt: Attempt<SignalData[S]> = (data, signal) => this.sender.send(data, signal);

  private retryOptions(items: number) {
    return {
      retry: this.config.retry_on_failure,
      timeoutMs: this.config.timeout,
      stop: this.stopController.signal,
      logger: this.settings.logger,
      retries: this.counters.retries,
      items,
      ...(this.options.random ? { random: this.options.random } : {}),
    };
  }

  private logRefusal(error: ConsumerError, items: number): void {
    const now = Date.now();
    // The same refusal again (a full queue refuses many) is logged once per interval; a new reason at once.
    const reason = error.message.replace(/\d+/g, '#');
    if (reason === this.lastRefusalReason && now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) {
      this.suppressedRefusals++;
      return;
    }
    this.lastRefusalReason = reason;
    this.settings.logger.error('Exporting failed. Rejecting data.', {
      error: error.message,
      rejected_items: items,
      ...(this.suppressedRefusals > 0 ? { refusals_not_logged: this.suppressedRefusals } : {}),
    });
    this.lastRefusalLog = now;
    this.suppressedRefusals = 0;
  }

  /** One of num_consumers loops: takes a batch, sends it with retries, counts what became of it. */
  private async consumeQueue(queue: SendingQueue<S>): Promise<void> {
    for (;;) {
      const batch = await queue.take();
      if (!batch) return;
      try {
        await sendWithRetry(this.attempt, batch.data, this.retryOptions(batch.items));
        this.counters.sent.add(batch.items);
        await batch.done('sent');
      } catch (error) {
        if (error instanceof InterruptedError && queue instanceof PersistentQueue) {
          await batch.done('keep');
          continue;
        }
        this.counters.failed.add(batch.items);
        if (error instanceof InterruptedError) {
          this.settings.logger.error('Exporting failed. Dropping data: the exporter stopped before the batch could be sent.', { dropped_items: batch.items });
        }
        await batch.done('failed');
      }
    }
  }

  /** Sends what is queued for at most the drain bound, then stops: a persistent queue keeps the rest. */
  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state !== 'new';
    this.state = 'stopped';
    if (!wasStarted) return;
    const queue = this.queue;
    queue?.close();
    const work = queue ? Promise.all(this.consumers) : Promise.allSettled([...this.direct]);
    const drainMs = this.options.drainTimeoutMs ?? DEFAULT_DRAIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([work.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), drainMs)))]);
    clearTimeout(timer);
    if (!finished) {
      await queue?.stop();
      this.stopController.abort(new Error('shutdown'));
      await work;
      const left = queue?.held() ?? { batches: 0, items: 0 };
      if (left.batches > 0 && queue instanceof PersistentQueue) {
        this.settings.logger.warn('shutting down with batches still queued: they stay on disk and are sent after the next start', { batches: left.batches, items: left.items });
      } else if (left.batches > 0) {
        this.counters.failed.add(left.items);
        this.settings.logger.error('Exporting failed. Dropping data: the exporter shut down with batches still queued.', { dropped_items: left.items, drain_timeout: `${drainMs}ms` });
      }
    }
    this.stopController.abort(new Error('shutdown'));
    if (queue) {
      await queue.stop();
      await queue.dispose();
    }
    await this.sender.shutdown();
  }
}

/** Wraps `sender` in the helper as `config` says. */
export function newExporter<S extends Signal>(signal: S, settings: CreateSettings, config: ExporterHelperConfig, sender: Sender<S>, options?: HelperOptions): HelperExporter<S> {
  return new HelperExporter(signal, settings, config, sender, options);
}
