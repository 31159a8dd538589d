// Building one collection's MetricsData: a resource per node, cgroup and process, each with its
// metrics, points added as they are read. Instruments map to OTLP as the OpenTelemetry SDK maps
// them: counter -> monotonic cumulative sum, updowncounter -> non-monotonic cumulative sum,
// gauge -> gauge; histogram -> cumulative histogram.
import type { KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type HistogramDataPoint, type Metric, type MetricsData, type NumberDataPoint } from '../../src/pdata/metrics.ts';
import { VERSION } from '../../src/version.ts';

export const SCOPE_NAME = 'bpfcol/receiver/resources';

export type Instrument = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

export interface MetricSpec {
  name: string;
  unit: string;
  description: string;
  instrument: Instrument;
  /** int values are written as asInt, double as asDouble. */
  value: 'int' | 'double';
}

export class ResourceBuilder {
  readonly attributes: KeyValue[];
  readonly #metrics = new Map<string, Metric>();
  readonly #timeUnixNano: bigint;

  constructor(attributes: KeyValue[], timeUnixNano: bigint) {
    this.attributes = attributes;
    this.#timeUnixNano = timeUnixNano;
  }

  #metric(spec: MetricSpec): Metric {
    let m = this.#metrics.get(spec.name);
    if (m) return m;
    const temporality = AggregationTemporality.CUMULATIVE;
    m = {
      name: spec.name,
      unit: spec.unit,
      description: spec.description,
      data:
        spec.instrument === 'gauge'
          ? { type: 'gauge', dataPoints: [] }
          : spec.instrument === 'histogram'
            ? { type: 'histogram', aggregationTemporality: temporality, dataPoints: [] }
            : { type: 'sum', aggregationTemporality: temporality, isMonotonic: spec.instrument === 'counter', dataPoints: [] },
    };
    this.#metrics.set(spec.name, m);
    return m;
  }

  /** Adds a point (sums need the start of their cumulative count; gauges ignore it). Non-finite values are skipped. */
  add(spec: MetricSpec, value: number | undefined, attributes: KeyValue[] = [], startTimeUnixNano?: bigint): void {
    if (value === undefined || !Number.isFinite(value)) return;
    const point: NumberDataPoint = { attributes: copy(attributes), timeUnixNano: this.#timeUnixNano };
    if (spec.value === 'int') point.asInt = BigInt(Math.round(value));
    else point.asDouble = value;
    if (spec.instrument !== 'gauge' && startTimeUnixNano !== undefined) point.startTimeUnixNano = startTimeUnixNano;
    const data = this.#metric(spec).data;
    if (data.type === 'gauge' || data.type === 'sum') data.dataPoints.push(point);
  }

  histogram(spec: MetricSpec, point: Omit<HistogramDataPoint, 'timeUnixNano'>): void {
    const data = this.#metric(spec).data;
    if (data.type === 'histogram') data.dataPoints.push({ ...point, attributes: copy(point.attributes), timeUnixNano: this.#timeUnixNano });
  }

  get empty(): boolean {
    return this.#metrics.size === 0;
  }

  metrics(): Metric[] {
    return [...this.#metrics.values()];
  }
}

export class CollectionBuilder {
  readonly timeUnixNano: bigint;
  readonly #resources: ResourceBuilder[] = [];

  constructor(timeUnixNano: bigint) {
    this.timeUnixNano = timeUnixNano;
  }

  resource(attributes: KeyValue[]): ResourceBuilder {
    const r = new ResourceBuilder(attributes, this.timeUnixNano);
    this.#resources.push(r);
    return r;
  }

  build(): MetricsData {
    return {
      resourceMetrics: this.#resources
        .filter((r) => !r.empty)
        .map((r) => ({
          resource: { attributes: copy(r.attributes) },
          scopeMetrics: [{ scope: { name: SCOPE_NAME, version: VERSION }, metrics: r.metrics() }],
        })),
    };
  }
}

// Collectors reuse attribute lists from one collection to the next; what leaves is a copy, since a
// processor downstream may change the data it is given in place.
function copy(list: KeyValue[]): KeyValue[] {
  return list.map((kv) => ({ key: kv.key, value: kv.value }));
}

/** Attribute constructors. */
export const attr = {
  str: (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } }),
  int: (key: string, value: number | bigint): KeyValue => ({ key, value: { intValue: BigInt(value) } }),
};
