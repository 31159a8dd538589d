// The output side of an aggregation: series keyed by resource, scope, metric and (reduced)
// attributes, each accumulating increments until the next flush. Delta output starts every
// window afresh; cumulative output keeps running totals until a series expires. A metric holds at
// most `maxSeries` series; points for new series beyond that go to one overflow series
// (`otel.metric.overflow=true`, as the OpenTelemetry SDKs do), and the caller counts them.
import type { InstrumentationScope, KeyValue, Resource } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData, type NumberDataPoint, type ResourceMetrics, type ScopeMetrics } from '../../src/pdata/metrics.ts';
import { add, emptyHist, type Hist, mergeInto, type Num, sameBounds, setNumber, toHistogramPoint } from './values.ts';

export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

export type Temporality = 'delta' | 'cumulative';
export type GaugeCombine = 'sum' | 'min' | 'max' | 'mean' | 'last';

export interface MetricDescriptor {
  name: string;
  unit?: string;
  description?: string;
}

/** Where a point goes: everything that names its output series. */
export interface Target {
  resource: Resource;
  resourceKey: string;
  scope: InstrumentationScope | undefined;
  scopeKey: string;
  metric: MetricDescriptor;
  attributes: KeyValue[];
  attributesKey: string;
}

type Acc =
  | { kind: 'sum'; value: Num }
  | { kind: 'histogram'; hist: Hist }
  | { kind: 'gauge'; inputs: Map<string, { value: Num; time: bigint }> };

interface Series {
  attributes: KeyValue[];
  acc: Acc;
  startNs: bigint;
  touched: boolean;
  lastUpdateMs: number;
}

interface MetricEntry {
  resource: Resource;
  resourceKey: string;
  scope: InstrumentationScope | undefined;
  scopeKey: string;
  descriptor: MetricDescriptor;
  kind: Acc['kind'];
  monotonic: boolean;
  series: Map<string, Series>;
}

export type AddResult = 'ok' | 'overflow' | 'bounds_mismatch';

export interface StoreOptions {
  temporality: Temporality;
  /** Series per metric (per resource and scope); 0 means no limit. */
  maxSeries: number;
  /** Cumulative series not updated for this long are forgotten; 0 keeps them. */
  expirationMs: number;
  gaugeCombine: GaugeCombine;
  startUnixNano: bigint;
  nowMs?: () => number;
}

export class AggregationStore {
  readonly #metrics = new Map<string, MetricEntry>();
  readonly #options: StoreOptions;
  readonly #nowMs: () => number;
  #windowStart: bigint;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#windowStart = options.startUnixNano;
  }

  /** Live series over all metrics. */
  get seriesCount(): number {
    let n = 0;
    for (const m of this.#metrics.values()) n += m.series.size;
    return n;
  }

  addSum(t: Target, monotonic: boolean, value: Num, timeNs: bigint): AddResult {
    const { series, result } = this.#series(t, 'sum', monotonic, timeNs, () => ({ kind: 'sum', value: typeof value === 'bigint' ? 0n : 0 }));
    const acc = series.acc as Extract<Acc, { kind: 'sum' }>;
    acc.value = add(acc.value, value);
    return result;
  }

  addHistogram(t: Target, hist: Hist, timeNs: bigint): AddResult {
    const { series, result } = this.#series(t, 'histogram', false, timeNs, () => ({ kind: 'histogram', hist: emptyHist([...hist.bounds]) }));
    const acc = series.acc as Extract<Acc, { kind: 'histogram' }>;
    let restarted = false;
    if (!sameBounds(acc.hist.bounds, hist.bounds)) {
      // The source changed its bounds: the series starts again with the newer ones.
      restarted = acc.hist.count > 0;
      acc.hist = emptyHist([...hist.bounds]);
      if (restarted) series.startNs = this.#windowStart;
    }
    mergeInto(acc.hist, hist);
    return restarted ? 'bounds_mismatch' : result;
  }

  /** A gauge's latest value from one input series; the inputs of an output series are combined at flush. */
  setGauge(t: Target, inputKey: string, value: Num, timeNs: bigint): AddResult {
    const { series, result } = this.#series(t, 'gauge', false, timeNs, () => ({ kind: 'gauge', inputs: new Map() }));
    const acc = series.acc as Extract<Acc, { kind: 'gauge' }>;
    const before = acc.inputs.get(inputKey);
    if (!before || before.time <= timeNs) acc.inputs.set(inputKey, { value, time: timeNs });
    return result;
  }

  /** Everything due at `nowNs`, as metrics; resets delta state. */
  flush(nowNs: bigint): MetricsData {
    const resources = new Map<string, ResourceMetrics>();
    const scopes = new Map<string, ScopeMetrics>();
    const delta = this.#options.temporality === 'delta';
    const oldestMs = this.#nowMs() - this.#options.expirationMs;
    for (const [metricKey, entry] of this.#metrics) {
      const metric = this.#build(entry, nowNs, delta);
      if (!delta && this.#options.expirationMs > 0) {
        for (const [k, s] of entry.series) if (s.lastUpdateMs < oldestMs) entry.series.delete(k);
      }
      if (entry.series.size === 0) this.#metrics.delete(metricKey);
      if (!metric) continue;
      let rm = resources.get(entry.resourceKey);
      if (!rm) {
        rm = { resource: structuredClone(entry.resource), scopeMetrics: [] };
        resources.set(entry.resourceKey, rm);
      }
      const sk = entry.resourceKey + '\u0000' + entry.scopeKey;
      let sm = scopes.get(sk);
      if (!sm) {
        sm = { metrics: [] };
        if (entry.scope) sm.scope = structuredClone(entry.scope);
        scopes.set(sk, sm);
        rm.scopeMetrics.push(sm);
      }
      sm.metrics.push(metric);
    }
    this.#windowStart = nowNs;
    return { resourceMetrics: [...resources.values()] };
  }

  #build(entry: MetricEntry, nowNs: bigint, delta: boolean): Metric | undefined {
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const numbers: NumberDataPoint[] = [];
    const hists = [];
    for (const [key, s] of entry.series) {
      if (!s.touched && (delta || s.acc.kind === 'gauge')) continue;
      const attributes = structuredClone(s.attributes);
      const start = delta ? this.#windowStart : s.startNs;
      if (s.acc.kind === 'sum') {
        const p: NumberDataPoint = { attributes, startTimeUnixNano: start, timeUnixNano: nowNs };
        setNumber(p, s.acc.value);
        numbers.push(p);
      } else if (s.acc.kind === 'histogram') {
        hists.push(toHistogramPoint(s.acc.hist, attributes, start, nowNs));
      } else {
        const p: NumberDataPoint = { attributes, timeUnixNano: nowNs };
        setNumber(p, combine([...s.acc.inputs.values()], this.#options.gaugeCombine));
        numbers.push(p);
        s.acc.inputs.clear();
      }
      s.touched = false;
      if (delta) entry.series.delete(key);
    }
    const base = { name: entry.descriptor.name } as Metric;
    if (entry.descriptor.unit !== undefined) base.unit = entry.descriptor.unit;
    if (entry.descriptor.description !== undefined) base.description = entry.descriptor.description;
    if (entry.kind === 'histogram') {
      if (hists.length === 0) return undefined;
      return { ...base, data: { type: 'histogram', aggregationTemporality: temporality, dataPoints: hists } };
    }
    if (numbers.length === 0) return undefined;
    if (entry.kind === 'gauge') return { ...base, data: { type: 'gauge', dataPoints: numbers } };
    return { ...base, data: { type: 'sum', aggregationTemporality: temporality, isMonotonic: entry.monotonic, dataPoints: numbers } };
  }

  #series(t: Target, kind: Acc['kind'], monotonic: boolean, timeNs: bigint, init: () => Acc): { series: Series; result: AddResult } {
    const metricKey = `${t.resourceKey}\u0000${t.scopeKey}\u0000${t.metric.name}\u0000${kind}`;
    let entry = this.#metrics.get(metricKey);
    if (!entry) {
      entry = { resource: structuredClone(t.resource), resourceKey: t.resourceKey, scope: t.scope && structuredClone(t.scope), scopeKey: t.scopeKey, descriptor: t.metric, kind, monotonic, series: new Map() };
      this.#metrics.set(metricKey, entry);
    }
    let key = t.attributesKey;
    let attributes = t.attributes;
    let result: AddResult = 'ok';
    if (!entry.series.has(key) && this.#options.maxSeries > 0 && entry.series.size >= this.#options.maxSeries) {
      key = OVERFLOW_KEY;
      attributes = [{ key: OVERFLOW_ATTRIBUTE, value: { boolValue: true } }];
      result = 'overflow';
    }
    let series = entry.series.get(key);
    if (!series) {
      const startNs = this.#options.temporality === 'delta' ? this.#windowStart : minTime(timeNs, this.#windowStart);
      series = { attributes: structuredClone(attributes), acc: init(), startNs, touched: false, lastUpdateMs: 0 };
      entry.series.set(key, series);
    }
    series.touched = true;
    series.lastUpdateMs = this.#nowMs();
    return { series, result };
  }
}

const OVERFLOW_KEY = '\u0000overflow';

/** A cumulative series starts when it was first seen, but never before the store began. */
function minTime(timeNs: bigint, windowStart: bigint): bigint {
  return timeNs > windowStart ? windowStart : timeNs;
}

/** Combines the latest values of the inputs of one gauge series. */
export function combine(inputs: { value: Num; time: bigint }[], how: GaugeCombine): Num {
  if (inputs.length === 0) return 0;
  const values = inputs.map((i) => i.value);
  switch (how) {
    case 'last':
      return inputs.reduce((a, b) => (b.time >= a.time ? b : a)).value;
    case 'min':
      return values.reduce((a, b) => (Number(b) < Number(a) ? b : a));
    case 'max':
      return values.reduce((a, b) => (Number(b) > Number(a) ? b : a));
    case 'mean':
      return values.reduce<number>((a, b) => a + Number(b), 0) / values.length;
    case 'sum':
      return values.reduce((a, b) => add(a, b));
  }
}
