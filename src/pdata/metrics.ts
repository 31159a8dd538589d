// Metrics, shaped like OTLP's metrics.proto. Counts are numbers (exact below 2^53);
// timestamps and int values are bigint.
import type { InstrumentationScope, KeyValue, Resource } from './common.ts';

export const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
export type AggregationTemporality = (typeof AggregationTemporality)[keyof typeof AggregationTemporality];

export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: bigint;
  asDouble?: number;
  asInt?: bigint;
  spanId?: string;
  traceId?: string;
}

interface DataPointBase {
  attributes: KeyValue[];
  startTimeUnixNano?: bigint;
  timeUnixNano: bigint;
  flags?: number;
}

/** Exactly one of asDouble and asInt is set. */
export interface NumberDataPoint extends DataPointBase {
  asDouble?: number;
  asInt?: bigint;
  exemplars?: Exemplar[];
}

export interface HistogramDataPoint extends DataPointBase {
  count: number;
  sum?: number;
  /** One more than explicitBounds. */
  bucketCounts: number[];
  explicitBounds: number[];
  min?: number;
  max?: number;
  exemplars?: Exemplar[];
}

export interface ExponentialHistogramDataPoint extends DataPointBase {
  count: number;
  sum?: number;
  scale: number;
  zeroCount: number;
  positive: { offset: number; bucketCounts: number[] };
  negative: { offset: number; bucketCounts: number[] };
  min?: number;
  max?: number;
  zeroThreshold?: number;
  exemplars?: Exemplar[];
}

export interface SummaryDataPoint extends DataPointBase {
  count: number;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
}

export type MetricData =
  | { type: 'gauge'; dataPoints: NumberDataPoint[] }
  | { type: 'sum'; aggregationTemporality: AggregationTemporality; isMonotonic: boolean; dataPoints: NumberDataPoint[] }
  | { type: 'histogram'; aggregationTemporality: AggregationTemporality; dataPoints: HistogramDataPoint[] }
  | {
      type: 'exponentialHistogram';
      aggregationTemporality: AggregationTemporality;
      dataPoints: ExponentialHistogramDataPoint[];
    }
  | { type: 'summary'; dataPoints: SummaryDataPoint[] };

export interface Metric {
  name: string;
  description?: string;
  unit?: string;
  metadata?: KeyValue[];
  data: MetricData;
}

export interface ScopeMetrics {
  scope?: InstrumentationScope;
  metrics: Metric[];
  schemaUrl?: string;
}

export interface ResourceMetrics {
  resource: Resource;
  scopeMetrics: ScopeMetrics[];
  schemaUrl?: string;
}

export interface MetricsData {
  resourceMetrics: ResourceMetrics[];
}
