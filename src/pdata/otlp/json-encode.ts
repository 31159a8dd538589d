// The data model -> OTLP/JSON objects, as the OTLP spec says: lowerCamelCase keys, hex trace and
// span ids, 64-bit integers as decimal strings, enums as integers, bytes as base64, and fields
// at their proto3 default left out (as protobuf's JSON mapping does).
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

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/** A double as protobuf's JSON mapping writes it: NaN and infinities as strings. */
export function jsonDouble(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Builds an object from entries, leaving out undefined, '', 0, false and empty arrays. */
function obj(entries: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined || value === '' || value === 0 || value === false) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

const u64 = (v: bigint | undefined) => (v ? v.toString() : undefined);
const count = (v: number) => (v ? String(v) : undefined);

export function anyValue(v: AnyValue): JsonObject {
  if ('stringValue' in v) return { stringValue: v.stringValue };
  if ('boolValue' in v) return { boolValue: v.boolValue };
  if ('intValue' in v) return { intValue: v.intValue.toString() };
  if ('doubleValue' in v) return { doubleValue: jsonDouble(v.doubleValue) };
  if ('bytesValue' in v) return { bytesValue: Buffer.from(v.bytesValue.buffer, v.bytesValue.byteOffset, v.bytesValue.length).toString('base64') };
  if ('arrayValue' in v) return { arrayValue: obj({ values: v.arrayValue.values.map(anyValue) }) };
  if ('kvlistValue' in v) return { kvlistValue: obj({ values: keyValues(v.kvlistValue.values) }) };
  return {};
}

export function keyValues(list: readonly KeyValue[] | undefined): JsonObject[] {
  return (list ?? []).map((kv) => ({ key: kv.key, value: anyValue(kv.value) }));
}

function resource(r: Resource): JsonObject {
  return obj({ attributes: keyValues(r.attributes), droppedAttributesCount: r.droppedAttributesCount });
}

function scope(s: InstrumentationScope | undefined): JsonObject | undefined {
  if (!s) return undefined;
  return obj({ name: s.name, version: s.version, attributes: keyValues(s.attributes), droppedAttributesCount: s.droppedAttributesCount });
}

function span(s: Span): JsonObject {
  return obj({
    traceId: s.traceId,
    spanId: s.spanId,
    traceState: s.traceState,
    parentSpanId: s.parentSpanId,
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: u64(s.startTimeUnixNano),
    endTimeUnixNano: u64(s.endTimeUnixNano),
    attributes: keyValues(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) =>
      obj({ timeUnixNano: u64(e.timeUnixNano), name: e.name, attributes: keyValues(e.attributes), droppedAttributesCount: e.droppedAttributesCount }),
    ),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) =>
      obj({
        traceId: l.traceId,
        spanId: l.spanId,
        traceState: l.traceState,
        attributes: keyValues(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
        flags: l.flags,
      }),
    ),
    droppedLinksCount: s.droppedLinksCount,
    // Always written, as the Collector does, even when unset.
    status: obj({ message: s.status.message, code: s.status.code }),
  });
}

export function traces(data: TracesData): JsonObject {
  return obj({
    resourceSpans: data.resourceSpans.map((rs) =>
      obj({
        resource: resource(rs.resource),
        scopeSpans: rs.scopeSpans.map((ss) => obj({ scope: scope(ss.scope), spans: ss.spans.map(span), schemaUrl: ss.schemaUrl })),
        schemaUrl: rs.schemaUrl,
      }),
    ),
  });
}

/** A oneof number value: written even when zero. */
function numberValue(p: { asDouble?: number; asInt?: bigint }): JsonObject {
  if (p.asDouble !== undefined) return { asDouble: jsonDouble(p.asDouble) };
  if (p.asInt !== undefined) return { asInt: p.asInt.toString() };
  return {};
}

function exemplars(list: Exemplar[] | undefined): JsonObject[] {
  return (list ?? []).map((e) => ({
    ...obj({ filteredAttributes: keyValues(e.filteredAttributes), timeUnixNano: u64(e.timeUnixNano) }),
    ...numberValue(e),
    ...obj({ spanId: e.spanId, traceId: e.traceId }),
  }));
}

function pointBase(p: NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint | SummaryDataPoint): JsonObject {
  return obj({ attributes: keyValues(p.attributes), startTimeUnixNano: u64(p.startTimeUnixNano), timeUnixNano: u64(p.timeUnixNano) });
}

/** Fields that are proto3 `optional`: present means written, zero included. */
function optionalStats(p: { sum?: number; min?: number; max?: number }): JsonObject {
  const out: JsonObject = {};
  if (p.sum !== undefined) out.sum = jsonDouble(p.sum);
  if (p.min !== undefined) out.min = jsonDouble(p.min);
  if (p.max !== undefined) out.max = jsonDouble(p.max);
  return out;
}

function numberPoint(p: NumberDataPoint): JsonObject {
  return { ...pointBase(p), ...numberValue(p), ...obj({ exemplars: exemplars(p.exemplars), flags: p.flags }) };
}

function histogramPoint(p: HistogramDataPoint): JsonObject {
  const { sum, ...stats } = optionalStats(p);
  return {
    ...pointBase(p),
    ...obj({ count: count(p.count) }),
    ...(sum !== undefined ? { sum } : {}),
    ...obj({
      bucketCounts: p.bucketCounts.map(String),
      explicitBounds: p.explicitBounds.map(jsonDouble),
      exemplars: exemplars(p.exemplars),
      flags: p.flags,
    }),
    ...stats,
  };
}

function buckets(b: { offset: number; bucketCounts: number[] }): JsonObject {
  return obj({ offset: b.offset, bucketCounts: b.bucketCounts.map(String) });
}

function exponentialPoint(p: ExponentialHistogramDataPoint): JsonObject {
  const { sum, ...stats } = optionalStats(p);
  return {
    ...pointBase(p),
    ...obj({ count: count(p.count) }),
    ...(sum !== undefined ? { sum } : {}),
    ...obj({
      scale: p.scale,
      zeroCount: count(p.zeroCount),
      positive: buckets(p.positive),
      negative: buckets(p.negative),
      flags: p.flags,
      exemplars: exemplars(p.exemplars),
    }),
    ...stats,
    ...obj({ zeroThreshold: p.zeroThreshold === undefined ? undefined : jsonDouble(p.zeroThreshold) }),
  };
}

function summaryPoint(p: SummaryDataPoint): JsonObject {
  return {
    ...pointBase(p),
    ...obj({
      count: count(p.count),
      sum: jsonDouble(p.sum),
      quantileValues: p.quantileValues.map((q) => obj({ quantile: jsonDouble(q.quantile), value: jsonDouble(q.value) })),
      flags: p.flags,
    }),
  };
}

function metricData(m: Metric): JsonObject {
  const d = m.data;
  switch (d.type) {
    case 'gauge':
      return { gauge: obj({ dataPoints: d.dataPoints.map(numberPoint) }) };
    case 'sum':
      return {
        sum: obj({ dataPoints: d.dataPoints.map(numberPoint), aggregationTemporality: d.aggregationTemporality, isMonotonic: d.isMonotonic }),
      };
    case 'histogram':
      return { histogram: obj({ dataPoints: d.dataPoints.map(histogramPoint), aggregationTemporality: d.aggregationTemporality }) };
    case 'exponentialHistogram':
      return {
        exponentialHistogram: obj({ dataPoints: d.dataPoints.map(exponentialPoint), aggregationTemporality: d.aggregationTemporality }),
      };
    case 'summary':
      return { summary: obj({ dataPoints: d.dataPoints.map(summaryPoint) }) };
  }
}

function metric(m: Metric): JsonObject {
  return { ...obj({ name: m.name, description: m.description, unit: m.unit }), ...metricData(m), ...obj({ metadata: keyValues(m.metadata) }) };
}

export function metricsData(data: MetricsData): JsonObject {
  return obj({
    resourceMetrics: data.resourceMetrics.map((rm) =>
      obj({
        resource: resource(rm.resource),
        scopeMetrics: rm.scopeMetrics.map((sm) => obj({ scope: scope(sm.scope), metrics: sm.metrics.map(metric), schemaUrl: sm.schemaUrl })),
        schemaUrl: rm.schemaUrl,
      }),
    ),
  });
}

function logRecord(l: LogRecord): JsonObject {
  return {
    ...obj({
      timeUnixNano: u64(l.timeUnixNano),
      observedTimeUnixNano: u64(l.observedTimeUnixNano),
      severityNumber: l.severityNumber,
      severityText: l.severityText,
    }),
    ...(l.body && Object.keys(l.body).length ? { body: anyValue(l.body) } : {}),
    ...obj({
      attributes: keyValues(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount,
      flags: l.flags,
      traceId: l.traceId,
      spanId: l.spanId,
      eventName: l.eventName,
    }),
  };
}

export function logs(data: LogsData): JsonObject {
  return obj({
    resourceLogs: data.resourceLogs.map((rl) =>
      obj({
        resource: resource(rl.resource),
        scopeLogs: rl.scopeLogs.map((sl) => obj({ scope: scope(sl.scope), logRecords: sl.logRecords.map(logRecord), schemaUrl: sl.schemaUrl })),
        schemaUrl: rl.schemaUrl,
      }),
    ),
  });
}
