// Exponential histograms. Prometheus 2.x reads native histograms only over protobuf with a
// feature flag, so the text endpoint serves them as classic histograms: every populated
// exponential bucket becomes one `le` bucket at its upper boundary. Deltas are merged at the
// coarser of the two scales, as the Collector's accumulator does.
import type { ExponentialHistogramDataPoint } from '../../src/pdata/metrics.ts';

interface Buckets {
  offset: number;
  bucketCounts: number[];
}

/** Buckets at a coarser scale: each step down halves the resolution (index k -> floor(k/2)). */
function downscale(buckets: Buckets, from: number, to: number): Buckets {
  if (buckets.bucketCounts.length === 0 || from <= to) return buckets;
  const factor = 2 ** (from - to);
  const offset = Math.floor(buckets.offset / factor);
  const last = Math.floor((buckets.offset + buckets.bucketCounts.length - 1) / factor);
  const counts = new Array<number>(last - offset + 1).fill(0);
  buckets.bucketCounts.forEach((c, i) => {
    const k = Math.floor((buckets.offset + i) / factor);
    counts[k - offset]! += c;
  });
  return { offset, bucketCounts: counts };
}

function add(a: Buckets, b: Buckets): Buckets {
  if (a.bucketCounts.length === 0) return b;
  if (b.bucketCounts.length === 0) return a;
  const offset = Math.min(a.offset, b.offset);
  const last = Math.max(a.offset + a.bucketCounts.length, b.offset + b.bucketCounts.length) - 1;
  const counts = new Array<number>(last - offset + 1).fill(0);
  a.bucketCounts.forEach((c, i) => (counts[a.offset + i - offset]! += c));
  b.bucketCounts.forEach((c, i) => (counts[b.offset + i - offset]! += c));
  return { offset, bucketCounts: counts };
}

/** The sum of two exponential histogram points, at the coarser scale; time and attributes of `newer`. */
export function mergeExponential(
  older: ExponentialHistogramDataPoint,
  newer: ExponentialHistogramDataPoint,
): ExponentialHistogramDataPoint {
  const scale = Math.min(older.scale, newer.scale);
  const side = (p: ExponentialHistogramDataPoint, s: 'positive' | 'negative') => downscale(p[s], p.scale, scale);
  const merged: ExponentialHistogramDataPoint = {
    attributes: newer.attributes,
    startTimeUnixNano: older.startTimeUnixNano,
    timeUnixNano: newer.timeUnixNano,
    count: older.count + newer.count,
    scale,
    zeroCount: older.zeroCount + newer.zeroCount,
    positive: add(side(older, 'positive'), side(newer, 'positive')),
    negative: add(side(older, 'negative'), side(newer, 'negative')),
    zeroThreshold: Math.max(older.zeroThreshold ?? 0, newer.zeroThreshold ?? 0),
  };
  if (older.sum !== undefined || newer.sum !== undefined) merged.sum = (older.sum ?? 0) + (newer.sum ?? 0);
  const mins = [older.min, newer.min].filter((v) => v !== undefined);
  const maxs = [older.max, newer.max].filter((v) => v !== undefined);
  if (mins.length > 0) merged.min = Math.min(...mins);
  if (maxs.length > 0) merged.max = Math.max(...maxs);
  return merged;
}

/** Upper boundary of bucket index k at `scale`: base^(k+1) with base = 2^(2^-scale). */
function boundary(index: number, scale: number): number {
  return 2 ** (index * 2 ** -scale);
}

/**
 * Explicit bounds and per-bucket counts (one more count than bounds, the last for +Inf) for an
 * exponential histogram point: negative buckets from the most negative, the zero bucket at the
 * zero threshold, then the positive buckets.
 */
export function toExplicitBuckets(point: ExponentialHistogramDataPoint): { bounds: number[]; counts: number[] } {
  const bounds: number[] = [];
  const counts: number[] = [];
  const push = (bound: number, count: number) => {
    const last = bounds.length - 1;
    // Bounds must rise strictly; a bucket that would not (a wide zero threshold) joins the one before.
    if (last >= 0 && bound <= bounds[last]!) counts[last]! += count;
    else {
      bounds.push(bound);
      counts.push(count);
    }
  };
  const { scale, negative, positive } = point;
  for (let i = negative.bucketCounts.length - 1; i >= 0; i--) {
    // |v| in (base^k, base^(k+1)] means v in [-base^(k+1), -base^k): its upper bound is -base^k.
    push(-boundary(negative.offset + i, scale), negative.bucketCounts[i]!);
  }
  if (point.zeroCount > 0 || negative.bucketCounts.length > 0) push(point.zeroThreshold ?? 0, point.zeroCount);
  positive.bucketCounts.forEach((c, i) => push(boundary(positive.offset + i + 1, scale), c));
  counts.push(0);
  return { bounds, counts };
}
