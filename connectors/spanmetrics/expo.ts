// A base-2 exponential histogram of non-negative values, as OTLP defines it: bucket i at scale s
// holds (2^(i/2^s), 2^((i+1)/2^s)]. It starts at scale 20 and halves its resolution whenever the
// populated range would need more than `maxSize` buckets, as the OpenTelemetry SDKs do.
import type { KeyValue } from '../../src/pdata/common.ts';
import type { ExponentialHistogramDataPoint } from '../../src/pdata/metrics.ts';

export const MAX_SCALE = 20;

/** The bucket index of `value` (> 0) at `scale`; exact for powers of two. */
export function bucketIndex(value: number, scale: number): number {
  const log2 = Math.log2(value);
  if (Number.isInteger(log2)) {
    // Exact powers of two sit at the top of their bucket (upper bounds are inclusive).
    return scale >= 0 ? log2 * 2 ** scale - 1 : ((log2 - 1) >> -scale);
  }
  if (scale > 0) return Math.ceil(log2 * 2 ** scale) - 1;
  return (Math.ceil(log2) - 1) >> -scale;
}

export class ExpoHistogram {
  scale = MAX_SCALE;
  zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  offset = 0;
  counts: number[] = [];
  readonly #maxSize: number;

  constructor(maxSize = 160) {
    this.#maxSize = Math.max(2, maxSize);
  }

  record(value: number): void {
    this.count++;
    this.sum += value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    if (value <= 0) {
      this.zeroCount++;
      return;
    }
    let index = bucketIndex(value, this.scale);
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts = [0];
    } else {
      const low = Math.min(this.offset, index);
      const high = Math.max(this.offset + this.counts.length - 1, index);
      let shift = 0;
      while ((high >> shift) - (low >> shift) + 1 > this.#maxSize) shift++;
      if (shift > 0) {
        this.#downscale(shift);
        index = bucketIndex(value, this.scale);
      }
      if (index < this.offset) {
        this.counts = [...new Array<number>(this.offset - index).fill(0), ...this.counts];
        this.offset = index;
      } else if (index >= this.offset + this.counts.length) {
        this.counts.push(...new Array<number>(index - this.offset - this.counts.length + 1).fill(0));
      }
    }
    this.counts[index - this.offset]!++;
  }

  #downscale(by: number): void {
    const merged = new Map<number, number>();
    for (let i = 0; i < this.counts.length; i++) {
      const target = (this.offset + i) >> by;
      merged.set(target, (merged.get(target) ?? 0) + this.counts[i]!);
    }
    const first = this.offset >> by;
    const last = (this.offset + this.counts.length - 1) >> by;
    this.counts = Array.from({ length: last - first + 1 }, (_, i) => merged.get(first + i) ?? 0);
    this.offset = first;
    this.scale -= by;
  }

  toPoint(attributes: KeyValue[], start: bigint, time: bigint): ExponentialHistogramDataPoint {
    const p: ExponentialHistogramDataPoint = {
      attributes,
      startTimeUnixNano: start,
      timeUnixNano: time,
      count: this.count,
      sum: this.sum,
      scale: this.scale,
      zeroCount: this.zeroCount,
      positive: { offset: this.offset, bucketCounts: [...this.counts] },
      negative: { offset: 0, bucketCounts: [] },
    };
    if (this.count > 0) {
      p.min = this.min;
      p.max = this.max;
    }
    return p;
  }
}
