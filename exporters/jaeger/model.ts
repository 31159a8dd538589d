// Traces in Jaeger's model (jaeger-idl's jaeger.thrift: Batch, Process, Span, Tag, Log, SpanRef),
// mapped from OTLP as the Collector's translator (contrib pkg/translator/jaeger,
// traces_to_jaegerproto.go) maps it: one Batch per resource; service.name becomes the process's
// service name and the other resource attributes its tags; scope, span kind, status and trace
// state become the tags Jaeger knows (otel.scope.name, span.kind, otel.status_code, error,
// otel.status_description, w3c.tracestate); events become logs (the name in an `event` field);
// the parent and links become references. Jaeger keeps microseconds.
import type { AnyValue, KeyValue } from '../../src/pdata/common.ts';
import type { Span, TracesData } from '../../src/pdata/traces.ts';

export const TagType = { STRING: 0, DOUBLE: 1, BOOL: 2, LONG: 3, BINARY: 4 } as const;
export const SpanRefType = { CHILD_OF: 0, FOLLOWS_FROM: 1 } as const;

export type JaegerTag =
  | { key: string; vType: 0; vStr: string }
  | { key: string; vType: 1; vDouble: number }
  | { key: string; vType: 2; vBool: boolean }
  | { key: string; vType: 3; vLong: bigint }
  | { key: string; vType: 4; vBinary: Uint8Array };

export interface JaegerLog {
  /** Microseconds since the epoch. */
  timestamp: bigint;
  fields: JaegerTag[];
}

export interface JaegerSpanRef {
  refType: 0 | 1;
  traceIdLow: bigint;
  traceIdHigh: bigint;
  spanId: bigint;
}

export interface JaegerSpan {
  traceIdLow: bigint;
  traceIdHigh: bigint;
  spanId: bigint;
  parentSpanId: bigint;
  operationName: string;
  references: JaegerSpanRef[];
  flags: number;
  /** Microseconds since the epoch. */
  startTime: bigint;
  /** Microseconds. */
  duration: bigint;
  tags: JaegerTag[];
  logs: JaegerLog[];
}

export interface JaegerBatch {
  process: { serviceName: string; tags: JaegerTag[] };
  spans: JaegerSpan[];
}

/** The Collector's service name for a resource without attributes. */
export const NO_SERVICE_NAME = 'OTLPResourceNoServiceName';
const SPAN_KIND = ['', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const OPENTRACING_REF_TYPE = 'opentracing.ref_type';

/** An id's hex as signed 64-bit halves, as Jaeger stores them. */
export function idPart(hex: string, part: 'high' | 'low' | 'whole'): bigint {
  const digits = part === 'high' ? hex.slice(0, 16) : part === 'low' ? hex.slice(16, 32) : hex.slice(0, 16);
  if (!/^[0-9a-f]{16}$/i.test(digits)) return 0n;
  return BigInt.asIntN(64, BigInt('0x' + digits));
}

/** What pcommon's Value.AsString() gives for a map or a slice: JSON, map keys sorted. */
export function valueAsString(value: AnyValue): string {
  const json = (v: AnyValue): string => {
    if ('stringValue' in v) return JSON.stringify(v.stringValue);
    if ('boolValue' in v) return String(v.boolValue);
    if ('intValue' in v) return v.intValue.toString();
    if ('doubleValue' in v) return Number.isFinite(v.doubleValue) ? JSON.stringify(v.doubleValue) : JSON.stringify(String(v.doubleValue));
    if ('bytesValue' in v) return JSON.stringify(Buffer.from(v.bytesValue).toString('base64'));
    if ('arrayValue' in v) return '[' + v.arrayValue.values.map(json).join(',') + ']';
    if ('kvlistValue' in v) {
      const entries = [...v.kvlistValue.values].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return '{' + entries.map((kv) => JSON.stringify(kv.key) + ':' + json(kv.value)).join(',') + '}';
    }
    return 'null';
  };
  if ('stringValue' in value) return value.stringValue;
  return json(value);
}

export function toTag(key: string, value: AnyValue): JaegerTag {
  if ('stringValue' in value) return { key, vType: TagType.STRING, vStr: value.stringValue };
  if ('intValue' in value) return { key, vType: TagType.LONG, vLong: value.intValue };
  if ('boolValue' in value) return { key, vType: TagType.BOOL, vBool: value.boolValue };
  if ('doubleValue' in value) return { key, vType: TagType.DOUBLE, vDouble: value.doubleValue };
  if ('bytesValue' in value) return { key, vType: TagType.BINARY, vBinary: value.bytesValue };
  if ('arrayValue' in value || 'kvlistValue' in value) return { key, vType: TagType.STRING, vStr: valueAsString(value) };
  // An empty value: the Collector's translator leaves the tag a string with nothing in it.
  return { key, vType: TagType.STRING, vStr: '' };
}

function tags(attributes: readonly KeyValue[], skip?: string): JaegerTag[] {
  return attributes.filter((a) => a.key !== skip).map((a) => toTag(a.key, a.value));
}

const str = (key: string, value: string): JaegerTag => ({ key, vType: TagType.STRING, vStr: value });
const micros = (ns: bigint): bigint => ns / 1000n;

function references(span: Span): JaegerSpanRef[] {
  const traceIdHigh = idPart(span.traceId, 'high');
  const traceIdLow = idPart(span.traceId, 'low');
  const parent = span.parentSpanId ? idPart(span.parentSpanId, 'whole') : 0n;
  const refs: JaegerSpanRef[] = parent !== 0n ? [{ refType: SpanRefType.CHILD_OF, traceIdLow, traceIdHigh, spanId: parent }] : [];
  for (const link of span.links) {
    const ref = link.attributes.find((a) => a.key === OPENTRACING_REF_TYPE)?.value;
    const refType = ref && 'stringValue' in ref && ref.stringValue === 'child_of' ? SpanRefType.CHILD_OF : SpanRefType.FOLLOWS_FROM;
    const high = idPart(link.traceId, 'high');
    const low = idPart(link.traceId, 'low');
    const spanId = idPart(link.spanId, 'whole');
    if (parent !== 0n && high === traceIdHigh && low === traceIdLow && spanId === parent) {
      refs[0]!.refType = refType;
      continue;
    }
    refs.push({ refType, traceIdLow: low, traceIdHigh: high, spanId });
  }
  return refs;
}

function spanTags(span: Span, scope: { name: string; version?: string } | undefined): JaegerTag[] {
  const out: JaegerTag[] = [];
  if (scope?.name) out.push(str('otel.scope.name', scope.name));
  if (scope?.version) out.push(str('otel.scope.version', scope.version));
  out.push(...tags(span.attributes));
  const kind = SPAN_KIND[span.kind];
  if (kind) out.push(str('span.kind', kind));
  if (span.status.code === 2) out.push(str('otel.status_code', 'ERROR'), { key: 'error', vType: TagType.BOOL, vBool: true });
  if (span.status.code === 1) out.push(str('otel.status_code', 'OK'));
  if (span.status.message) out.push(str('otel.status_description', span.status.message));
  if (span.traceState) out.push(str('w3c.tracestate', span.traceState));
  return out;
}

function toJaegerSpan(span: Span, scope: { name: string; version?: string } | undefined): JaegerSpan {
  const start = micros(span.startTimeUnixNano);
  return {
    traceIdLow: idPart(span.traceId, 'low'),
    traceIdHigh: idPart(span.traceId, 'high'),
    spanId: idPart(span.spanId, 'whole'),
    parentSpanId: span.parentSpanId ? idPart(span.parentSpanId, 'whole') : 0n,
    operationName: span.name,
    references: references(span),
    // W3C trace flags (the low byte of OTLP's flags) are Jaeger's: 1 is sampled. A span that
    // reached an exporter was recorded, so unknown flags say sampled.
    flags: span.flags === undefined ? 1 : span.flags & 0xff,
    startTime: start,
    duration: micros(span.endTimeUnixNano) - start,
    tags: spanTags(span, scope),
    logs: span.events.map((event) => {
      const named = event.name !== '' && !event.attributes.some((a) => a.key === 'event');
      return { timestamp: micros(event.timeUnixNano), fields: [...(named ? [str('event', event.name)] : []), ...tags(event.attributes)] };
    }),
  };
}

/** One Jaeger batch per resource, as the Collector's translator. */
export function toJaegerBatches(data: TracesData): JaegerBatch[] {
  const batches: JaegerBatch[] = [];
  for (const rs of data.resourceSpans) {
    const attrs = rs.resource.attributes;
    if (attrs.length === 0 && rs.scopeSpans.length === 0) continue;
    const service = attrs.find((a) => a.key === 'service.name')?.value;
    const serviceName = attrs.length === 0 ? NO_SERVICE_NAME : service && 'stringValue' in service ? service.stringValue : service ? valueAsString(service) : '';
    batches.push({
      process: { serviceName, tags: tags(attrs, 'service.name') },
      spans: rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toJaegerSpan(s, ss.scope))),
    });
  }
  return batches;
}
