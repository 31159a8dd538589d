// Kernel timestamps (bpf_ktime_get_ns: CLOCK_MONOTONIC) to Unix nanoseconds. The offset between
// the two clocks is measured where Date.now() ticks over to the next millisecond: at that moment
// the wall clock is the new millisecond exactly, and process.hrtime (libuv: CLOCK_MONOTONIC)
// says where the monotonic clock stands, so the offset is known to a fraction of a microsecond,
// not to the millisecond Date.now() alone would give. Measured again every minute, since NTP
// slews the wall clock.

const REFRESH_MS = 60_000;
/** Spin budget for catching a millisecond edge. */
const MAX_SPIN_NS = 3_000_000n;

/** realtime - monotonic, in ns, measured at a millisecond edge of Date.now(). */
export function measureOffsetNs(): bigint {
  let best: bigint | undefined;
  let bestWidth = 0n;
  for (let attempt = 0; attempt < 3; attempt++) {
    const deadline = process.hrtime.bigint() + MAX_SPIN_NS;
    let ms = Date.now();
    let before = process.hrtime.bigint();
    for (;;) {
      const now = Date.now();
      const after = process.hrtime.bigint();
      if (now !== ms) {
        // The edge lies between `before` and `after`; take their middle.
        const width = after - before;
        const offset = BigInt(now) * 1_000_000n - (before + width / 2n);
        if (best === undefined || width < bestWidth) {
          best = offset;
          bestWidth = width;
        }
        break;
      }
      if (after > deadline) break;
      ms = now;
      before = after;
    }
    if (best !== undefined && bestWidth < 2_000n) break;
  }
  // No edge caught (a very busy machine): fall back to a millisecond-precise offset.
  return best ?? BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

/**
 * Kernel times are handled as numbers of ns since a base (the monotonic clock when the receiver
 * started): no BigInt per record, and exact to the nanosecond for 2^53 ns (104 days) of a run;
 * after that an error of a few ns creeps in. Spans get bigint Unix ns again.
 */
export class KernelClock {
  /** Monotonic ns at the base. */
  readonly base: bigint;
  readonly #baseHi: number;
  readonly #baseLo: number;
  #offsetNs: bigint;
  #measuredAt: number;

  constructor() {
    this.base = process.hrtime.bigint();
    this.#baseHi = Number(this.base >> 32n);
    this.#baseLo = Number(this.base & 0xffffffffn);
    this.#offsetNs = measureOffsetNs();
    this.#measuredAt = Date.now();
  }

  /** The kernel timestamp (u64 little-endian) at `offset` of `view`, relative to the base. */
  read(view: DataView, offset: number): number {
    return (view.getUint32(offset + 4, true) - this.#baseHi) * 4294967296 + (view.getUint32(offset, true) - this.#baseLo);
  }

  /** A kernel monotonic timestamp relative to the base. */
  relative(monotonicNs: bigint): number {
    return Number(monotonicNs - this.base);
  }

  /** Now, relative to the base. */
  now(): number {
    return Number(process.hrtime.bigint() - this.base);
  }

  /** Unix ns of a time relative to the base. */
  toUnixNano(relativeNs: number): bigint {
    return this.base + BigInt(Math.round(relativeNs)) + this.#offsetNs;
  }

  get offsetNs(): bigint {
    return this.#offsetNs;
  }

  /** Measures the offset again if a minute passed. */
  refresh(): void {
    if (Date.now() - this.#measuredAt < REFRESH_MS) return;
    this.#offsetNs = measureOffsetNs();
    this.#measuredAt = Date.now();
  }
}
