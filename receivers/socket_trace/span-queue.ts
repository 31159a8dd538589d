// Spans wait here between the parsers and the traces pipeline. One batch is in flight at a time;
// while the pipeline refuses (a memory limiter, a full exporter queue), spans stay queued and are
// offered again, and once the queue holds max_queued spans the oldest are dropped, counted: the
// kernel keeps producing, so something has to give, and the newest spans are the most useful.
import type { Consumer } from '../../src/component/consumer.ts';
import { isRetryable } from '../../src/component/errors.ts';
import type { ResourceSpans, Span, TracesData } from '../../src/pdata/traces.ts';
import { VERSION } from '../../src/version.ts';
import type { ProcessResource } from './processes.ts';
import { SCOPE_NAME } from './request-metrics.ts';

interface Item {
  resource: ProcessResource;
  span: Span;
}

export interface SpanQueueOptions {
  maxQueued: number;
  /** Spans per batch sent. */
  batchSize?: number;
  /** How long spans may wait for a batch to fill. */
  flushIntervalMs?: number;
  /** After a refusal, the next try waits this long. */
  retryDelayMs?: number;
  onDropped(count: number, reason: 'queue_full' | 'refused'): void;
  onError(error: unknown): void;
}

export class SpanQueue {
  #items: Item[] = [];
  #head = 0;
  #consumer: Consumer<'traces'> | undefined;
  readonly #o: Required<Omit<SpanQueueOptions, 'onDropped' | 'onError'>> & Pick<SpanQueueOptions, 'onDropped' | 'onError'>;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #notBefore = 0;

  constructor(options: SpanQueueOptions) {
    this.#o = { batchSize: 2048, flushIntervalMs: 200, retryDelayMs: 1000, ...options };
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  setConsumer(consumer: Consumer<'traces'> | undefined): void {
    this.#consumer = consumer;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#send(), this.#o.flushIntervalMs);
  }

  push(resource: ProcessResource, span: Span): void {
    this.#items.push({ resource, span });
    const over = this.length - this.#o.maxQueued;
    if (over > 0) {
      this.#head += over;
      this.#o.onDropped(over, 'queue_full');
    }
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.length >= this.#o.batchSize) void this.#send();
  }

  #send(): Promise<void> {
    if (this.#inFlight || this.length === 0 || !this.#consumer || Date.now() < this.#notBefore) return this.#inFlight ?? Promise.resolve();
    const batch = this.#items.slice(this.#head, this.#head + this.#o.batchSize);
    this.#head += batch.length;
    const consumer = this.#consumer;
    let refused = false;
    this.#inFlight = consumer
      .consume(group(batch))
      .catch((err: unknown) => {
        refused = true;
        if (isRetryable(err)) {
          // Back at the front: they are the oldest, the first to go if the queue overflows.
          this.#items.splice(this.#head, 0, ...batch);
          const over = this.length - this.#o.maxQueued;
          if (over > 0) {
            this.#head += over;
            this.#o.onDropped(over, 'queue_full');
          }
          this.#notBefore = Date.now() + this.#o.retryDelayMs;
        } else {
          this.#o.onDropped(batch.length, 'refused');
          this.#o.onError(err);
        }
      })
      .finally(() => {
        this.#inFlight = undefined;
        // after a refusal the timer offers them again, after retryDelayMs
        if (!refused && this.length >= this.#o.batchSize) void this.#send();
      });
    return this.#inFlight;
  }

  /** Stops the timer and offers what is queued once more (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    this.#notBefore = 0;
    while (this.length > 0 && this.#consumer) {
      const before = this.length;
      this.#notBefore = 0;
      await this.#send();
      if (this.length >= before) break; // refused again: give up
    }
    if (this.length > 0) this.#o.onDropped(this.length, 'refused');
    this.#items = [];
    this.#head = 0;
  }
}

function group(items: Item[]): TracesData {
  const byResource = new Map<string, ResourceSpans>();
  for (const { resource, span } of items) {
    let rs = byResource.get(resource.key);
    if (!rs) {
      // a copy: processors down the pipeline may change resources in place
      rs = { resource: { attributes: resource.attributes.map((a) => ({ key: a.key, value: a.value })) }, scopeSpans: [{ scope: { name: SCOPE_NAME, version: VERSION }, spans: [] }] };
      byResource.set(resource.key, rs);
    }
    rs.scopeSpans[0]!.spans.push(span);
  }
  return { resourceSpans: [...byResource.values()] };
}
