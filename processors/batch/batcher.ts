// One batch processor instance for one signal: gathers items across consume calls and hands
// them on when the batch is full, when it is `timeout` old, and on shutdown.
import type { CreateSettings, Processor } from '../../src/component/component.ts';
import type { Capabilities, Consumer } from '../../src/component/consumer.ts';
import { emptyData, ITEM_NAME, itemCount, type Signal, type SignalData } from '../../src/pdata/signal.ts';
import type { Counter, Histogram } from '../../src/telemetry/self.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { BatchConfig } from './config.ts';
import { appendData, takeItems } from './split.ts';

/** The Collector's bucket boundaries for processor_batch_batch_send_size. */
const SEND_SIZE_BOUNDARIES = [
  10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000,
  100000,
];

/**
 * Batches handed to the next consumer but not yet taken by it. Above this, consume waits
 * for them, so a slow exporter slows the receivers instead of growing memory without bound
 * (the Collector's batch processor blocks its callers the same way).
 */
const MAX_QUEUED_BATCHES = 2;

type Trigger = 'size' | 'timeout';

export class Batcher<S extends Signal> implements Processor<S> {
  // The batch holds and splits the arrays it is given, as in the Collector.
  readonly capabilities: Capabilities = { mutatesData: true };

  private pending: SignalData[S];
  private pendingItems = 0;
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private stopped = false;

  private readonly logger: Logger;
  private readonly sendSize: Histogram;
  private readonly sizeTriggers: Counter;
  private readonly timeoutTriggers: Counter;
  private readonly sendFailed: Counter;

  private readonly signal: S;
  private readonly config: BatchConfig;
  private readonly next: Consumer<S>;

  constructor(signal: S, config: BatchConfig, next: Consumer<S>, settings: CreateSettings) {
    this.signal = signal;
    this.config = config;
    this.next = next;
    this.pending = emptyData(signal);
    this.logger = settings.logger;
    const t = settings.telemetry;
    this.sendSize = t.histogram(
      'processor_batch_batch_send_size',
      'Number of units in the batch',
      '{unit}',
      SEND_SIZE_BOUNDARIES,
    );
    this.sizeTriggers = t.counter(
      'processor_batch_batch_size_trigger_send',
      'Number of times the batch was sent due to a size trigger',
      '{time}',
    );
    this.timeoutTriggers = t.counter(
      'processor_batch_timeout_trigger_send',
      'Number of times the batch was sent due to a timeout trigger',
      '{time}',
    );
    this.sendFailed = t.counter(
      `processor_batch_send_failed_${ITEM_NAME[signal]}`,
      `Number of ${ITEM_NAME[signal].replace('_', ' ')} the next consumer refused after they left the batch`,
      '{item}',
    );
  }

  async start(): Promise<void> {}

  async consume(data: SignalData[S]): Promise<void> {
    // Late data (after shutdown began) goes straight on rather than into a batch nobody sends.
    if (this.stopped) return this.next.consume(data);
    const n = itemCount(this.signal, data);
    if (n === 0) return;
    appendData(this.signal, this.pending, data);
    this.pendingItems += n;

    if (this.config.timeout === 0) {
      while (this.pendingItems > 0) this.send('size');
    } else {
      while (this.pendingItems >= this.config.send_batch_size) this.send('size');
      if (this.pendingItems > 0 && !this.timer) {
        this.timer = setTimeout(() => this.onTimeout(), this.config.timeout);
      }
    }
    while (this.queued > MAX_QUEUED_BATCHES) await this.tail;
  }

  async shutdown(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.clearTimer();
      while (this.pendingItems > 0) this.send('timeout');
    }
    await this.tail;
  }

  private onTimeout(): void {
    this.timer = undefined;
    while (this.pendingItems > 0) this.send('timeout');
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes one outgoing batch (at most send_batch_max_size items) off the pending one and queues it. */
  private send(trigger: Trigger): void {
    const max = this.config.send_batch_max_size;
    let batch: SignalData[S];
    let count: number;
    if (max > 0 && this.pendingItems > max) {
      batch = takeItems(this.signal, this.pending, max);
      count = max;
      this.pendingItems -= max;
    } else {
      batch = this.pending;
      count = this.pendingItems;
      this.pendingItems = 0;
    }
    // What is left of an emptied batch is empty containers cut off by splitting: drop them.
    if (this.pendingItems === 0) this.pending = emptyData(this.signal);
    // The timer measures the wait since the last send, as in the Collector.
    this.clearTimer();
    if (this.pendingItems > 0 && !this.stopped && this.config.timeout > 0) {
      this.timer = setTimeout(() => this.onTimeout(), this.config.timeout);
    }

    (trigger === 'size' ? this.sizeTriggers : this.timeoutTriggers).add(1);
    this.sendSize.record(count);
    this.queued++;
    this.tail = this.tail
      .then(() => this.next.consume(batch))
      .then(
        () => {},
        (error: unknown) => {
          this.sendFailed.add(count);
          this.logger.warn('Sender failed', { error, items: count });
        },
      )
      .finally(() => {
        this.queued--;
      });
  }
}
