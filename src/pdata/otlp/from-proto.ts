// Decoded OTLP protobuf messages -> the data model. Optional model fields are left out when the
// wire holds their proto3 default, so model -> proto -> model gives back what went in.
import type { AnyValue, InstrumentationScope, KeyValue, Resource } from '../common.ts';
import type { LogRecord, LogsData } from '../logs.ts';
import type {
  AggregationTemporality,
  Exemplar,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Metric,
  MetricData,
  MetricsData,
  NumberDataPoint,
  SummaryDataPoint,
} from '../metrics.ts';
import type { Span, SpanKind, StatusCode, TracesData } from '../traces.ts';
import type * as P from './proto-types.ts';
import { bytesToHex, toCount, toInt64, toUint64 } from './wire.ts';

export function anyValue(v: P.AnyValue | null | undefined): AnyValue {
  switch (v?.value) {
    case 'stringValue':
      return { stringValue: v.stringValue ?? '' };
    case 'boolValue':
      return { boolValue: v.boolValue ?? false };
    case 'intValue':
      return { intValue: toInt64(v.intValue) };
    case 'doubleValue':
      return { doubleValue: v.doubleValue ?? 0 };
    case 'bytesValue':
      // A copy: the decoded bytes are a view into the whole request.
      return { bytesValue: new Uint8Array(v.bytesValue ?? new Uint8Array()) };
    case 'arrayValue':
      return { arrayValue: { values: (v.arrayValue?.values ?? []).map(anyValue) } };
    case 'kvlistValue':
      return { kvlistValue: { values: keyValues(v.kvlistValue?.values) } };
    default:
      return {};
  }
}

export function keyValues(list: P.KeyValue[] | null | undefined): KeyValue[] {
  return (list ?? []).map((kv) => ({ key: kv.key ?? '', value: anyValue(kv.value) }));
}

function resource(r: P.Resource | null | undefined): Resource {
  const out: Resource = { attributes: keyValues(r?.attributes) };
  if (r?.droppedAttributesCount) out.droppedAttributesCount = r.droppedAttributesCount;
  return out;
}

function scope(s: P.Scope | null | undefined): InstrumentationScope | undefined {
  if (!s) return undefined;
  const out: InstrumentationScope = { name: s.name ?? '' };
  if (s.version) out.version = s.version;
  if (s.attributes?.length) out.attributes = keyValues(s.attributes);
  if (s.droppedAttributesCount) out.droppedAttributesCount = s.droppedAttributesCount;
  return out;
}

/** Sets `schemaUrl` on `target` when non-empty and returns it. */
function withSchema<T extends { schemaUrl?: string }>(target: T, schemaUrl: string | null | undefined): T {
  if (schemaUrl) target.schemaUrl = schemaUrl;
  return target;
}

const traceId = (b: Uint8Array | null | undefined) => bytesToHex(b, 16, 'trace id');
const spanId = (b: Uint8Array | null | undefined) => bytesToHex(b, 8, 'span id');

function span(s: P.Span): Span {
  const out: Span = {
    traceId: traceId(s.traceId),
    spanId: spanId(s.spanId),
    name: s.name ?? '',
    kind: (s.kind ?? 0) as SpanKind,
    startTimeUnixNano: toUint64(s.startTimeUnixNano),
    endTimeUnixNano: toUint64(s.endTimeUnixNano),
    attributes: keyValues(s.attributes),
    events: (s.events ?? []).map((e) => {
      const event: Span['events'][number] = {
        timeUnixNano: toUint64(e.timeUnixNano),
        name: e.name ?? '',
        attributes: keyValues(e.attributes),
      };
      if (e.droppedAttributesCount) event.droppedAttributesCount = e.droppedAttributesCount;
      return event;
    }),
    links: (s.links ?? []).map((l) => {
      const link: Span['links'][number] = {
        traceId: traceId(l.traceId),
        spanId: spanId(l.spanId),
        attributes: keyValues(l.attributes),
      };
      if (l.traceState) link.traceState = l.traceState;
      if (l.droppedAttributesCount) link.droppedAttributesCount = l.droppedAttributesCount;
      if (l.flags) link.flags = l.flags;
      return link;
    }),
    status: { code: (s.status?.code ?? 0) as StatusCode },
  };
  if (s.status?.message) out.status.message = s.status.message;
  if (s.traceState) out.traceState = s.traceState;
  const parent = spanId(s.parentSpanId);
  if (parent) out.parentSpanId = parent;
  if (s.flags) out.flags = s.flags;
  if (s.droppedAttributesCount) out.droppedAttributesCount = s.droppedAttributesCount;
  if (s.droppedEventsCount) out.droppedEventsCount = s.droppedEventsCount;
  if (s.droppedLinksCount) out.droppedLinksCount = s.droppedLinksCount;
  return out;
}

export function traces(req: P.TracesRequest): TracesData {
  return {
    resourceSpans: (req.resourceSpans ?? []).map((rs) =>
      withSchema<TracesData['resourceSpans'][number]>(
        {
          resource: resource(rs.resource),
          scopeSpans: (rs.scopeSpans ?? []).map((ss) => {
            const out: TracesData['resourceSpans'][number]['scopeSpans'][number] = { spans: (ss.spans ?? []).map(span) };
            const sc = scope(ss.scope);
            if (sc) out.scope = sc;
            return withSchema(out, ss.schemaUrl);
          }),
        },
        rs.schemaUrl,
      ),
    ),
  };
}

function exemplars(list: P.Exemplar[] | null | undefined): Exemplar[] {
  return (list ?? []).map((e) => {
    const out: Exemplar = { filteredAttributes: keyValues(e.filteredAttributes), timeUnixNano: toUint64(e.timeUnixNano) };
    if (e.value === 'asDouble') out.asDouble = e.asDouble ?? 0;
    else if (e.value === 'asInt') out.asInt = toInt64(e.asInt);
    const sid = spanId(e.spanId);
    if (sid) out.spanId = sid;
    const tid = traceId(e.traceId);
    if (tid) out.traceId = tid;
    return out;
  });
}

/** The fields every data point shares, plus exemplars when it has any. */
function pointBase(p: P.NumberDataPoint | P.HistogramDataPoint | P.ExponentialHistogramDataPoint | P.SummaryDataPoint) {
  const out: { attributes: KeyValue[]; timeUnixNano: bigint; startTimeUnixNano?: bigint; flags?: number; exemplars?: Exemplar[] } = {
    attributes: keyValues(p.attributes),
    timeUnixNano: toUint64(p.timeUnixNano),
  };
  const start = toUint64(p.startTimeUnixNano);
  if (start) out.startTimeUnixNano = start;
  if (p.flags) out.flags = p.flags;
  if ('exemplars' in p && p.exemplars?.length) out.exemplars = exemplars(p.exemplars);
  return out;
}

function numberPoint(p: P.NumberDataPoint): NumberDataPoint {
  const out: NumberDataPoint = pointBase(p);
  if (p.value === 'asDouble') out.asDouble = p.asDouble ?? 0;
  else if (p.value === 'asInt') out.asInt = toInt64(p.asInt);
  return out;
}

/** Sets sum, min and max when present on the wire (they are proto3 `optional`). */
function optionalStats(out: { sum?: number; min?: number; max?: number }, p: P.HistogramDataPoint | P.ExponentialHistogramDataPoint) {
  if (p.sum != null) out.sum = p.sum;
  if (p.min != null) out.min = p.min;
  if (p.max != null) out.max = p.max;
}

function histogramPoint(p: P.HistogramDataPoint): HistogramDataPoint {
  const out: HistogramDataPoint = {
    ...pointBase(p),
    count: toCount(p.count),
    bucketCounts: (p.bucketCounts ?? []).map(toCount),
    explicitBounds: [...(p.explicitBounds ?? [])],
  };
  optionalStats(out, p);
  return out;
}

function buckets(b: P.Buckets | null | undefined) {
  return { offset: b?.offset ?? 0, bucketCounts: (b?.bucketCounts ?? []).map(toCount) };
}

function exponentialPoint(p: P.ExponentialHistogramDataPoint): ExponentialHistogramDataPoint {
  const out: ExponentialHistogramDataPoint = {
    ...pointBase(p),
    count: toCount(p.count),
    scale: p.scale ?? 0,
    zeroCount: toCount(p.zeroCount),
    positive: buckets(p.positive),
    negative: buckets(p.negative),
  };
  optionalStats(out, p);
  if (p.zeroThreshold) out.zeroThreshold = p.zeroThreshold;
  return out;
}

function summaryPoint(p: P.SummaryDataPoint): SummaryDataPoint {
  return {
    ...pointBase(p),
    count: toCount(p.count),
    sum: p.sum ?? 0,
    quantileValues: (p.quantileValues ?? []).map((q) => ({ quantile: q.quantile ?? 0, value: q.value ?? 0 })),
  };
}

const temporality = (t: number | null | undefined) => (t ?? 0) as AggregationTemporality;

function metricData(m: P.Metric): MetricData | undefined {
  switch (m.data) {
    case 'gauge':
      return { type: 'gauge', dataPoints: (m.gauge?.dataPoints ?? []).map(numberPoint) };
    case 'sum':
      return {
        type: 'sum',
        aggregationTemporality: temporality(m.sum?.aggregationTemporality),
        isMonotonic: m.sum?.isMonotonic ?? false,
        dataPoints: (m.sum?.dataPoints ?? []).map(numberPoint),
      };
    case 'histogram':
      return {
        type: 'histogram',
        aggregationTemporality: temporality(m.histogram?.aggregationTemporality),
        dataPoints: (m.histogram?.dataPoints ?? []).map(histogramPoint),
      };
    case 'exponentialHistogram':
      return {
        type: 'exponentialHistogram',
        aggregationTemporality: temporality(m.exponentialHistogram?.aggregationTemporality),
        dataPoints: (m.exponentialHistogram?.dataPoints ?? []).map(exponentialPoint),
      };
    case 'summary':
      return { type: 'summary', dataPoints: (m.summary?.dataPoints ?? []).map(summaryPoint) };
    default:
      return undefined;
  }
}

function metrics(list: P.Metric[] | undefined): Metric[] {
  const out: Metric[] = [];
  for (const m of list ?? []) {
    const data = metricData(m);
    // A metric with no data type carries no points (the Collector calls it Empty): nothing to keep.
    if (!data) continue;
    const metric: Metric = { name: m.name ?? '', data };
    if (m.description) metric.description = m.description;
    if (m.unit) metric.unit = m.unit;
    if (m.metadata?.length) metric.metadata = keyValues(m.metadata);
    out.push(metric);
  }
  return out;
}

export function metricsData(req: P.MetricsRequest): MetricsData {
  return {
    resourceMetrics: (req.resourceMetrics ?? []).map((rm) =>
      withSchema<MetricsData['resourceMetrics'][number]>(
        {
          resource: resource(rm.resource),
          scopeMetrics: (rm.scopeMetrics ?? []).map((sm) => {
            const out: MetricsData['resourceMetrics'][number]['scopeMetrics'][number] = { metrics: metrics(sm.metrics) };
            const sc = scope(sm.scope);
            if (sc) out.scope = sc;
            return withSchema(out, sm.schemaUrl);
          }),
        },
        rm.schemaUrl,
      ),
    ),
  };
}

function logRecord(l: P.LogRecord): LogRecord {
  const out: LogRecord = {
    timeUnixNano: toUint64(l.timeUnixNano),
    observedTimeUnixNano: toUint64(l.observedTimeUnixNano),
    attributes: keyValues(l.attributes),
  };
  if (l.severityNumber) out.severityNumber = l.severityNumber;
  if (l.severityText) out.severityText = l.severityText;
  // An empty body is no body: the Collector's pdata cannot tell them apart and writes `{}` for both.
  const body = anyValue(l.body);
  if (Object.keys(body).length) out.body = body;
  if (l.droppedAttributesCount) out.droppedAttributesCount = l.droppedAttributesCount;
  if (l.flags) out.flags = l.flags;
  const tid = traceId(l.traceId);
  if (tid) out.traceId = tid;
  const sid = spanId(l.spanId);
  if (sid) out.spanId = sid;
  if (l.eventName) out.eventName = l.eventName;
  return out;
}

export function logs(req: P.LogsRequest): LogsData {
  return {
    resourceLogs: (req.resourceLogs ?? []).map((rl) =>
      withSchema<LogsData['resourceLogs'][number]>(
        {
          resource: resource(rl.resource),
          scopeLogs: (rl.scopeLogs ?? []).map((sl) => {
            const out: LogsData['resourceLogs'][number]['scopeLogs'][number] = { logRecords: (sl.logRecords ?? []).map(logRecord) };
            const sc = scope(sl.scope);
            if (sc) out.scope = sc;
            return withSchema(out, sl.schemaUrl);
          }),
        },
        rl.schemaUrl,
      ),
    ),
  };
}
