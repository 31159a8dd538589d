// Cumulative series kept between collections: the kernel maps are reset every interval, the
// metrics the receiver emits are running totals (see README, "Temporality"). Each metric holds at
// most `maxSeries` series; points for new series beyond that fold into one series whose only
// attribute is otel.metric.overflow=true (the OpenTelemetry SDK's cardinality-limit convention).
// A series with no new point for `expirationNs` is forgotten.
import type { KeyValue } from '../../src/pdata/common.ts';

export const OVERFLOW_ATTRIBUTES: KeyValue[] = [{ key: 'otel.metric.overflow', value: { boolValue: true } }];
const OVERFLOW_KEY = '\u0000overflow';

export interface SumPoint {
  value: bigint;
}

export interface HistogramPoint {
  count: number;
  sum: number;
  /** One per bucket of the metric's bounds (bounds.length + 1). */
  buckets: number[];
}

interface Series<P> {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  point: P;
}

export class SeriesTable<P extends SumPoint | HistogramPoint> {
  readonly #series = new Map<string, Series<P>>();
  readonly #maxSeries: number;
  readonly #merge: (into: P, add: P) => void;
  readonly #copy: (p: P) => P;

  constructor(maxSeries: number, merge: (into: P, add: P) => void, copy: (p: P) => P) {
    this.#maxSeries = maxSeries;
    this.#merge = merge;
    this.#copy = copy;
  }

  /**
   * Adds a point to the series `key` (made of `attributes`), starting it at `startTimeUnixNano`
   * when new. Returns false when the point was folded into the overflow series.
   */
  add(key: string, attributes: () => KeyValue[], point: P, startTimeUnixNano: bigint, timeUnixNano: bigint): boolean {
    let s = this.#series.get(key);
    let folded = false;
    if (!s && this.#regularCount() >= this.#maxSeries) {
      folded = true;
      key = OVERFLOW_KEY;
      s = this.#series.get(key);
    }
    if (s) {
      this.#merge(s.point, point);
      s.timeUnixNano = timeUnixNano;
    } else {
      this.#series.set(key, {
        attributes: folded ? OVERFLOW_ATTRIBUTES : attributes(),
        startTimeUnixNano,
        timeUnixNano,
        point: this.#copy(point),
      });
    }
    return !folded;
  }

  #regularCount(): number {
    return this.#series.size - (this.#series.has(OVERFLOW_KEY) ? 1 : 0);
  }

  /** Forgets series last updated before `oldestUnixNano`. */
  expire(oldestUnixNano: bigint): void {
    for (const [key, s] of this.#series) if (s.timeUnixNano < oldestUnixNano) this.#series.delete(key);
  }

  get size(): number {
    return this.#series.size;
  }

  /** Every live series; its time is set to `timeUnixNano` (the collection time). */
  snapshot(timeUnixNano: bigint): { attributes: KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint; point: P }[] {
    return [...this.#series.values()].map((s) => ({
      attributes: s.attributes,
      startTimeUnixNano: s.startTimeUnixNano,
      timeUnixNano,
      point: this.#copy(s.point),
    }));
  }
}

export function sumTable(maxSeries: number): SeriesTable<SumPoint> {
  return new SeriesTable<SumPoint>(
    maxSeries,
    (into, add) => {
      into.value += add.value;
    },
    (p) => ({ value: p.value }),
  );
}

export function histogramTable(maxSeries: number): SeriesTable<HistogramPoint> {
  return new SeriesTable<HistogramPoint>(
    maxSeries,
    (into, add) => {
      into.count += add.count;
      into.sum += add.sum;
      for (let i = 0; i < into.buckets.length; i++) into.buckets[i] = (into.buckets[i] ?? 0) + (add.buckets[i] ?? 0);
    },
    (p) => ({ count: p.count, sum: p.sum, buckets: [...p.buckets] }),
  );
}
