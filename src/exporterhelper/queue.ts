// The sending queue: batches wait here until a consumer sends them. Capacity is counted in the
// sizer's unit and includes batches being sent, so memory (or disk) stays bounded; a full queue
// refuses a batch, or makes the caller wait with block_on_overflow.
import { permanentError, retryableError } from '../component/errors.ts';
import { itemCount, type Signal, type SignalData } from '../pdata/signal.ts';
import { encodeBatch } from './codec.ts';
import type { Sizer } from './config.ts';

/** A batch handed to a consumer; `done` says what became of it. */
export interface Dispatch<S extends Signal> {
  data: SignalData[S];
  items: number;
  /** sent or failed: forget it; keep: the exporter stops and a persistent queue keeps it for the next start. */
  done(outcome: 'sent' | 'failed' | 'keep'): Promise<void>;
}

export interface SendingQueue<S extends Signal> {
  readonly capacity: number;
  /** What the queue holds now, in the sizer's unit (batches being sent included). */
  size(): number;
  /** Batches held now, and their items (for the count of what a shutdown drops). */
  held(): { batches: number; items: number };
  start(): Promise<void>;
  /** Resolves once the batch is queued (written to disk for a persistent queue). */
  offer(data: SignalData[S]): Promise<void>;
  /** The next batch, waiting for one; undefined once the queue is closed and empty, or stopped. */
  take(): Promise<Dispatch<S> | undefined>;
  /** Refuses further batches; takers still get what is queued. */
  close(): void;
  /** Hands out nothing more; a persistent queue keeps what it holds. */
  stop(): Promise<void>;
  /** Releases the storage, once no batch is being sent. */
  dispose(): Promise<void>;
}

/** Refused because the queue is full: retryable, the caller may try again later. */
export class QueueFullError extends Error {}

/** The queue's room, in sizer units, with callers waiting for room in order. */
export class Room {
  readonly capacity: number;
  private usedValue = 0;
  private waiters: { size: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private closedWith?: Error;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get used(): number {
    return this.usedValue;
  }

  /** Counts what a queue found on disk at start (it may exceed the capacity if that shrank). */
  preload(size: number): void {
    this.usedValue += size;
  }

  /** Takes `size` of room; waits for it when `block`, else throws QueueFullError. */
  async reserve(size: number, block: boolean, describe: string): Promise<void> {
    if (this.closedWith) throw this.closedWith;
    if (size > this.capacity) {
      throw permanentError(`${describe} is larger than the whole sending queue (${size} > queue_size ${this.capacity}); it can never be queued`);
    }
    if (this.waiters.length === 0 && this.usedValue + size <= this.capacity) {
      this.usedValue += size;
      return;
    }
    if (!block) throw new QueueFullError(`sending queue is full (${this.usedValue} of ${this.capacity} used)`);
    await new Promise<void>((resolve, reject) => this.waiters.push({ size, resolve, reject }));
  }

  release(size: number): void {
    this.usedValue -= size;
    while (this.waiters.length > 0 && this.usedValue + this.waiters[0]!.size <= this.capacity) {
      const w = this.waiters.shift()!;
      this.usedValue += w.size;
      w.resolve();
    }
  }

  /** Rejects waiting and future reservations with `error`. */
  close(error: Error): void {
    this.closedWith = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }
}

/** How much of the queue a batch takes, in the sizer's unit. */
export function sizeOf<S extends Signal>(sizer: Sizer, signal: S, data: SignalData[S], encoded?: () => Uint8Array): number {
  switch (sizer) {
    case 'requests':
      return 1;
    case 'items':
      return itemCount(signal, data);
    case 'bytes':
      return (encoded ?? (() => encodeBatch(signal, data)))().length;
  }
}

/** Waiting takers and what they are waiting for. */
export class Takers<T> {
  private waiting: ((value: T | undefined) => void)[] = [];
  wait(): Promise<T | undefined> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  /** Hands `value` to one waiting taker; false when none waits. */
  give(value: T): boolean {
    const taker = this.waiting.shift();
    if (!taker) return false;
    taker(value);
    return true;
  }
  /** Tells every waiting taker there is nothing more. */
  end(): void {
    for (const t of this.waiting.splice(0)) t(undefined);
  }
}

interface MemoryEntry<S extends Signal> {
  data: SignalData[S];
  items: number;
  size: number;
}

export class MemoryQueue<S extends Signal> implements SendingQueue<S> {
  private readonly signal: S;
  private readonly sizer: Sizer;
  private readonly block: boolean;
  private readonly room: Room;
  private readonly pending: MemoryEntry<S>[] = [];
  private readonly takers = new Takers<MemoryEntry<S>>();
  private inFlight = { batches: 0, items: 0 };
  private closed = false;
  private stopped = false;

  constructor(signal: S, options: { sizer: Sizer; capacity: number; block: boolean }) {
    this.signal = signal;
    this.sizer = options.sizer;
    this.block = options.block;
    this.room = new Room(options.capacity);
  }

  get capacity(): number {
    return this.room.capacity;
  }
  size(): number {
    return this.room.used;
  }
  held(): { batches: number; items: number } {
    let items = this.inFlight.items;
    for (const e of this.pending) items += e.items;
    return { batches: this.pending.length + this.inFlight.batches, items };
  }

  async start(): Promise<void> {}

  async offer(data: SignalData[S]): Promise<void> {
    if (this.closed) throw retryableError('the sending queue is shut down');
    const entry: MemoryEntry<S> = { data, items: itemCount(this.signal, data), size: sizeOf(this.sizer, this.signal, data) };
    await this.room.reserve(entry.size, this.block, `a batch of ${entry.items} items`);
    if (!this.takers.give(entry)) this.pending.push(entry);
  }

  async take(): Promise<Dispatch<S> | undefined> {
    if (this.stopped) return undefined;
    const entry = this.pending.shift() ?? (this.closed ? undefined : await this.takers.wait());
    if (!entry) return undefined;
    this.inFlight.batches++;
    this.inFlight.items += entry.items;
    return {
      data: entry.data,
      items: entry.items,
      done: async () => {
        this.inFlight.batches--;
        this.inFlight.items -= entry.items;
        this.room.release(entry.size);
      },
    };
  }

  close(): void {
    this.closed = true;
    this.room.close(retryableError('the sending queue is shut down'));
    if (this.pending.length === 0) this.takers.end();
  }

  async stop(): Promise<void> {
    this.close();
    this.stopped = true;
    this.takers.end();
  }

  async dispose(): Promise<void> {}
}
