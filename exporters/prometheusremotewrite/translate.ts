// OTLP metrics to remote-write time series, as the Collector's prometheusremotewrite translator
// does it, with the names of the standard OTel -> Prometheus translation (exporters/prometheus):
// gauges and cumulative sums become one sample per point, histograms classic `_bucket{le}`,
// `_sum` and `_count` series (exponential ones converted to classic buckets, as the prometheus
// exporter serves them), summaries `{quantile}`, `_sum` and `_count`; each resource becomes a
// target_info series; job and instance come from service.* attributes. Delta sums and histograms
// have no remote-write form: they are dropped and counted, as the Collector does.
import type { KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData } from '../../src/pdata/metrics.ts';
import { jobAndInstance } from '../prometheus/accumulator.ts';
import { toExplicitBuckets } from '../prometheus/exponential.ts';
import { labelValue } from '../prometheus/label-value.ts';
import { prometheusLabelName, prometheusMetricName, sanitizeNamespace } from '../prometheus/names.ts';
import type { Label, TimeSeries } from './proto.ts';

export interface TranslateOptions {
  namespace: string;
  externalLabels: Record<string, string>;
  resourceToTelemetry: boolean;
  targetInfo: boolean;
  addMetricSuffixes: boolean;
}

const NO_RECORDED_VALUE = 1;
const IDENTIFYING = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** A float as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it (the `le` and `quantile` labels). */
export function formatFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  const text = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, lead, frac = '', exp] = m;
  const digits = lead! + frac;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Point attributes as labels; keys that normalize to one name join their values with `;`, as the Collector. */
function attributeLabels(attributes: readonly KeyValue[]): Map<string, string> {
  const byName = new Map<string, { key: string; value: string }[]>();
  for (const a of attributes) {
    const name = prometheusLabelName(a.key);
    byName.set(name, [...(byName.get(name) ?? []), { key: a.key, value: labelValue(a.value) }]);
  }
  const out = new Map<string, string>();
  for (const [name, values] of byName) {
    out.set(name, values.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).map((v) => v.value).join(';'));
  }
  return out;
}

class SeriesSet {
  private readonly byKey = new Map<string, TimeSeries>();

  add(labels: Map<string, string>, value: number, timestampMs: number, stale = false): void {
    const sorted: Label[] = [...labels].filter(([, v]) => v !== '').map(([name, v]) => ({ name, value: v }));
    sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = JSON.stringify(sorted);
    let series = this.byKey.get(key);
    if (!series) {
      series = { labels: sorted, samples: [] };
      this.byKey.set(key, series);
    }
    series.samples.push(stale ? { value: NaN, timestamp: timestampMs, stale } : { value, timestamp: timestampMs });
  }

  all(): TimeSeries[] {
    const out = [...this.byKey.values()];
    for (const s of out) s.samples.sort((a, b) => a.timestamp - b.timestamp);
    return out;
  }
}

const ms = (ns: bigint): number => Number(ns / 1_000_000n);

export interface Translation {
  series: TimeSeries[];
  /** Points with no remote-write form (delta temporality), with the metric names. */
  dropped: { points: number; metrics: string[] };
}

export function toTimeSeries(data: MetricsData, options: TranslateOptions): Translation {
  const namespace = sanitizeNamespace(options.namespace);
  const set = new SeriesSet();
  const dropped = { points: 0, metrics: [] as string[] };

  for (const rm of data.resourceMetrics) {
    const resource = rm.resource.attributes;
    const { job, instance } = jobAndInstance(resource);
    // Labels every series of this resource carries besides its own: job, instance, promoted resource attributes, external labels.
    const common = (labels: Map<string, string>): Map<string, string> => {
      if (options.resourceToTelemetry) {
        for (const [name, value] of attributeLabels(resource)) if (!labels.has(name)) labels.set(name, value);
      }
      if (job !== undefined) labels.set('job', job);
      if (instance !== undefined) labels.set('instance', instance);
      for (const [name, value] of Object.entries(options.externalLabels)) if (!labels.has(name)) labels.set(name, value);
      return labels;
    };
    let latest = 0n;

    for (const sm of rm.scopeMetrics) {
      for (const metric of sm.metrics) {
        const name = metricName(metric, namespace, options.addMetricSuffixes);
        const emit = (suffix: string, attributes: readonly KeyValue[], extra: [string, string][], value: number, timeNs: bigint, flags?: number) => {
          const labels = common(attributeLabels(attributes));
          for (const [k, v] of extra) labels.set(k, v);
          labels.set('__name__', name + suffix);
          // A point with no recorded value ends its series: Prometheus's staleness marker.
          set.add(labels, value, ms(timeNs), ((flags ?? 0) & NO_RECORDED_VALUE) !== 0);
          if (timeNs > latest) latest = timeNs;
        };
        const d = metric.data;
        if ((d.type === 'sum' || d.type === 'histogram' || d.type === 'exponentialHistogram') && d.aggregationTemporality !== AggregationTemporality.CUMULATIVE) {
          dropped.points += d.dataPoints.length;
          dropped.metrics.push(metric.name);
          continue;
        }
        switch (d.type) {
          case 'gauge':
          case 'sum':
            for (const p of d.dataPoints) emit('', p.attributes, [], p.asDouble ?? Number(p.asInt ?? 0n), p.timeUnixNano, p.flags);
            break;
          case 'histogram':
          case 'exponentialHistogram':
            for (const p of d.dataPoints) {
              const { bounds, counts } = 'explicitBounds' in p ? { bounds: p.explicitBounds, counts: p.bucketCounts } : toExplicitBuckets(p);
              let cumulative = 0;
              bounds.forEach((bound, i) => {
                cumulative += counts[i] ?? 0;
                emit('_bucket', p.attributes, [['le', formatFloat(bound)]], cumulative, p.timeUnixNano, p.flags);
              });
              emit('_bucket', p.attributes, [['le', '+Inf']], p.count, p.timeUnixNano, p.flags);
              if (p.sum !== undefined) emit('_sum', p.attributes, [], p.sum, p.timeUnixNano, p.flags);
              emit('_count', p.attributes, [], p.count, p.timeUnixNano, p.flags);
            }
            break;
          case 'summary':
            for (const p of d.dataPoints) {
              for (const q of p.quantileValues) emit('', p.attributes, [['quantile', formatFloat(q.quantile)]], q.value, p.timeUnixNano, p.flags);
              emit('_sum', p.attributes, [], p.sum, p.timeUnixNano, p.flags);
              emit('_count', p.attributes, [], p.count, p.timeUnixNano, p.flags);
            }
            break;
        }
      }
    }

    const described = resource.filter((a) => !IDENTIFYING.has(a.key));
    if (options.targetInfo && described.length > 0 && latest > 0n) {
      const labels = attributeLabels(described);
      if (job !== undefined) labels.set('job', job);
      if (instance !== undefined) labels.set('instance', instance);
      for (const [k, v] of Object.entries(options.externalLabels)) if (!labels.has(k)) labels.set(k, v);
      labels.set('__name__', namespace ? `${namespace}_target_info` : 'target_info');
      set.add(labels, 1, ms(latest));
    }
  }
  return { series: set.all(), dropped };
}

function metricName(metric: Metric, namespace: string, suffixes: boolean): string {
  const d = metric.data;
  const shape = {
    name: metric.name,
    type: d.type,
    ...(suffixes && metric.unit !== undefined ? { unit: metric.unit } : {}),
    ...(suffixes && d.type === 'sum' ? { isMonotonic: d.isMonotonic } : {}),
  };
  return prometheusMetricName(shape, namespace);
}
