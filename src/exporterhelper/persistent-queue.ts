// The persistent sending queue: every batch is a record in a storage extension's client, written
// durably before offer() resolves, read back when a consumer takes it, removed once it was sent
// (or given up). On start the queue resumes every record left by the previous run, in order.
// Records carry a CRC-32: a corrupted or unreadable one is skipped, removed and counted.
//
// Record: "BPQ1" | crc32 of the rest (u32 BE) | codec (u8) | 3 reserved bytes | items (u32 BE) | payload.
// Key: `<sequence, 16 digits>.<items>`, so start-up needs no record reads to know sizes and counts.
import { crc32 } from 'node:zlib';
import { retryableError } from '../component/errors.ts';
import { itemCount, type Signal, type SignalData } from '../pdata/signal.ts';
import type { Logger } from '../telemetry/logger.ts';
import { codecFor, decodeBatch, encodeBatch } from './codec.ts';
import type { Sizer } from './config.ts';
import { Room, type Dispatch, type SendingQueue, Takers } from './queue.ts';
import type { StorageClient } from './storage.ts';

const MAGIC = Buffer.from('BPQ1');
const HEADER = 16;
const KEY = /^(\d{16})\.(\d+)$/;

export function encodeRecord(codec: number, items: number, payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(HEADER + payload.length);
  MAGIC.copy(record, 0);
  record.writeUInt8(codec, 8);
  record.fill(0, 9, 12);
  record.writeUInt32BE(items, 12);
  record.set(payload, HEADER);
  record.writeUInt32BE(crc32(record.subarray(8)), 4);
  return record;
}

/** The record's codec and payload; throws saying what is wrong with it. */
export function decodeRecord(record: Uint8Array): { codec: number; items: number; payload: Uint8Array } {
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (buf.length < HEADER) throw new Error(`record too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('record has no BPQ1 marker');
  const expected = buf.readUInt32BE(4);
  const actual = crc32(buf.subarray(8));
  if (expected !== actual) throw new Error(`record checksum mismatch (stored ${expected.toString(16)}, computed ${actual.toString(16)})`);
  return { codec: buf.readUInt8(8), items: buf.readUInt32BE(12), payload: buf.subarray(HEADER) };
}

interface Entry {
  key: string;
  items: number;
  size: number;
}

export interface PersistentQueueOptions {
  sizer: Sizer;
  capacity: number;
  block: boolean;
  client: () => Promise<StorageClient>;
  logger: Logger;
  /** A record that could not be read back (corrupted, vanished): counted with its items. */
  onCorrupted: (items: number) => void;
}

export class PersistentQueue<S extends Signal> implements SendingQueue<S> {
  private readonly signal: S;
  private readonly options: PersistentQueueOptions;
  private readonly room: Room;
  private readonly pending: Entry[] = [];
  private readonly takers = new Takers<Entry>();
  private readonly inFlight = new Map<string, Entry>();
  private client?: StorageClient;
  private nextSequence = 0;
  private closed = false;
  private stopped = false;

  constructor(signal: S, options: PersistentQueueOptions) {
    this.signal = signal;
    this.options = options;
    this.room = new Room(options.capacity);
  }

  get capacity(): number {
    return this.room.capacity;
  }
  size(): number {
    return this.room.used;
  }
  held(): { batches: number; items: number } {
    let items = 0;
    for (const e of this.pending) items += e.items;
    for (const e of this.inFlight.values()) items += e.items;
    return { batches: this.pending.length + this.inFlight.size, items };
  }

  private sizeIn(items: number, bytes: number): number {
    return this.options.sizer === 'requests' ? 1 : this.options.sizer === 'items' ? items : bytes;
  }

  /** Opens the storage and resumes what the previous run left, oldest first. */
  async start(): Promise<void> {
    this.client = await this.options.client();
    const found: (Entry & { sequence: number })[] = [];
    for (const { key, size } of await this.client.list()) {
      const m = KEY.exec(key);
      if (!m) {
        this.options.logger.warn('persistent queue: ignoring a file it did not write', { key, location: this.client.location });
        continue;
      }
      const items = Number(m[2]);
      found.push({ key, items, size: this.sizeIn(items, size), sequence: Number(m[1]) });
    }
    found.sort((a, b) => a.sequence - b.sequence);
    for (const e of found) {
      this.pending.push({ key: e.key, items: e.items, size: e.size });
      this.room.preload(e.size);
    }
    this.nextSequence = (found.at(-1)?.sequence ?? -1) + 1;
    if (found.length > 0) {
      this.options.logger.info('persistent queue: resuming batches left by the previous run', {
        batches: found.length,
        items: found.reduce((n, e) => n + e.items, 0),
        location: this.client.location,
      });
    }
  }

  async offer(data: SignalData[S]): Promise<void> {
    if (this.closed || !this.client) throw retryableError('the sending queue is shut down');
    const items = itemCount(this.signal, data);
    const record = encodeRecord(codecFor(this.signal), items, encodeBatch(this.signal, data));
    const size = this.sizeIn(items, record.length);
    await this.room.reserve(size, this.options.block, `a batch of ${items} items (${record.length} bytes)`);
    const key = `${String(this.nextSequence++).padStart(16, '0')}.${items}`;
    try {
      await this.client.set(key, record);
    } catch (error) {
      this.room.release(size);
      const reason = error instanceof Error ? error.message : String(error);
      throw retryableError(`persistent queue: cannot write the batch to ${this.client.location}: ${reason}`, error);
    }
    const entry = { key, items, size };
    if (!this.takers.give(entry)) this.pending.push(entry);
  }

  async take(): Promise<Dispatch<S> | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const entry = this.pending.shift() ?? (this.closed ? undefined : await this.takers.wait());
      if (!entry) return undefined;
      if (this.stopped) {
        this.pending.unshift(entry);
        return undefined;
      }
      this.inFlight.set(entry.key, entry);
      const data = await this.read(entry);
      if (data !== undefined) return this.dispatch(entry, data);
      await this.forget(entry);
    }
  }

  /** The batch a record holds, or undefined (counted) when it cannot be read. */
  private async read(entry: Entry): Promise<SignalData[S] | undefined> {
    const location = this.client!.location;
    try {
      const record = await this.client!.get(entry.key);
      if (record === undefined) throw new Error('the record vanished');
      const { codec, payload } = decodeRecord(record);
      return decodeBatch(this.signal, codec, payload);
    } catch (error) {
      this.options.onCorrupted(entry.items);
      this.options.logger.error('persistent queue: skipping a record that cannot be read back', {
        key: entry.key,
        location,
        dropped_items: entry.items,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  private dispatch(entry: Entry, data: SignalData[S]): Dispatch<S> {
    return {
      data,
      items: entry.items,
      done: async (outcome) => {
        if (outcome === 'keep') {
          // Stays on disk for the next start; its room is not given back to this run.
          this.inFlight.delete(entry.key);
          return;
        }
        await this.forget(entry);
      },
    };
  }

  private async forget(entry: Entry): Promise<void> {
    this.inFlight.delete(entry.key);
    try {
      await this.client!.delete(entry.key);
    } catch (error) {
      this.options.logger.warn('persistent queue: could not remove a sent record (it will be sent again after a restart)', {
        key: entry.key,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.room.release(entry.size);
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

  async dispose(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}
