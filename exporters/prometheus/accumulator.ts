// The exporter's state: the latest value of every series it has received, as the Collector's
// prometheusexporter accumulator keeps it. Gauges, summaries and cumulative points replace the
// stored one (unless older); delta sums and histograms are added up into cumulative ones.
import type { InstrumentationScope, KeyValue } from '../../src/pdata/common.ts';
import {
  AggregationTemporality,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type Metric,
  type MetricsData,
  type NumberDataPoint,
  type SummaryDataPoint,
} from '../../src/pdata/metrics.ts';
import { mergeExponential } from './exponential.ts';
import { labelValue } from './label-value.ts';

/** OTLP's DataPointFlags.NO_RECORDED_VALUE: the series is gone (a staleness marker). */
const NO_RECORDED_VALUE = 1;

export type SeriesValue =
  | { type: 'gauge'; point: NumberDataPoint }
  | { type: 'sum'; isMonotonic: boolean; point: NumberDataPoint }
  | { type: 'histogram'; point: HistogramDataPoint }
  | { type: 'exponentialHistogram'; point: ExponentialHistogramDataPoint }
  | { type: 'summary'; point: SummaryDataPoint };

export type Series = SeriesValue & {
  name: string;
  description: string;
  unit: string;
  scope: InstrumentationScope;
  scopeSchemaUrl: string;
  resource: KeyValue[];
  /** Date.now() when it last changed; it expires metric_expiration after. */
  updatedMs: number;
};

type AnyPoint = SeriesValue['point'];

/** job and instance as the Collector derives them from a resource. */
export function jobAndInstance(resource: readonly KeyValue[]): { job?: string; instance?: string } {
  const out: { job?: string; instance?: string } = {};
  const name = resource.find((a) => a.key === 'service.name');
  if (name) {
    const ns = resource.find((a) => a.key === 'service.namespace');
    out.job = ns ? `${labelValue(ns.value)}/${labelValue(name.value)}` : labelValue(name.value);
  }
  const instance = resource.find((a) => a.key === 'service.instance.id');
  if (instance) out.instance = labelValue(instance.value);
  return out;
}

function sortedPairs(list: readonly KeyValue[] | undefined): string[] {
  return (list ?? []).map((a) => `${a.key}=${labelValue(a.value)}`).sort();
}

/** What makes two points the same series (the Collector's timeseriesSignature). */
function signature(metric: Metric, scope: InstrumentationScope, schemaUrl: string, point: AnyPoint, resource: KeyValue[]): string {
  const { job, instance } = jobAndInstance(resource);
  return JSON.stringify([
    metric.name,
    metric.data.type,
    scope.name,
    scope.version ?? '',
    schemaUrl,
    sortedPairs(scope.attributes),
    sortedPairs(point.attributes),
    job ?? null,
    instance ?? null,
  ]);
}

function addNumbers(a: NumberDataPoint, b: NumberDataPoint): Pick<NumberDataPoint, 'asInt' | 'asDouble'> {
  if (a.asInt !== undefined && b.asInt !== undefined) return { asInt: a.asInt + b.asInt };
  return { asDouble: (a.asDouble ?? Number(a.asInt ?? 0)) + (b.asDouble ?? Number(b.asInt ?? 0)) };
}

function sameBounds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function addHistograms(older: HistogramDataPoint, newer: HistogramDataPoint): HistogramDataPoint {
  // As the Collector: when the bounds changed, the newer point stands alone.
  if (!sameBounds(older.explicitBounds, newer.explicitBounds) || older.bucketCounts.length !== newer.bucketCounts.length) {
    return { ...newer, startTimeUnixNano: older.startTimeUnixNano };
  }
  const merged: HistogramDataPoint = {
    attributes: newer.attributes,
    startTimeUnixNano: older.startTimeUnixNano,
    timeUnixNano: newer.timeUnixNano,
    count: older.count + newer.count,
    bucketCounts: newer.bucketCounts.map((c, i) => c + older.bucketCounts[i]!),
    explicitBounds: newer.explicitBounds,
  };
  if (older.sum !== undefined || newer.sum !== undefined) merged.sum = (older.sum ?? 0) + (newer.sum ?? 0);
  const mins = [older.min, newer.min].filter((v) => v !== undefined);
  const maxs = [older.max, newer.max].filter((v) => v !== undefined);
  if (mins.length > 0) merged.min = Math.min(...mins);
  if (maxs.length > 0) merged.max = Math.max(...maxs);
  return merged;
}

/** Why a point was not stored, for the debug log. */
export type DropReason = 'unspecified temporality' | 'older than stored' | 'overlapping delta';

export class Accumulator {
  private readonly series = new Map<string, Series>();
  private readonly expirationMs: number;
  private readonly resourceToLabels: boolean;
  private lastSweepMs = 0;

  constructor(options: { expirationMs: number; resourceToTelemetry: boolean }) {
    this.expirationMs = options.expirationMs;
    this.resourceToLabels = options.resourceToTelemetry;
  }

  get size(): number {
    return this.series.size;
  }

  /** Takes a batch; returns the points it dropped with the reason. */
  add(data: MetricsData, nowMs: number): { dropped: number; reasons: Set<DropReason> } {
    const result = { dropped: 0, reasons: new Set<DropReason>() };
    for (const rm of data.resourceMetrics) {
      const resource = rm.resource.attributes;
      for (const sm of rm.scopeMetrics) {
        const scope = sm.scope ?? { name: '' };
        const schemaUrl = sm.schemaUrl ?? '';
        for (const metric of sm.metrics) {
          for (const raw of metric.data.dataPoints as AnyPoint[]) {
            const point = this.resourceToLabels ? withResourceAttributes(raw, resource) : raw;
            const reason = this.addPoint(metric, scope, schemaUrl, resource, point, nowMs);
            if (reason) {
              result.dropped++;
              result.reasons.add(reason);
            }
          }
        }
      }
    }
    if (nowMs - this.lastSweepMs > 1000) this.expire(nowMs);
    return result;
  }

  /** The live series (expired ones are forgotten first). */
  collect(nowMs: number): Series[] {
    this.expire(nowMs);
    return [...this.series.values()];
  }

  clear(): void {
    this.series.clear();
  }

  private expire(nowMs: number): void {
    this.lastSweepMs = nowMs;
    const oldest = nowMs - this.expirationMs;
    for (const [key, s] of this.series) if (s.updatedMs < oldest) this.series.delete(key);
  }

  private addPoint(
    metric: Metric,
    scope: InstrumentationScope,
    schemaUrl: string,
    resource: KeyValue[],
    point: AnyPoint,
    nowMs: number,
  ): DropReason | undefined {
    const data = metric.data;
    const key = signature(metric, scope, schemaUrl, point, resource);
    if (((point.flags ?? 0) & NO_RECORDED_VALUE) !== 0) {
      this.series.delete(key);
      return undefined;
    }
    if ('aggregationTemporality' in data && data.aggregationTemporality === AggregationTemporality.UNSPECIFIED) {
      return 'unspecified temporality';
    }
    const previous = this.series.get(key);
    if (previous && point.timeUnixNano < previous.point.timeUnixNano) return 'older than stored';

    let stored: AnyPoint = point;
    const delta = 'aggregationTemporality' in data && data.aggregationTemporality === AggregationTemporality.DELTA;
    if (delta && previous) {
      const start = point.startTimeUnixNano;
      if (start === undefined || start === previous.point.timeUnixNano) {
        // Contiguous (or unmarked) delta: add it to what is stored.
        stored = this.accumulate(previous.point, point);
      } else if (start < previous.point.timeUnixNano) {
        // Overlaps what is already counted: a second writer or a replay; keep the count honest.
        return 'overlapping delta';
      }
      // A start after the stored time is a gap: the source restarted, the delta stands alone.
    }
    const base = {
      name: metric.name,
      description: metric.description ?? '',
      unit: metric.unit ?? '',
      scope,
      scopeSchemaUrl: schemaUrl,
      resource,
      updatedMs: nowMs,
    };
    this.series.set(key, { ...base, ...valueOf(data, stored) });
    return undefined;
  }

  private accumulate(previous: AnyPoint, point: AnyPoint): AnyPoint {
    if ('bucketCounts' in point && 'bucketCounts' in previous) return addHistograms(previous, point);
    if ('scale' in point && 'scale' in previous) return mergeExponential(previous, point);
    const p = previous as NumberDataPoint;
    const n = point as NumberDataPoint;
    return { ...n, ...addNumbers(p, n), startTimeUnixNano: p.startTimeUnixNano };
  }
}

function valueOf(data: Metric['data'], point: AnyPoint): SeriesValue {
  switch (data.type) {
    case 'gauge':
      return { type: 'gauge', point: point as NumberDataPoint };
    case 'sum':
      return { type: 'sum', isMonotonic: data.isMonotonic, point: point as NumberDataPoint };
    case 'histogram':
      return { type: 'histogram', point: point as HistogramDataPoint };
    case 'exponentialHistogram':
      return { type: 'exponentialHistogram', point: point as ExponentialHistogramDataPoint };
    case 'summary':
      return { type: 'summary', point: point as SummaryDataPoint };
  }
}

/** resource_to_telemetry_conversion: resource attributes join the point's (and win, as in the Collector). */
function withResourceAttributes<P extends AnyPoint>(point: P, resource: KeyValue[]): P {
  if (resource.length === 0) return point;
  const attributes = point.attributes.filter((a) => !resource.some((r) => r.key === a.key));
  return { ...point, attributes: [...attributes, ...resource] };
}
