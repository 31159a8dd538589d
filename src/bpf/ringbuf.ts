// Ring buffer consumer: records of a BPF_MAP_TYPE_RINGBUF map reach JavaScript in batches, one
// call per event-loop wake-up (libuv polls the ring's epoll fd; a 100 ms safety timer drains too).
// The ring must be declared with BPFCOL_RINGBUF(name, bytes) from bpf/common/ringbuf.h, whose
// `<name>_lost` counter holds the records the kernel could not write because the ring was full:
// lost() reads it, so no loss goes unreported.
import type { BpfObject } from './object.ts';
import type { StructLayout } from './layout.ts';
import { readCounter } from './map.ts';
import type { NativeRingBuffer } from './native.ts';

const HEADER = 8; // [u32 length][u32 0] before each record, payloads 8-byte aligned

/**
 * One wake-up's records. The views point into a buffer the runtime reuses for the next batch:
 * read them inside the callback; decode() and Buffer.from(record) give copies that are safe to keep.
 */
export class RingBatch {
  readonly count: number;
  readonly byteLength: number;
  readonly #view: DataView;
  readonly #bytes: Buffer;

  /** @internal */
  constructor(view: DataView, bytes: Buffer, byteLength: number, count: number) {
    this.#view = view;
    this.#bytes = bytes;
    this.byteLength = byteLength;
    this.count = count;
  }

  /** Calls fn for each record: its bytes are view[offset, offset + length). */
  forEach(fn: (view: DataView, offset: number, length: number) => void): void {
    const d = this.#view;
    for (let at = 0; at < this.byteLength; ) {
      const len = d.getUint32(at, true);
      fn(d, at + HEADER, len);
      at += HEADER + Math.ceil(len / 8) * 8;
    }
  }

  /** The records as Buffers viewing the shared batch buffer (valid during the callback only). */
  records(): Buffer[] {
    const out: Buffer[] = [];
    this.forEach((_d, offset, length) => out.push(this.#bytes.subarray(offset, offset + length)));
    return out;
  }

  /** Decodes every record with a layout; a record shorter than the layout throws. */
  decode<T>(layout: StructLayout<T>): T[] {
    const out: T[] = [];
    this.forEach((d, offset, length) => {
      if (length < layout.size) throw new RangeError(`ring record of ${length} bytes is shorter than the ${layout.size}-byte layout`);
      out.push(layout.decode(d, offset));
    });
    return out;
  }
}

export interface RingBufferOptions {
  /** Size of the preallocated batch buffer; a wake-up with more records is handed over in several batches. Default 1 MiB. */
  batchBytes?: number;
  /** Safety drain interval in ms, in case a wake-up is missed. Default 100. */
  safetyIntervalMs?: number;
}

export interface RingBufferStats {
  /** Records handed to onBatch. */
  delivered: number;
  batches: number;
  /** Wake-ups from the ring's epoll fd. */
  wakeups: number;
  /** Safety-timer drains that found records. */
  timerDrains: number;
  /** Records the kernel could not write because the ring was full. */
  lost: bigint;
}

export class RingBuffer {
  readonly mapName: string;
  readonly #native: NativeRingBuffer;
  readonly #object: BpfObject;
  readonly #lostMap: string;
  #stopped = false;
  #lastLost = 0n;

  /**
   * Starts consuming the ring `mapName` of a loaded object. onBatch runs on the event loop once per
   * wake-up; if it throws, the error goes to process 'uncaughtException' like a listener's.
   */
  constructor(object: BpfObject, mapName: string, onBatch: (batch: RingBatch) => void, options: RingBufferOptions = {}) {
    this.mapName = mapName;
    this.#object = object;
    this.#lostMap = `${mapName}_lost`;
    if (!object.hasMap(this.#lostMap)) {
      throw new Error(
        `ring buffer '${mapName}' of ${object.path} has no '${this.#lostMap}' counter: declare it with ` +
          `BPFCOL_RINGBUF(${mapName}, bytes) and reserve with bpfcol_ringbuf_reserve() (bpf/common/ringbuf.h) so losses are counted`,
      );
    }
    let ab: ArrayBuffer | undefined;
    let view: DataView = new DataView(new ArrayBuffer(0));
    let bytes: Buffer = Buffer.alloc(0);
    this.#native = object
      .nativeHandle()
      .openRingBuffer(mapName, options.batchBytes ?? 1 << 20, options.safetyIntervalMs ?? 100, (buffer, byteLength, count) => {
        if (buffer !== ab) {
          ab = buffer;
          view = new DataView(buffer);
          bytes = Buffer.from(buffer);
        }
        onBatch(new RingBatch(view, bytes, byteLength, count));
      });
  }

  /** Consumes what the ring holds now (onBatch runs before this returns). */
  drain(): void {
    if (!this.#stopped && !this.#object.closed) this.#native.drain();
  }

  /** Records the kernel could not write because the ring was full (sum over CPUs of `<name>_lost`). */
  lost(): bigint {
    if (this.#object.closed) return this.#lastLost; // the count as of stop()
    this.#lastLost = readCounter(this.#object.map(this.#lostMap));
    return this.#lastLost;
  }

  stats(): RingBufferStats {
    const s = this.#native.stats();
    return {
      delivered: s.delivered,
      batches: s.batches,
      wakeups: s.wakeups,
      timerDrains: s.timerDrains,
      lost: this.lost(),
    };
  }

  /** Drains what is in flight, then stops polling. Idempotent; BpfObject.close() stops it too. */
  stop(): void {
    if (this.#stopped) return;
    try {
      this.drain(); // a throwing handler still lets the ring stop
    } finally {
      if (!this.#object.closed) this.lost();
      this.#stopped = true;
      this.#native.stop();
    }
  }
}
