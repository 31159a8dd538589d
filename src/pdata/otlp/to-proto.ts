// The data model -> plain objects the protobufjs static encoders write. Fields at their proto3
// default are left out, as a proto3 encoder would.
import type { AnyValue, InstrumentationScope, KeyValue, Resource } from '../common.ts';
import type { LogRecord, LogsData } from '../logs.ts';
import type {
  Exemplar,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Metric,
  MetricsData,
  NumberDataPoint,
  SummaryDataPoint,
} from '../metrics.ts';
import type { Span, TracesData } from '../traces.ts';
import type * as P from './proto-types.ts';
import { fromBigInt, hexToBytes } from './wire.ts';

export function anyValue(v: AnyValue): P.AnyValue {
  if ('stringValue' in v) return { stringValue: v.stringValue };
  if ('boolValue' in v) return { boolValue: v.boolValue };
  if ('intValue' in v) return { intValue: fromBigInt(v.intValue) };
  if ('doubleValue' in v) return { doubleValue: v.doubleValue };
  if ('bytesValue' in v) return { bytesValue: v.bytesValue };
  if ('arrayValue' in v) return { arrayValue: { values: v.arrayValue.values.map(anyValue) } };
  if ('kvlistValue' in v) return { kvlistValue: { values: keyValues(v.kvlistValue.values) } };
  return {};
}

export function keyValues(list: readonly KeyValue[] | undefined): P.KeyValue[] {
  return (list ?? []).map((kv) => ({ key: kv.key, value: anyValue(kv.value) }));
}

/**
 * Copies the given values into `to`, leaving out proto3 defaults (undefined, '', 0, 0n, false,
 * empty arrays). A plain loop over the keys: this runs for every span, point and record.
 */
function setIf<T extends object>(to: T, values: Partial<T>): T {
  for (const key in values) {
    const value = values[key];
    if (value === undefined || value === '' || value === 0 || value === false || (Array.isArray(value) && value.length === 0)) continue;
    to[key] = value as T[typeof key];
  }
  return to;
}

const u64 = (v: bigint | undefined) => (v ? fromBigInt(v) : undefined);

function resource(r: Resource): P.Resource {
  return setIf<P.Resource>({}, { attributes: keyValues(r.attributes), droppedAttributesCount: r.droppedAttributesCount });
}

function scope(s: InstrumentationScope | undefined): P.Scope | undefined {
  if (!s) return undefined;
  return setIf<P.Scope>(
    {},
    { name: s.name, version: s.version, attributes: keyValues(s.attributes), droppedAttributesCount: s.droppedAttributesCount },
  );
}

function span(s: Span): P.Span {
  const status = setIf<P.Status>({}, { code: s.status.code, message: s.status.message });
  return setIf<P.Span>(
    { status },
    {
      traceId: hexToBytes(s.traceId),
      spanId: hexToBytes(s.spanId),
      traceState: s.traceState,
      parentSpanId: hexToBytes(s.parentSpanId),
      flags: s.flags,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: u64(s.startTimeUnixNano),
      endTimeUnixNano: u64(s.endTimeUnixNano),
      attributes: keyValues(s.attributes),
      droppedAttributesCount: s.droppedAttributesCount,
      events: s.events.map((e) =>
        setIf<P.Event>(
          {},
          { timeUnixNano: u64(e.timeUnixNano), name: e.name, attributes: keyValues(e.attributes), droppedAttributesCount: e.droppedAttributesCount },
        ),
      ),
      droppedEventsCount: s.droppedEventsCount,
      links: s.links.map((l) =>
        setIf<P.Link>(
          {},
          {
            traceId: hexToBytes(l.traceId),
            spanId: hexToBytes(l.spanId),
            traceState: l.traceState,
            attributes: keyValues(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount,
            flags: l.flags,
          },
        ),
      ),
      droppedLinksCount: s.droppedLinksCount,
    },
  );
}

export function traces(data: TracesData): P.TracesRequest {
  return {
    resourceSpans: data.resourceSpans.map((rs) => ({
      resource: resource(rs.resource),
      scopeSpans: rs.scopeSpans.map((ss) => setIf<P.ScopeSpans>({ scope: scope(ss.scope), spans: ss.spans.map(span) }, { schemaUrl: ss.schemaUrl })),
      ...(rs.schemaUrl ? { schemaUrl: rs.schemaUrl } : {}),
    })),
  };
}

function exemplars(list: Exemplar[] | undefined): P.Exemplar[] {
  return (list ?? []).map((e) => {
    const out = setIf<P.Exemplar>(
      {},
      {
        filteredAttributes: keyValues(e.filteredAttributes),
        timeUnixNano: u64(e.timeUnixNano),
        spanId: hexToBytes(e.spanId),
        traceId: hexToBytes(e.traceId),
      },
    );
    // A oneof: written even when zero.
    if (e.asDouble !== undefined) out.asDouble = e.asDouble;
    else if (e.asInt !== undefined) out.asInt = fromBigInt(e.asInt);
    return out;
  });
}

function pointBase(p: NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint | SummaryDataPoint) {
  return setIf<P.NumberDataPoint>(
    {},
    {
      attributes: keyValues(p.attributes),
      startTimeUnixNano: u64(p.startTimeUnixNano),
      timeUnixNano: u64(p.timeUnixNano),
      flags: p.flags,
      exemplars: 'exemplars' in p ? exemplars(p.exemplars) : undefined,
    },
  );
}

function numberPoint(p: NumberDataPoint): P.NumberDataPoint {
  const out = pointBase(p);
  if (p.asDouble !== undefined) out.asDouble = p.asDouble;
  else if (p.asInt !== undefined) out.asInt = fromBigInt(p.asInt);
  return out;
}

/** sum, min and max are proto3 `optional`: present means written, zero included. */
function optionalStats<T extends { sum?: number | null; min?: number | null; max?: number | null }>(
  out: T,
  p: { sum?: number; min?: number; max?: number },
): T {
  if (p.sum !== undefined) out.sum = p.sum;
  if (p.min !== undefined) out.min = p.min;
  if (p.max !== undefined) out.max = p.max;
  return out;
}

function histogramPoint(p: HistogramDataPoint): P.HistogramDataPoint {
  const out: P.HistogramDataPoint = setIf<P.HistogramDataPoint>(pointBase(p), {
    count: p.count || undefined,
    bucketCounts: p.bucketCounts,
    explicitBounds: p.explicitBounds,
  });
  return optionalStats(out, p);
}

function buckets(b: { offset: number; bucketCounts: number[] }): P.Buckets {
  return setIf<P.Buckets>({}, { offset: b.offset, bucketCounts: b.bucketCounts });
}

function exponentialPoint(p: ExponentialHistogramDataPoint): P.ExponentialHistogramDataPoint {
  const out = setIf<P.ExponentialHistogramDataPoint>(pointBase(p), {
    count: p.count || undefined,
    scale: p.scale,
    zeroCount: p.zeroCount || undefined,
    positive: buckets(p.positive),
    negative: buckets(p.negative),
    zeroThreshold: p.zeroThreshold,
  });
  return optionalStats(out, p);
}

function summaryPoint(p: SummaryDataPoint): P.SummaryDataPoint {
  return setIf<P.SummaryDataPoint>(pointBase(p), {
    count: p.count || undefined,
    sum: p.sum,
    quantileValues: p.quantileValues.map((q) => setIf<P.Quantile>({}, { quantile: q.quantile, value: q.value })),
  });
}

function metric(m: Metric): P.Metric {
  const out = setIf<P.Metric>({}, { name: m.name, description: m.description, unit: m.unit, metadata: keyValues(m.metadata) });
  const d = m.data;
  switch (d.type) {
    case 'gauge':
      out.gauge = { dataPoints: d.dataPoints.map(numberPoint) };
      break;
    case 'sum':
      out.sum = setIf<P.Sum>(
        { dataPoints: d.dataPoints.map(numberPoint) },
        { aggregationTemporality: d.aggregationTemporality, isMonotonic: d.isMonotonic },
      );
      break;
    case 'histogram':
      out.histogram = setIf<P.Histogram>(
        { dataPoints: d.dataPoints.map(histogramPoint) },
        { aggregationTemporality: d.aggregationTemporality },
      );
      break;
    case 'exponentialHistogram':
      out.exponentialHistogram = setIf<P.ExponentialHistogram>(
        { dataPoints: d.dataPoints.map(exponentialPoint) },
        { aggregationTemporality: d.aggregationTemporality },
      );
      break;
    case 'summary':
      out.summary = { dataPoints: d.dataPoints.map(summaryPoint) };
      break;
  }
  return out;
}

export function metricsData(data: MetricsData): P.MetricsRequest {
  return {
    resourceMetrics: data.resourceMetrics.map((rm) => ({
      resource: resource(rm.resource),
      scopeMetrics: rm.scopeMetrics.map((sm) => setIf<P.ScopeMetrics>({ scope: scope(sm.scope), metrics: sm.metrics.map(metric) }, { schemaUrl: sm.schemaUrl })),
      ...(rm.schemaUrl ? { schemaUrl: rm.schemaUrl } : {}),
    })),
  };
}

function logRecord(l: LogRecord): P.LogRecord {
  const out = setIf<P.LogRecord>(
    {},
    {
      timeUnixNano: u64(l.timeUnixNano),
      observedTimeUnixNano: u64(l.observedTimeUnixNano),
      severityNumber: l.severityNumber,
      severityText: l.severityText,
      attributes: keyValues(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount,
      flags: l.flags,
      traceId: hexToBytes(l.traceId),
      spanId: hexToBytes(l.spanId),
      eventName: l.eventName,
    },
  );
  if (l.body && Object.keys(l.body).length) out.body = anyValue(l.body);
  return out;
}

export function logs(data: LogsData): P.LogsRequest {
  return {
    resourceLogs: data.resourceLogs.map((rl) => ({
      resource: resource(rl.resource),
      scopeLogs: rl.scopeLogs.map((sl) => setIf<P.ScopeLogs>({ scope: scope(sl.scope), logRecords: sl.logRecords.map(logRecord) }, { schemaUrl: sl.schemaUrl })),
      ...(rl.schemaUrl ? { schemaUrl: rl.schemaUrl } : {}),
    })),
  };
}
