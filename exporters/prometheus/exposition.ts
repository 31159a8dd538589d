// Renders the stored series as the Prometheus text format (version 0.0.4). Counters, gauges
// and histograms go through @opentelemetry/exporter-prometheus's PrometheusSerializer, handed
// the already translated names; what that serializer cannot do as the Collector does is done
// here: summaries (it has no summary type), target_info (it writes one per serialize() call,
// from every resource attribute, without job/instance) and job/instance/const labels.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { KeyValue } from '../../src/pdata/common.ts';
import type { NumberDataPoint } from '../../src/pdata/metrics.ts';
import { jobAndInstance, type Series } from './accumulator.ts';
import { toExplicitBuckets } from './exponential.ts';
import { labelValue } from './label-value.ts';
import { prometheusLabelName, prometheusMetricName } from './names.ts';

export interface ExpositionOptions {
  /** Sanitized namespace prefix, or ''. */
  namespace: string;
  sendTimestamps: boolean;
  constLabels: Record<string, string>;
  withoutScopeInfo: boolean;
}

type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary';
interface Family {
  type: FamilyType;
  series: Series[];
}

const SERVICE_ATTRIBUTES = new Set(['service.name', 'service.namespace', 'service.instance.id']);

function familyType(s: Series): FamilyType {
  switch (s.type) {
    case 'sum':
      return s.isMonotonic ? 'counter' : 'gauge';
    case 'gauge':
      return 'gauge';
    case 'histogram':
    case 'exponentialHistogram':
      return 'histogram';
    case 'summary':
      return 'summary';
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return escapeHelp(text).replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Label names as the SDK serializer finally writes them (runs of `_` collapsed), so all families agree. */
function serializerLabelName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function sample(name: string, labels: [string, string][], value: number, timestampMs: number | undefined): string {
  const body = labels.map(([k, v]) => `${serializerLabelName(k)}="${escapeLabelValue(v)}"`).join(',');
  return `${name}${body ? `{${body}}` : ''} ${formatValue(value)}${timestampMs === undefined ? '' : ` ${timestampMs}`}\n`;
}

/** Attributes to labels: names translated, values as text, names that collide joined with `;` (key order). */
function attributeLabels(list: readonly KeyValue[], prefix = ''): Map<string, string> {
  const labels = new Map<string, string>();
  for (const kv of [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const name = prometheusLabelName(prefix + kv.key);
    const value = labelValue(kv.value);
    const existing = labels.get(name);
    labels.set(name, existing === undefined ? value : `${existing};${value}`);
  }
  return labels;
}

/** Whole milliseconds: the serializer writes endTime as the sample timestamp, which must be an integer. */
function toHrTimeMs(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(((ns % 1_000_000_000n) / 1_000_000n) * 1_000_000n)];
}

function numberValue(p: NumberDataPoint): number {
  return p.asDouble ?? Number(p.asInt ?? 0);
}

function histogramValue(s: Series): Histogram {
  if (s.type === 'exponentialHistogram') {
    const { bounds, counts } = toExplicitBuckets(s.point);
    return { buckets: { boundaries: bounds, counts }, sum: s.point.sum ?? 0, count: s.point.count };
  }
  if (s.type !== 'histogram') throw new Error(`not a histogram: ${s.type}`);
  const p = s.point;
  // A point without buckets (or with a count list that does not fit) still has its +Inf bucket.
  const fits = p.bucketCounts.length === p.explicitBounds.length + 1;
  return {
    buckets: fits ? { boundaries: p.explicitBounds, counts: p.bucketCounts } : { boundaries: [], counts: [p.count] },
    sum: p.sum ?? 0,
    count: p.count,
  };
}

export class ExpositionWriter {
  private readonly options: ExpositionOptions;
  private readonly serializer: PrometheusSerializer;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();

  constructor(options: ExpositionOptions, warn: (message: string) => void) {
    this.options = options;
    this.warn = warn;
    // No prefix (names come translated), no target_info (written here, once for all resources).
    this.serializer = new PrometheusSerializer(undefined, options.sendTimestamps, undefined, true, options.withoutScopeInfo);
  }

  render(series: Series[]): string {
    let out = this.targetInfo(series);
    const families = this.families(series);
    for (const name of [...families.keys()].sort()) {
      const family = families.get(name)!;
      out += family.type === 'summary' ? this.summaryFamily(name, family.series) : this.sdkFamily(name, family);
    }
    return out;
  }

  private families(series: Series[]): Map<string, Family> {
    const families = new Map<string, Family>();
    for (const s of series) {
      const name = prometheusMetricName({ ...s, isMonotonic: s.type === 'sum' && s.isMonotonic }, this.options.namespace);
      if (name === '') continue;
      const type = familyType(s);
      const family = families.get(name);
      if (!family) families.set(name, { type, series: [s] });
      else if (family.type === type) family.series.push(s);
      else if (!this.warned.has(name)) {
        // As the Collector: the first type registered under a name wins, the others are dropped.
        this.warned.add(name);
        this.warn(`metric ${s.name} maps to Prometheus name ${name}, already a ${family.type}; its ${type} series are dropped`);
      }
    }
    return families;
  }

  /** The labels every sample of a series carries, before the scope labels the serializer adds. */
  private seriesLabels(s: Series): Map<string, string> {
    const labels = attributeLabels(s.point.attributes);
    if (!this.options.withoutScopeInfo && s.scope.attributes) {
      for (const [k, v] of attributeLabels(s.scope.attributes, 'otel_scope_')) labels.set(k, v);
    }
    const { job, instance } = jobAndInstance(s.resource);
    if (job !== undefined) labels.set('job', job);
    if (instance !== undefined) labels.set('instance', instance);
    for (const [k, v] of Object.entries(this.options.constLabels)) labels.set(k, v);
    return new Map([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private scopeLabels(s: Series): [string, string][] {
    if (this.options.withoutScopeInfo) return [];
    // The same labels, in the same order, as the SDK serializer writes for the other types.
    const labels: [string, string][] = [['otel_scope_name', s.scope.name]];
    if (s.scopeSchemaUrl) labels.push(['otel_scope_schema_url', s.scopeSchemaUrl]);
    if (s.scope.version) labels.push(['otel_scope_version', s.scope.version]);
    return labels;
  }

  private timestampMs(s: Series): number | undefined {
    return this.options.sendTimestamps ? Number(s.point.timeUnixNano / 1_000_000n) : undefined;
  }

  private sdkFamily(name: string, family: Family): string {
    const byScope = new Map<string, ScopeMetrics & { points: DataPoint<number | Histogram>[] }>();
    for (const s of family.series) {
      const key = JSON.stringify([s.scope.name, s.scope.version ?? '', s.scopeSchemaUrl]);
      let scope = byScope.get(key);
      if (!scope) {
        const sdkScope = { name: s.scope.name, ...(s.scope.version ? { version: s.scope.version } : {}), ...(s.scopeSchemaUrl ? { schemaUrl: s.scopeSchemaUrl } : {}) };
        scope = { scope: sdkScope, metrics: [], points: [] };
        byScope.set(key, scope);
      }
      const attributes: Attributes = Object.fromEntries(this.seriesLabels(s));
      const value = family.type === 'histogram' ? histogramValue(s) : numberValue(s.point as NumberDataPoint);
      scope.points.push({
        startTime: toHrTimeMs(s.point.startTimeUnixNano ?? s.point.timeUnixNano),
        endTime: toHrTimeMs(s.point.timeUnixNano),
        attributes,
        value,
      });
    }
    const description = family.series.find((s) => s.description !== '')?.description ?? '';
    // No unit: `# UNIT` belongs to OpenMetrics, and the unit is already in the name.
    const descriptor = { name, description, unit: '', valueType: ValueType.DOUBLE };
    const scopeMetrics: ScopeMetrics[] = [...byScope.values()].map(({ scope, points }) => {
      const base = { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
      let metric: MetricData;
      if (family.type === 'histogram') {
        metric = { ...base, dataPointType: DataPointType.HISTOGRAM, dataPoints: points as DataPoint<Histogram>[] };
      } else if (family.type === 'counter') {
        metric = { ...base, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points as DataPoint<number>[] };
      } else {
        metric = { ...base, dataPointType: DataPointType.GAUGE, dataPoints: points as DataPoint<number>[] };
      }
      return { scope, metrics: [metric] };
    });
    return this.serializer.serialize({ resource: emptyResource(), scopeMetrics });
  }

  private summaryFamily(name: string, series: Series[]): string {
    const description = series.find((s) => s.description !== '')?.description ?? '';
    let out = `# HELP ${name} ${escapeHelp(description || 'description missing')}\n# TYPE ${name} summary\n`;
    for (const s of series) {
      if (s.type !== 'summary') continue;
      const labels = [...this.seriesLabels(s), ...this.scopeLabels(s)];
      const ts = this.timestampMs(s);
      for (const q of s.point.quantileValues) {
        out += sample(name, [...labels, ['quantile', String(q.quantile)]], q.value, ts);
      }
      out += sample(`${name}_sum`, labels, s.point.sum, ts);
      out += sample(`${name}_count`, labels, s.point.count, ts);
    }
    return out;
  }

  /** target_info: one series per distinct resource, labelled as the Collector does. */
  private targetInfo(series: Series[]): string {
    const name = this.options.namespace ? `${this.options.namespace}_target_info` : 'target_info';
    const seen = new Set<string>();
    const seenResources = new Set<KeyValue[]>(); // series of one batch share one resource list
    let body = '';
    for (const s of series) {
      if (seenResources.has(s.resource)) continue;
      seenResources.add(s.resource);
      const labels = attributeLabels(s.resource.filter((a) => !SERVICE_ATTRIBUTES.has(a.key)));
      const { job, instance } = jobAndInstance(s.resource);
      if (job !== undefined) labels.set('job', job);
      if (instance !== undefined) labels.set('instance', instance);
      if (labels.size === 0) continue;
      const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const line = sample(name, sorted, 1, undefined);
      if (seen.has(line)) continue;
      seen.add(line);
      body += line;
    }
    return body === '' ? '' : `# HELP ${name} Target metadata\n# TYPE ${name} gauge\n${body}`;
  }
}
