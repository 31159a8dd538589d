// OTLP/JSON -> the data model, as the OTLP spec says receivers read it: lowerCamelCase keys, hex
// trace and span ids, 64-bit integers as strings or numbers, enums as integers or names,
// unknown fields ignored, null meaning absent. Every error names the path of the bad value.
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
import { OtlpDecodeError } from './errors.ts';
import { ENUMS } from './root.ts';

const INTEGER = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const MAX_U32 = 0xffff_ffff;
const U64_LIMIT = 1n << 64n;
const I64_MIN = -(1n << 63n);
const I64_LIMIT = 1n << 63n;

function fail(path: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 40 ? got.slice(0, 40) + '…' : got) : Array.isArray(got) ? 'an array' : typeof got === 'object' ? 'an object' : String(got);
  throw new OtlpDecodeError(`${path}: expected ${expected}, got ${shown}`);
}

/** A JSON object being read, with the path used in error messages. */
class JsonReader {
  private readonly o: Record<string, unknown>;
  readonly path: string;

  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
    this.o = value as Record<string, unknown>;
    this.path = path;
  }

  private at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The raw value, undefined when absent or null. */
  raw(key: string): unknown {
    const v = this.o[key];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  child(key: string): JsonReader | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : new JsonReader(v, this.at(key));
  }

  list(key: string): { value: unknown; path: string }[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(this.at(key), 'an array', v);
    return v.map((value, i) => ({ value: value as unknown, path: `${this.at(key)}[${i}]` }));
  }

  objects(key: string): JsonReader[] {
    return this.list(key).map(({ value, path }) => new JsonReader(value, path));
  }

  str(key: string): string {
    const v = this.raw(key);
    if (v === undefined) return '';
    if (typeof v !== 'string') fail(this.at(key), 'a string', v);
    return v;
  }

  bool(key: string): boolean {
    const v = this.raw(key);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') fail(this.at(key), 'true or false', v);
    return v;
  }

  u32(key: string): number {
    return uint32(this.raw(key), this.at(key));
  }

  i32(key: string): number {
    const v = this.raw(key);
    if (v === undefined) return 0;
    const n = typeof v === 'string' && INTEGER.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x8000_0000 || n > 0x7fff_ffff) fail(this.at(key), 'a 32-bit integer', v);
    return n;
  }

  u64(key: string): bigint {
    return uint64(this.raw(key), this.at(key));
  }

  i64(key: string): bigint {
    return int64(this.raw(key), this.at(key));
  }

  /** A uint64 count as a number, as the model keeps counts. */
  count(key: string): number {
    return Number(this.u64(key));
  }

  double(key: string): number {
    return double(this.raw(key), this.at(key));
  }

  optionalDouble(key: string): number | undefined {
    return this.has(key) ? this.double(key) : undefined;
  }

  enumValue(key: string, names: Record<string, number>): number {
    const v = this.raw(key);
    if (typeof v === 'string' && !INTEGER.test(v)) {
      const n = names[v];
      if (n === undefined || typeof n !== 'number') fail(this.at(key), `an integer or one of ${Object.keys(names).join(', ')}`, v);
      return n;
    }
    return this.i32(key);
  }

  /** A trace or span id: `size` bytes as hex (any case), or '' when absent. */
  id(key: string, size: number): string {
    const v = this.str(key);
    if (v === '') return '';
    if (v.length !== size * 2 || !/^[0-9a-fA-F]*$/.test(v)) fail(this.at(key), `${size * 2} hex digits`, v);
    return v.toLowerCase();
  }
}

function uint32(v: unknown, path: string): number {
  if (v === undefined) return 0;
  const n = typeof v === 'string' && INTEGER.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_U32) fail(path, 'an unsigned 32-bit integer', v);
  return n;
}

function toBigInt(v: unknown, path: string, expected: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && INTEGER.test(v)) return BigInt(v);
  return fail(path, expected, v);
}

function uint64(v: unknown, path: string): bigint {
  const expected = 'an unsigned 64-bit integer (a decimal string or number)';
  const n = toBigInt(v, path, expected);
  if (n < 0n || n >= U64_LIMIT) fail(path, expected, v);
  return n;
}

function int64(v: unknown, path: string): bigint {
  const expected = 'a 64-bit integer (a decimal string or number)';
  const n = toBigInt(v, path, expected);
  if (n < I64_MIN || n >= I64_LIMIT) fail(path, expected, v);
  return n;
}

function double(v: unknown, path: string): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return fail(path, 'a number', v);
}

function anyValue(r: JsonReader | undefined): AnyValue {
  if (!r) return {};
  if (r.has('stringValue')) return { stringValue: r.str('stringValue') };
  if (r.has('boolValue')) return { boolValue: r.bool('boolValue') };
  if (r.has('intValue')) return { intValue: r.i64('intValue') };
  if (r.has('doubleValue')) return { doubleValue: r.double('doubleValue') };
  if (r.has('arrayValue')) {
    const a = r.child('arrayValue')!;
    return { arrayValue: { values: a.objects('values').map(anyValue) } };
  }
  if (r.has('kvlistValue')) return { kvlistValue: { values: keyValues(r.child('kvlistValue')!, 'values') } };
  if (r.has('bytesValue')) {
    const text = r.str('bytesValue');
    if (!BASE64.test(text)) fail(`${r.path}.bytesValue`, 'base64', text);
    return { bytesValue: new Uint8Array(Buffer.from(text, 'base64')) };
  }
  return {};
}

function keyValues(r: JsonReader, key: string): KeyValue[] {
  return r.objects(key).map((kv) => ({ key: kv.str('key'), value: anyValue(kv.child('value')) }));
}

function resource(r: JsonReader | undefined): Resource {
  if (!r) return { attributes: [] };
  const out: Resource = { attributes: keyValues(r, 'attributes') };
  const dropped = r.u32('droppedAttributesCount');
  if (dropped) out.droppedAttributesCount = dropped;
  return out;
}

function scope(r: JsonReader | undefined): InstrumentationScope | undefined {
  if (!r) return undefined;
  const out: InstrumentationScope = { name: r.str('name') };
  const version = r.str('version');
  if (version) out.version = version;
  const attrs = keyValues(r, 'attributes');
  if (attrs.length) out.attributes = attrs;
  const dropped = r.u32('droppedAttributesCount');
  if (dropped) out.droppedAttributesCount = dropped;
  return out;
}

/** Reads the resource/scope/item nesting every signal shares. */
function grouped<R extends { resource: Resource; schemaUrl?: string }, S extends { scope?: InstrumentationScope; schemaUrl?: string }, I>(
  root: JsonReader,
  keys: { resources: string; scopes: string; items: string },
  item: (r: JsonReader) => I | undefined,
  build: (resource: Resource, scopes: S[]) => R,
  buildScope: (items: I[]) => S,
): R[] {
  return root.objects(keys.resources).map((rr) => {
    const scopes = rr.objects(keys.scopes).map((sr) => {
      const items: I[] = [];
      for (const ir of sr.objects(keys.items)) {
        const it = item(ir);
        if (it !== undefined) items.push(it);
      }
      const s = buildScope(items);
      const sc = scope(sr.child('scope'));
      if (sc) s.scope = sc;
      const schemaUrl = sr.str('schemaUrl');
      if (schemaUrl) s.schemaUrl = schemaUrl;
      return s;
    });
    const out = build(resource(rr.child('resource')), scopes);
    const schemaUrl = rr.str('schemaUrl');
    if (schemaUrl) out.schemaUrl = schemaUrl;
    return out;
  });
}

function span(r: JsonReader): Span {
  const status = r.child('status');
  const out: Span = {
    traceId: r.id('traceId', 16),
    spanId: r.id('spanId', 8),
    name: r.str('name'),
    kind: r.enumValue('kind', ENUMS.spanKind) as SpanKind,
    startTimeUnixNano: r.u64('startTimeUnixNano'),
    endTimeUnixNano: r.u64('endTimeUnixNano'),
    attributes: keyValues(r, 'attributes'),
    events: r.objects('events').map((e) => {
      const event: Span['events'][number] = { timeUnixNano: e.u64('timeUnixNano'), name: e.str('name'), attributes: keyValues(e, 'attributes') };
      const dropped = e.u32('droppedAttributesCount');
      if (dropped) event.droppedAttributesCount = dropped;
      return event;
    }),
    links: r.objects('links').map((l) => {
      const link: Span['links'][number] = { traceId: l.id('traceId', 16), spanId: l.id('spanId', 8), attributes: keyValues(l, 'attributes') };
      const traceState = l.str('traceState');
      if (traceState) link.traceState = traceState;
      const dropped = l.u32('droppedAttributesCount');
      if (dropped) link.droppedAttributesCount = dropped;
      const flags = l.u32('flags');
      if (flags) link.flags = flags;
      return link;
    }),
    status: { code: (status ? status.enumValue('code', ENUMS.statusCode) : 0) as StatusCode },
  };
  const message = status?.str('message');
  if (message) out.status.message = message;
  const traceState = r.str('traceState');
  if (traceState) out.traceState = traceState;
  const parent = r.id('parentSpanId', 8);
  if (parent) out.parentSpanId = parent;
  const flags = r.u32('flags');
  if (flags) out.flags = flags;
  const dropped = r.u32('droppedAttributesCount');
  if (dropped) out.droppedAttributesCount = dropped;
  const droppedEvents = r.u32('droppedEventsCount');
  if (droppedEvents) out.droppedEventsCount = droppedEvents;
  const droppedLinks = r.u32('droppedLinksCount');
  if (droppedLinks) out.droppedLinksCount = droppedLinks;
  return out;
}

export function traces(root: JsonReader): TracesData {
  return {
    resourceSpans: grouped(
      root,
      { resources: 'resourceSpans', scopes: 'scopeSpans', items: 'spans' },
      span,
      (resource, scopeSpans: TracesData['resourceSpans'][number]['scopeSpans']) => ({ resource, scopeSpans }),
      (spans) => ({ spans }),
    ),
  };
}

function exemplars(r: JsonReader): Exemplar[] {
  return r.objects('exemplars').map((e) => {
    const out: Exemplar = { filteredAttributes: keyValues(e, 'filteredAttributes'), timeUnixNano: e.u64('timeUnixNano') };
    if (e.has('asDouble')) out.asDouble = e.double('asDouble');
    else if (e.has('asInt')) out.asInt = e.i64('asInt');
    const spanId = e.id('spanId', 8);
    if (spanId) out.spanId = spanId;
    const traceId = e.id('traceId', 16);
    if (traceId) out.traceId = traceId;
    return out;
  });
}

function pointBase(r: JsonReader, withExemplars: boolean) {
  const out: { attributes: KeyValue[]; timeUnixNano: bigint; startTimeUnixNano?: bigint; flags?: number; exemplars?: Exemplar[] } = {
    attributes: keyValues(r, 'attributes'),
    timeUnixNano: r.u64('timeUnixNano'),
  };
  const start = r.u64('startTimeUnixNano');
  if (start) out.startTimeUnixNano = start;
  const flags = r.u32('flags');
  if (flags) out.flags = flags;
  if (withExemplars) {
    const ex = exemplars(r);
    if (ex.length) out.exemplars = ex;
  }
  return out;
}

function numberPoint(r: JsonReader): NumberDataPoint {
  const out: NumberDataPoint = pointBase(r, true);
  if (r.has('asDouble')) out.asDouble = r.double('asDouble');
  else if (r.has('asInt')) out.asInt = r.i64('asInt');
  return out;
}

function optionalStats(out: { sum?: number; min?: number; max?: number }, r: JsonReader): void {
  const sum = r.optionalDouble('sum');
  if (sum !== undefined) out.sum = sum;
  const min = r.optionalDouble('min');
  if (min !== undefined) out.min = min;
  const max = r.optionalDouble('max');
  if (max !== undefined) out.max = max;
}

function counts(r: JsonReader, key: string): number[] {
  return r.list(key).map(({ value, path }) => Number(uint64(value === null ? undefined : value, path)));
}

function histogramPoint(r: JsonReader): HistogramDataPoint {
  const out: HistogramDataPoint = {
    ...pointBase(r, true),
    count: r.count('count'),
    bucketCounts: counts(r, 'bucketCounts'),
    explicitBounds: r.list('explicitBounds').map(({ value, path }) => double(value === null ? undefined : value, path)),
  };
  optionalStats(out, r);
  return out;
}

function buckets(r: JsonReader | undefined) {
  return r ? { offset: r.i32('offset'), bucketCounts: counts(r, 'bucketCounts') } : { offset: 0, bucketCounts: [] };
}

function exponentialPoint(r: JsonReader): ExponentialHistogramDataPoint {
  const out: ExponentialHistogramDataPoint = {
    ...pointBase(r, true),
    count: r.count('count'),
    scale: r.i32('scale'),
    zeroCount: r.count('zeroCount'),
    positive: buckets(r.child('positive')),
    negative: buckets(r.child('negative')),
  };
  optionalStats(out, r);
  const zeroThreshold = r.double('zeroThreshold');
  if (zeroThreshold) out.zeroThreshold = zeroThreshold;
  return out;
}

function summaryPoint(r: JsonReader): SummaryDataPoint {
  return {
    ...pointBase(r, false),
    count: r.count('count'),
    sum: r.double('sum'),
    quantileValues: r.objects('quantileValues').map((q) => ({ quantile: q.double('quantile'), value: q.double('value') })),
  };
}

function metricData(r: JsonReader): MetricData | undefined {
  const temporality = (d: JsonReader) => d.enumValue('aggregationTemporality', ENUMS.aggregationTemporality) as AggregationTemporality;
  let d: JsonReader | undefined;
  if ((d = r.child('gauge'))) return { type: 'gauge', dataPoints: d.objects('dataPoints').map(numberPoint) };
  if ((d = r.child('sum')))
    return { type: 'sum', aggregationTemporality: temporality(d), isMonotonic: d.bool('isMonotonic'), dataPoints: d.objects('dataPoints').map(numberPoint) };
  if ((d = r.child('histogram'))) return { type: 'histogram', aggregationTemporality: temporality(d), dataPoints: d.objects('dataPoints').map(histogramPoint) };
  if ((d = r.child('exponentialHistogram')))
    return { type: 'exponentialHistogram', aggregationTemporality: temporality(d), dataPoints: d.objects('dataPoints').map(exponentialPoint) };
  if ((d = r.child('summary'))) return { type: 'summary', dataPoints: d.objects('dataPoints').map(summaryPoint) };
  return undefined;
}

function metric(r: JsonReader): Metric | undefined {
  const data = metricData(r);
  // A metric with no data type carries no points (the Collector calls it Empty): nothing to keep.
  if (!data) return undefined;
  const out: Metric = { name: r.str('name'), data };
  const description = r.str('description');
  if (description) out.description = description;
  const unit = r.str('unit');
  if (unit) out.unit = unit;
  const metadata = keyValues(r, 'metadata');
  if (metadata.length) out.metadata = metadata;
  return out;
}

export function metricsData(root: JsonReader): MetricsData {
  return {
    resourceMetrics: grouped(
      root,
      { resources: 'resourceMetrics', scopes: 'scopeMetrics', items: 'metrics' },
      metric,
      (resource, scopeMetrics: MetricsData['resourceMetrics'][number]['scopeMetrics']) => ({ resource, scopeMetrics }),
      (metrics) => ({ metrics }),
    ),
  };
}

function logRecord(r: JsonReader): LogRecord {
  const out: LogRecord = {
    timeUnixNano: r.u64('timeUnixNano'),
    observedTimeUnixNano: r.u64('observedTimeUnixNano'),
    attributes: keyValues(r, 'attributes'),
  };
  const severity = r.enumValue('severityNumber', ENUMS.severityNumber);
  if (severity) out.severityNumber = severity;
  const severityText = r.str('severityText');
  if (severityText) out.severityText = severityText;
  // An empty body is no body: the Collector's pdata cannot tell them apart and writes `{}` for both.
  const body = anyValue(r.child('body'));
  if (Object.keys(body).length) out.body = body;
  const dropped = r.u32('droppedAttributesCount');
  if (dropped) out.droppedAttributesCount = dropped;
  const flags = r.u32('flags');
  if (flags) out.flags = flags;
  const traceId = r.id('traceId', 16);
  if (traceId) out.traceId = traceId;
  const spanId = r.id('spanId', 8);
  if (spanId) out.spanId = spanId;
  const eventName = r.str('eventName');
  if (eventName) out.eventName = eventName;
  return out;
}

export function logs(root: JsonReader): LogsData {
  return {
    resourceLogs: grouped(
      root,
      { resources: 'resourceLogs', scopes: 'scopeLogs', items: 'logRecords' },
      logRecord,
      (resource, scopeLogs: LogsData['resourceLogs'][number]['scopeLogs']) => ({ resource, scopeLogs }),
      (logRecords) => ({ logRecords }),
    ),
  };
}

/** A bare number of 16 or more digits: the only kind that can be an integer beyond 2^53. */
const LONG_NUMBER = /[:,[]\s*-?\d{16}/;

/**
 * Parses JSON keeping integers beyond 2^53 exact (as bigint) when they are written as bare
 * numbers, using the reviver's view of the source text. A reviver makes parsing several times
 * slower, so only a text that holds such a number pays for it.
 */
export function parseJson(text: string): JsonReader {
  let value: unknown;
  try {
    value = LONG_NUMBER.test(text)
      ? JSON.parse(text, (_key, v: unknown, context?: { source?: string }) =>
          typeof v === 'number' && !Number.isSafeInteger(v) && context?.source !== undefined && INTEGER.test(context.source) ? BigInt(context.source) : v,
        )
      : JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError(`invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  return new JsonReader(value, '');
}

export type { JsonReader };
