// The spanmetrics connector: request count, error count (calls with status.code
// STATUS_CODE_ERROR) and duration histograms per service, span name, kind, status and configured
// dimensions, from a traces pipeline into a metrics pipeline, as the Collector's
// spanmetricsconnector. Metrics go out every metrics_flush_interval (and at shutdown).
import type { Connector, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { anyValueToString, type AnyValue, type InstrumentationScope, type KeyValue, nowUnixNano } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Exemplar, type Metric, type MetricsData, type NumberDataPoint, type ResourceMetrics } from '../../src/pdata/metrics.ts';
import type { Span, TracesData } from '../../src/pdata/traces.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { attributesKey } from '../../processors/metrics_aggregation/keys.ts';
import { OVERFLOW_ATTRIBUTE } from '../../processors/metrics_aggregation/store.ts';
import { emptyHist, type Hist, observe, toHistogramPoint } from '../../processors/metrics_aggregation/values.ts';
import { DEFAULT_BUCKETS_MS, type Dimension, type SpanMetricsConfig } from './config.ts';
import { ExpoHistogram } from './expo.ts';

export const SCOPE_NAME = 'spanmetricsconnector';
export const SPAN_KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

interface Series {
  attributes: KeyValue[];
  calls: bigint;
  hist?: Hist | ExpoHistogram;
  exemplars: Exemplar[];
  startNs: bigint;
}

interface ResourceState {
  attributes: KeyValue[];
  calls: Map<string, Series>;
  events: Map<string, Series>;
  lastSeenMs: number;
}

/** The value of a dimension: the span's attribute, else the resource's, else its default. */
export function dimensionValue(d: Dimension, ...lists: (readonly KeyValue[])[]): AnyValue | undefined {
  for (const list of lists) {
    const kv = list.find((a) => a.key === d.name);
    if (kv) return kv.value;
  }
  return d.default === undefined ? undefined : { stringValue: d.default };
}

export class SpanMetricsConnector implements Connector<'traces'> {
  readonly capabilities = { mutatesData: false };
  readonly #config: SpanMetricsConfig;
  readonly #next: Consumer<'metrics'>;
  readonly #logger: Logger;
  readonly #resources = new Map<string, ResourceState>();
  readonly #lastDelta = new Map<string, bigint>();
  readonly #delta: boolean;
  readonly #divider: number;
  readonly #bounds: number[] | undefined;
  readonly #exclude: Set<string>;
  readonly #overflow: Counter;
  readonly #skipped: Counter;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(settings: CreateSettings, config: SpanMetricsConfig, next: Consumer<'metrics'>) {
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#delta = config.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA';
    this.#divider = config.histogram.unit === 's' ? 1e9 : 1e6;
    const perUnit = config.histogram.unit === 's' ? 1000 : 1;
    this.#bounds = config.histogram.exponential ? undefined : (config.histogram.explicit?.buckets ?? DEFAULT_BUCKETS_MS).map((ms) => ms / perUnit);
    this.#exclude = new Set(config.exclude_dimensions);
    this.#overflow = settings.telemetry.counter('connector_spanmetrics_overflow_spans', 'Spans counted in the overflow series because their resource reached aggregation_cardinality_limit.', '{spans}');
    this.#skipped = settings.telemetry.counter('connector_spanmetrics_skipped_spans', 'Spans not counted because their resource has no service.name.', '{spans}');
    settings.telemetry.gauge('connector_spanmetrics_series', 'Series held.', () => {
      let n = 0;
      for (const r of this.#resources.values()) n += r.calls.size + r.events.size;
      return n;
    }, '{series}');
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.flush(), this.#config.metrics_flush_interval);
    this.#timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async consume(data: TracesData): Promise<void> {
    const nowNs = nowUnixNano();
    for (const rs of data.resourceSpans) {
      const resourceAttrs = rs.resource.attributes;
      const service = resourceAttrs.find((a) => a.key === 'service.name');
      if (!service) {
        this.#skipped.add(rs.scopeSpans.reduce((n, s) => n + s.spans.length, 0));
        continue;
      }
      const serviceName = anyValueToString(service.value);
      const state = this.#resource(resourceAttrs);
      for (const ss of rs.scopeSpans) {
        const scope = ss.scope && this.#config.include_instrumentation_scope.includes(ss.scope.name) ? ss.scope : undefined;
        for (const span of ss.spans) {
          const duration = span.endTimeUnixNano > span.startTimeUnixNano ? Number(span.endTimeUnixNano - span.startTimeUnixNano) / this.#divider : 0;
          const attrs = this.#attributes(serviceName, span, resourceAttrs, this.#config.dimensions, scope);
          const series = this.#series(state.calls, attrs, nowNs);
          series.calls++;
          if (!this.#config.histogram.disable) {
            series.hist ??= this.#bounds ? emptyHist([...this.#bounds]) : new ExpoHistogram(this.#config.histogram.exponential?.max_size);
            if (series.hist instanceof ExpoHistogram) series.hist.record(duration);
            else observe(series.hist, duration);
          }
          this.#exemplar(series, span, duration);
          if (this.#config.events.enabled) {
            for (const event of span.events) {
              const eattrs = this.#attributes(serviceName, span, [...event.attributes, ...resourceAttrs], [...this.#config.dimensions, ...this.#config.events.dimensions], scope);
              const e = this.#series(state.events, eattrs, nowNs);
              e.calls++;
              this.#exemplar(e, span, duration);
            }
          }
        }
      }
    }
  }

  /** Sends the metrics held now (one flush at a time). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const out = this.#build(nowUnixNano());
      if (out.resourceMetrics.length === 0) return;
      try {
        await this.#next.consume(out);
      } catch (error) {
        this.#logger.error('sending span metrics failed', { error });
      }
    });
    return this.#flushing;
  }

  #resource(attrs: readonly KeyValue[]): ResourceState {
    const keyAttrs = this.#config.resource_metrics_key_attributes;
    const key = attributesKey(keyAttrs.length ? attrs.filter((a) => keyAttrs.includes(a.key)) : attrs);
    let state = this.#resources.get(key);
    if (state) this.#resources.delete(key); // re-inserted below: most recently seen last
    else state = { attributes: structuredClone(attrs as KeyValue[]), calls: new Map(), events: new Map(), lastSeenMs: 0 };
    state.lastSeenMs = Date.now();
    this.#resources.set(key, state);
    while (this.#resources.size > this.#config.resource_metrics_cache_size) this.#resources.delete(this.#resources.keys().next().value!);
    return state;
  }

  #attributes(service: string, span: Span, resourceOrEvent: readonly KeyValue[], dims: readonly Dimension[], scope: InstrumentationScope | undefined): KeyValue[] {
    const out: KeyValue[] = [];
    const put = (key: string, value: string) => {
      if (!this.#exclude.has(key)) out.push({ key, value: { stringValue: value } });
    };
    put('service.name', service);
    put('span.name', span.name);
    put('span.kind', SPAN_KIND_NAMES[span.kind] ?? SPAN_KIND_NAMES[0]!);
    put('status.code', STATUS_CODE_NAMES[span.status.code] ?? STATUS_CODE_NAMES[0]!);
    for (const d of dims) {
      const v = dimensionValue(d, span.attributes, resourceOrEvent);
      if (v !== undefined) out.push({ key: d.name, value: structuredClone(v) });
    }
    if (scope) {
      out.push({ key: 'span.instrumentation.scope.name', value: { stringValue: scope.name } });
      if (scope.version) out.push({ key: 'span.instrumentation.scope.version', value: { stringValue: scope.version } });
    }
    return out;
  }

  #series(map: Map<string, Series>, attrs: KeyValue[], nowNs: bigint): Series {
    let key = attributesKey(attrs);
    let series = map.get(key);
    if (series) return series;
    const limit = this.#config.aggregation_cardinality_limit;
    if (limit > 0 && map.size >= limit) {
      this.#overflow.add(1);
      key = OVERFLOW_KEY;
      series = map.get(key);
      if (series) return series;
      attrs = [{ key: OVERFLOW_ATTRIBUTE, value: { boolValue: true } }];
    }
    series = { attributes: attrs, calls: 0n, exemplars: [], startNs: nowNs };
    map.set(key, series);
    return series;
  }

  #exemplar(series: Series, span: Span, duration: number): void {
    if (!this.#config.exemplars.enabled || /^0*$/.test(span.traceId)) return;
    if (series.exemplars.length >= this.#config.exemplars.max_per_data_point) return;
    series.exemplars.push({ filteredAttributes: [], timeUnixNano: span.endTimeUnixNano, asDouble: duration, traceId: span.traceId, spanId: span.spanId });
  }

  #build(nowNs: bigint): MetricsData {
    const temporality = this.#delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const expiredBefore = this.#config.metrics_expiration > 0 ? Date.now() - this.#config.metrics_expiration : -Infinity;
    const ns = this.#config.namespace;
    const name = (n: string) => (ns ? `${ns}.${n}` : n);
    const out: ResourceMetrics[] = [];
    for (const [rkey, state] of this.#resources) {
      if (state.lastSeenMs < expiredBefore) {
        this.#resources.delete(rkey);
        continue;
      }
      const startOf = (key: string, s: Series) => (this.#delta ? (this.#lastDelta.get(rkey + key) ?? s.startNs) : s.startNs);
      const metrics: Metric[] = [];
      const sumOf = (map: Map<string, Series>): NumberDataPoint[] =>
        [...map].map(([key, s]) => ({ attributes: structuredClone(s.attributes), startTimeUnixNano: startOf(key, s), timeUnixNano: nowNs, asInt: s.calls, ...(s.exemplars.length && { exemplars: structuredClone(s.exemplars) }) }));
      if (state.calls.size) {
        metrics.push({ name: name('calls'), data: { type: 'sum', aggregationTemporality: temporality, isMonotonic: true, dataPoints: sumOf(state.calls) } });
        if (!this.#config.histogram.disable) {
          const points = [...state.calls].map(([key, s]) => {
            const attrs = structuredClone(s.attributes);
            const p = s.hist instanceof ExpoHistogram ? s.hist.toPoint(attrs, startOf(key, s), nowNs) : toHistogramPoint(s.hist ?? emptyHist([...(this.#bounds ?? [])]), attrs, startOf(key, s), nowNs);
            if (s.exemplars.length) p.exemplars = structuredClone(s.exemplars);
            return p;
          });
          const unit = this.#config.histogram.unit;
          metrics.push(this.#bounds
            ? { name: name('duration'), unit, data: { type: 'histogram', aggregationTemporality: temporality, dataPoints: points as never } }
            : { name: name('duration'), unit, data: { type: 'exponentialHistogram', aggregationTemporality: temporality, dataPoints: points as never } });
        }
      }
      if (this.#config.events.enabled && state.events.size) {
        metrics.push({ name: name('events'), data: { type: 'sum', aggregationTemporality: temporality, isMonotonic: true, dataPoints: sumOf(state.events) } });
      }
      if (metrics.length) out.push({ resource: { attributes: structuredClone(state.attributes) }, scopeMetrics: [{ scope: { name: SCOPE_NAME }, metrics }] });
      if (this.#delta) {
        for (const key of [...state.calls.keys(), ...state.events.keys()]) this.#rememberDelta(rkey + key, nowNs);
        state.calls.clear();
        state.events.clear();
      } else {
        for (const s of [...state.calls.values(), ...state.events.values()]) s.exemplars = [];
      }
    }
    if (this.#delta) this.#resources.clear();
    return { resourceMetrics: out };
  }

  #rememberDelta(key: string, nowNs: bigint): void {
    this.#lastDelta.delete(key);
    this.#lastDelta.set(key, nowNs);
    while (this.#lastDelta.size > this.#config.metric_timestamp_cache_size) this.#lastDelta.delete(this.#lastDelta.keys().next().value!);
  }
}

const OVERFLOW_KEY = '\u0000overflow';
