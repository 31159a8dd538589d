// Request metrics from the same exchanges as the spans: duration histograms with the
// low-cardinality attributes the semantic conventions name, per process (resource). Cumulative;
// a series not updated for 5 minutes is dropped; beyond max_series per metric, points fold into a
// series marked otel.metric.overflow=true.
import type { KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData, type ResourceMetrics } from '../../src/pdata/metrics.ts';
import { VERSION } from '../../src/version.ts';
import type { ProcessResource } from './processes.ts';
import type { RequestMetricName } from './protocols/types.ts';

export const SCOPE_NAME = 'bpfcol/receiver/socket_trace';

const HTTP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const DB_BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
/** rpc.*.duration are in milliseconds (their semantic conventions): the HTTP bounds, scaled. */
const RPC_BOUNDS = HTTP_BOUNDS.map((b) => Math.round(b * 1000));

export const METRIC_SPECS: Record<RequestMetricName, { description: string; bounds: number[]; unit?: string; scale?: number }> = {
  'http.server.request.duration': { description: 'Duration of HTTP server requests', bounds: HTTP_BOUNDS },
  'http.client.request.duration': { description: 'Duration of HTTP client requests', bounds: HTTP_BOUNDS },
  'db.client.operation.duration': { description: 'Duration of database client operations', bounds: DB_BOUNDS },
  'db.server.operation.duration': { description: 'Duration of operations a database server answered, seen on its side of the connection', bounds: DB_BOUNDS },
  'rpc.server.duration': { description: 'Duration of inbound RPCs (gRPC)', bounds: RPC_BOUNDS, unit: 'ms', scale: 1000 },
  'rpc.client.duration': { description: 'Duration of outbound RPCs (gRPC)', bounds: RPC_BOUNDS, unit: 'ms', scale: 1000 },
  'messaging.client.operation.duration': { description: 'Duration of messaging operations initiated by a producer or consumer client', bounds: HTTP_BOUNDS },
  'messaging.server.operation.duration': { description: 'Duration of requests a message broker answered, seen on its side of the connection', bounds: HTTP_BOUNDS },
  'dns.lookup.duration': { description: 'Measures the time taken to perform a DNS lookup.', bounds: HTTP_BOUNDS },
};

const EXPIRE_NS = 5n * 60n * 1_000_000_000n;
const OVERFLOW: KeyValue = { key: 'otel.metric.overflow', value: { boolValue: true } };

export interface Series {
  /** Dropped (idle for 5 minutes): a caller's cached reference must look it up again. */
  dead?: boolean;
  resource: ProcessResource;
  metric: RequestMetricName;
  attributes: KeyValue[];
  startNs: bigint;
  lastNs: bigint;
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: number[];
}

/** A key for an attribute list (protocols pass cheaper keys of their own). */
export function keyOf(attributes: KeyValue[]): string {
  let k = '';
  for (const a of attributes) {
    const v = a.value as { stringValue?: string; intValue?: bigint; boolValue?: boolean };
    k += `${a.key}=${v.stringValue ?? v.intValue ?? v.boolValue ?? ''}\u0000`;
  }
  return k;
}

export class RequestMetrics {
  readonly #series = new Map<string, Series>();
  readonly #perMetric = new Map<RequestMetricName, number>();
  readonly #maxSeries: number;
  /** Points folded into overflow series, per metric. */
  readonly folded = new Map<RequestMetricName, number>();

  constructor(maxSeries: number) {
    this.#maxSeries = maxSeries;
  }

  /** `attributesKey` identifies the attribute set; `attributes` makes it (called for a new series only). */
  record(resource: ProcessResource, metric: RequestMetricName, attributes: () => KeyValue[], seconds: number, nowNs: bigint, attributesKey: string): Series {
    const s = this.series(resource, metric, attributes, nowNs, attributesKey);
    this.observe(s, seconds, nowNs);
    return s;
  }

  /** The series for an attribute set (made, or folded into the overflow series, when new). */
  series(resource: ProcessResource, metric: RequestMetricName, attributes: () => KeyValue[], nowNs: bigint, attributesKey: string): Series {
    let key = `${resource.key}|${metric}|${attributesKey}`;
    let s = this.#series.get(key);
    if (!s) {
      const n = this.#perMetric.get(metric) ?? 0;
      let attrs = attributes();
      if (n >= this.#maxSeries) {
        key = `${resource.key}|${metric}|overflow`;
        attrs = [OVERFLOW];
        this.folded.set(metric, (this.folded.get(metric) ?? 0) + 1);
        s = this.#series.get(key);
      }
      if (!s) {
        const bounds = METRIC_SPECS[metric].bounds;
        s = { resource, metric, attributes: attrs, startNs: nowNs, lastNs: nowNs, count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array(bounds.length + 1).fill(0) };
        this.#series.set(key, s);
        this.#perMetric.set(metric, (this.#perMetric.get(metric) ?? 0) + 1);
      }
    }
    return s;
  }

  /** Adds one duration to a series. */
  observe(s: Series, seconds: number, nowNs: bigint): void {
    const spec = METRIC_SPECS[s.metric];
    const bounds = spec.bounds;
    if (spec.scale !== undefined) seconds *= spec.scale; // in the metric's unit from here
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    s.buckets[i]!++;
    s.count++;
    s.sum += seconds;
    if (seconds < s.min) s.min = seconds;
    if (seconds > s.max) s.max = seconds;
    s.lastNs = nowNs;
  }

  /**
   * Adds a histogram measured elsewhere (the kernel: kernel-http.ts) to a series: counts per bucket
   * of the metric's bounds, their sum, min and max, all in seconds.
   */
  merge(s: Series, h: { count: number; sum: number; min: number; max: number; buckets: readonly number[] }, nowNs: bigint): void {
    if (h.buckets.length !== s.buckets.length) throw new Error(`${s.metric}: ${h.buckets.length} buckets merged into ${s.buckets.length}`);
    h.buckets.forEach((n, i) => (s.buckets[i]! += n));
    s.count += h.count;
    s.sum += h.sum;
    if (h.min < s.min) s.min = h.min;
    if (h.max > s.max) s.max = h.max;
    s.lastNs = nowNs;
  }

  seriesCounts(): Record<string, number> {
    return Object.fromEntries(this.#perMetric);
  }

  /** Every live series (cumulative), series idle for 5 minutes dropped first. */
  build(nowNs: bigint): MetricsData {
    const byResource = new Map<string, { resource: ProcessResource; metrics: Map<RequestMetricName, Series[]> }>();
    for (const [key, s] of this.#series) {
      if (nowNs - s.lastNs > EXPIRE_NS) {
        s.dead = true;
        this.#series.delete(key);
        this.#perMetric.set(s.metric, (this.#perMetric.get(s.metric) ?? 1) - 1);
        continue;
      }
      let r = byResource.get(s.resource.key);
      if (!r) byResource.set(s.resource.key, (r = { resource: s.resource, metrics: new Map() }));
      const list = r.metrics.get(s.metric) ?? [];
      list.push(s);
      r.metrics.set(s.metric, list);
    }
    const resourceMetrics: ResourceMetrics[] = [];
    for (const { resource, metrics } of byResource.values()) {
      const out: Metric[] = [];
      for (const [name, series] of metrics) {
        out.push({
          name,
          description: METRIC_SPECS[name].description,
          unit: METRIC_SPECS[name].unit ?? 's',
          data: {
            type: 'histogram',
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPoints: series.map((s) => ({
              attributes: s.attributes.map((a) => ({ key: a.key, value: a.value })),
              startTimeUnixNano: s.startNs,
              timeUnixNano: nowNs,
              count: s.count,
              sum: s.sum,
              min: s.min,
              max: s.max,
              bucketCounts: [...s.buckets],
              explicitBounds: METRIC_SPECS[name].bounds,
            })),
          },
        });
      }
      resourceMetrics.push({ resource: { attributes: resource.attributes.map((a) => ({ key: a.key, value: a.value })) }, scopeMetrics: [{ scope: { name: SCOPE_NAME, version: VERSION }, metrics: out }] });
    }
    return { resourceMetrics };
  }
}
