// The shapes of OTLP protobuf messages as the protobufjs static code reads and writes them.
// Decoded messages carry proto3 defaults on their prototypes and a getter per oneof naming the
// field that is set (`value`, `data`); messages to encode are plain objects with only the
// fields worth writing.

/** A 64-bit integer: protobufjs decodes to Long; encodes from Long-like bits or numbers. */
export interface LongBits {
  low: number;
  high: number;
  unsigned?: boolean | null;
}
export type Int64 = LongBits | number;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  arrayValue?: { values?: AnyValue[] } | null;
  kvlistValue?: { values?: KeyValue[] } | null;
  bytesValue?: Uint8Array | null;
  /** Decoded messages only: the oneof field that is set. */
  readonly value?: string | null;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

export interface Resource {
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
}

export interface Scope {
  name?: string | null;
  version?: string | null;
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
}

export interface Event {
  timeUnixNano?: Int64 | null;
  name?: string | null;
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
}

export interface Link {
  traceId?: Uint8Array | null;
  spanId?: Uint8Array | null;
  traceState?: string | null;
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
  flags?: number | null;
}

export interface Status {
  message?: string | null;
  code?: number | null;
}

export interface Span {
  traceId?: Uint8Array | null;
  spanId?: Uint8Array | null;
  traceState?: string | null;
  parentSpanId?: Uint8Array | null;
  flags?: number | null;
  name?: string | null;
  kind?: number | null;
  startTimeUnixNano?: Int64 | null;
  endTimeUnixNano?: Int64 | null;
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
  events?: Event[];
  droppedEventsCount?: number | null;
  links?: Link[];
  droppedLinksCount?: number | null;
  status?: Status | null;
}

export interface ScopeSpans {
  scope?: Scope | null;
  spans?: Span[];
  schemaUrl?: string | null;
}

export interface ResourceSpans {
  resource?: Resource | null;
  scopeSpans?: ScopeSpans[];
  schemaUrl?: string | null;
}

export interface TracesRequest {
  resourceSpans?: ResourceSpans[];
}

export interface Exemplar {
  filteredAttributes?: KeyValue[];
  timeUnixNano?: Int64 | null;
  asDouble?: number | null;
  asInt?: Int64 | null;
  spanId?: Uint8Array | null;
  traceId?: Uint8Array | null;
  readonly value?: string | null;
}

interface DataPointBase {
  attributes?: KeyValue[];
  startTimeUnixNano?: Int64 | null;
  timeUnixNano?: Int64 | null;
  flags?: number | null;
}

export interface NumberDataPoint extends DataPointBase {
  asDouble?: number | null;
  asInt?: Int64 | null;
  exemplars?: Exemplar[];
  readonly value?: string | null;
}

export interface HistogramDataPoint extends DataPointBase {
  count?: Int64 | null;
  sum?: number | null;
  bucketCounts?: Int64[];
  explicitBounds?: number[];
  exemplars?: Exemplar[];
  min?: number | null;
  max?: number | null;
}

export interface Buckets {
  offset?: number | null;
  bucketCounts?: Int64[];
}

export interface ExponentialHistogramDataPoint extends DataPointBase {
  count?: Int64 | null;
  sum?: number | null;
  scale?: number | null;
  zeroCount?: Int64 | null;
  positive?: Buckets | null;
  negative?: Buckets | null;
  exemplars?: Exemplar[];
  min?: number | null;
  max?: number | null;
  zeroThreshold?: number | null;
}

export interface Quantile {
  quantile?: number | null;
  value?: number | null;
}

export interface SummaryDataPoint extends DataPointBase {
  count?: Int64 | null;
  sum?: number | null;
  quantileValues?: Quantile[];
}

export interface Sum {
  dataPoints?: NumberDataPoint[];
  aggregationTemporality?: number | null;
  isMonotonic?: boolean | null;
}

export interface Histogram {
  dataPoints?: HistogramDataPoint[];
  aggregationTemporality?: number | null;
}

export interface ExponentialHistogram {
  dataPoints?: ExponentialHistogramDataPoint[];
  aggregationTemporality?: number | null;
}

export interface Metric {
  name?: string | null;
  description?: string | null;
  unit?: string | null;
  metadata?: KeyValue[];
  gauge?: { dataPoints?: NumberDataPoint[] } | null;
  sum?: Sum | null;
  histogram?: Histogram | null;
  exponentialHistogram?: ExponentialHistogram | null;
  summary?: { dataPoints?: SummaryDataPoint[] } | null;
  /** Decoded messages only: which of gauge, sum, histogram, exponentialHistogram, summary is set. */
  readonly data?: string | null;
}

export interface ScopeMetrics {
  scope?: Scope | null;
  metrics?: Metric[];
  schemaUrl?: string | null;
}

export interface ResourceMetrics {
  resource?: Resource | null;
  scopeMetrics?: ScopeMetrics[];
  schemaUrl?: string | null;
}

export interface MetricsRequest {
  resourceMetrics?: ResourceMetrics[];
}

export interface LogRecord {
  timeUnixNano?: Int64 | null;
  observedTimeUnixNano?: Int64 | null;
  severityNumber?: number | null;
  severityText?: string | null;
  body?: AnyValue | null;
  attributes?: KeyValue[];
  droppedAttributesCount?: number | null;
  flags?: number | null;
  traceId?: Uint8Array | null;
  spanId?: Uint8Array | null;
  eventName?: string | null;
}

export interface ScopeLogs {
  scope?: Scope | null;
  logRecords?: LogRecord[];
  schemaUrl?: string | null;
}

export interface ResourceLogs {
  resource?: Resource | null;
  scopeLogs?: ScopeLogs[];
  schemaUrl?: string | null;
}

export interface LogsRequest {
  resourceLogs?: ResourceLogs[];
}

/** Export*ServiceResponse: partial_success holds rejected_spans / rejected_data_points / rejected_log_records. */
export interface ExportResponse {
  partialSuccess?: {
    rejectedSpans?: Int64 | null;
    rejectedDataPoints?: Int64 | null;
    rejectedLogRecords?: Int64 | null;
    errorMessage?: string | null;
  } | null;
}
