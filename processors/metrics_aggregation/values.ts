// Sums and explicit-bucket histograms as the aggregation keeps them: int sums stay bigint until a
// double joins them, histograms keep their bounds and merge only with equal bounds.
import type { HistogramDataPoint, NumberDataPoint } from '../../src/pdata/metrics.ts';

export type Num = bigint | number;

export function add(a: Num, b: Num): Num {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b);
}

export function sub(a: Num, b: Num): Num {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a - b : Number(a) - Number(b);
}

export function less(a: Num, b: Num): boolean {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a < b : Number(a) < Number(b);
}

export function isZero(a: Num): boolean {
  return typeof a === 'bigint' ? a === 0n : a === 0;
}

/** The value of a number point, or undefined when it has none. */
export function numberOf(p: NumberDataPoint): Num | undefined {
  return p.asInt ?? p.asDouble;
}

export function setNumber(p: NumberDataPoint, value: Num): void {
  if (typeof value === 'bigint') p.asInt = value;
  else p.asDouble = value;
}

export interface Hist {
  count: number;
  sum?: number;
  bounds: number[];
  buckets: number[];
  min?: number;
  max?: number;
}

export function histOf(p: HistogramDataPoint): Hist {
  const h: Hist = { count: p.count, bounds: p.explicitBounds, buckets: p.bucketCounts };
  if (p.sum !== undefined) h.sum = p.sum;
  if (p.min !== undefined) h.min = p.min;
  if (p.max !== undefined) h.max = p.max;
  return h;
}

export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** An empty histogram with the given bounds. */
export function emptyHist(bounds: number[]): Hist {
  return { count: 0, sum: 0, bounds, buckets: new Array<number>(bounds.length + 1).fill(0) };
}

/** Adds `b` into `a` (same bounds; the caller checks). */
export function mergeInto(a: Hist, b: Hist): void {
  const wasEmpty = a.count === 0;
  a.count += b.count;
  if (a.sum !== undefined && b.sum !== undefined) a.sum += b.sum;
  else delete a.sum;
  for (let i = 0; i < a.buckets.length; i++) a.buckets[i] = (a.buckets[i] ?? 0) + (b.buckets[i] ?? 0);
  if (b.min !== undefined) a.min = a.min === undefined || wasEmpty ? b.min : Math.min(a.min, b.min);
  if (b.max !== undefined) a.max = a.max === undefined || wasEmpty ? b.max : Math.max(a.max, b.max);
}

/** What `now` holds beyond `before` (cumulative histograms); min and max cannot be told apart, so are left out. */
export function histDelta(now: Hist, before: Hist): Hist {
  const d: Hist = { count: now.count - before.count, bounds: now.bounds, buckets: now.buckets.map((c, i) => c - (before.buckets[i] ?? 0)) };
  if (now.sum !== undefined && before.sum !== undefined) d.sum = now.sum - before.sum;
  return d;
}

/** Records one observation in an explicit-bucket histogram (upper bounds inclusive, as OTLP says). */
export function observe(h: Hist, value: number): void {
  let i = 0;
  while (i < h.bounds.length && value > h.bounds[i]!) i++;
  h.buckets[i] = (h.buckets[i] ?? 0) + 1;
  h.count++;
  h.sum = (h.sum ?? 0) + value;
  h.min = h.min === undefined ? value : Math.min(h.min, value);
  h.max = h.max === undefined ? value : Math.max(h.max, value);
}

export function toHistogramPoint(h: Hist, attributes: HistogramDataPoint['attributes'], start: bigint, time: bigint): HistogramDataPoint {
  const p: HistogramDataPoint = {
    attributes,
    startTimeUnixNano: start,
    timeUnixNano: time,
    count: h.count,
    bucketCounts: [...h.buckets],
    explicitBounds: [...h.bounds],
  };
  if (h.sum !== undefined) p.sum = h.sum;
  if (h.min !== undefined) p.min = h.min;
  if (h.max !== undefined) p.max = h.max;
  return p;
}
