// The user-space half of bpf/common/double_buffer.h: flips the side programs write to, waits
// until none still writes to the old one, and says which side (maps name_a or name_b) to read
// and empty. Flips never overlap.
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUnixNano } from '../pdata/common.ts';
import type { BpfObject } from './object.ts';

export interface Flip {
  /** The side to read and empty now: maps `<name>_a` or `<name>_b`. */
  suffix: 'a' | 'b';
  /** When the programs were switched to the other side: the end of the interval read. */
  timeUnixNano: bigint;
  /** True when a program still wrote to the old side after the wait (its counts may be late). */
  late: boolean;
}

export class DoubleBuffer {
  readonly #object: BpfObject;
  readonly #maxWaitMs: number;
  #side = 0;
  #flipping?: Promise<Flip>;
  #lateReads = 0;

  /** `maxWaitMs` bounds the wait for programs still on the old side. */
  constructor(object: BpfObject, options: { maxWaitMs?: number } = {}) {
    this.#object = object;
    this.#maxWaitMs = options.maxWaitMs ?? 200;
  }

  /** Points the programs at the other side; resolves once the old one can be read. */
  flip(): Promise<Flip> {
    const run = (this.#flipping ?? Promise.resolve()).then(
      () => this.#flip(),
      () => this.#flip(),
    );
    this.#flipping = run;
    return run;
  }

  /** Flips that read a side while a program still wrote to it. */
  get lateReads(): number {
    return this.#lateReads;
  }

  async #flip(): Promise<Flip> {
    const old = this.#side;
    this.#side = old ^ 1;
    const value = Buffer.alloc(4);
    value.writeUInt32LE(this.#side);
    this.#object.map('side_control').update(Buffer.alloc(4), value);
    const timeUnixNano = nowUnixNano();
    const late = !(await this.#waitForWriters(old));
    if (late) this.#lateReads++;
    return { suffix: old === 0 ? 'a' : 'b', timeUnixNano, late };
  }

  /** Resolves true once no program writes to `side` any more, false if some still did after the wait. */
  async #waitForWriters(side: number): Promise<boolean> {
    const map = this.#object.map('side_writers');
    const key = Buffer.alloc(4);
    key.writeUInt32LE(side);
    const deadline = Date.now() + this.#maxWaitMs;
    for (;;) {
      let writers = 0n;
      for (const v of map.lookupPerCpu(key) ?? []) writers += v.readBigUInt64LE(0);
      // Per-CPU counts: one CPU's decrement may pair with another's increment (a program moved to
      // the new side after a flip), so only the sum means anything.
      if (BigInt.asIntN(64, writers) <= 0n) return true;
      if (Date.now() > deadline) return false;
      await sleep(1);
    }
  }
}
