// The metrics_aggregation processor: folds away point attributes of the metrics its rules name and
// re-aggregates what then shares a series (sums add, histograms merge, gauges combine), turning
// cumulative input into increments first so series from different sources add up. The folded
// series go out every `interval`, as delta or cumulative; other metrics pass through at once.
import type { CreateSettings, Processor } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData, type ResourceMetrics, type ScopeMetrics } from '../../src/pdata/metrics.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { MetricsAggregationConfig } from './config.ts';
import { DeltaTracker } from './delta.ts';
import { attributesKey, scopeKey } from './keys.ts';
import { RuleIndex, type CompiledRule } from './rules.ts';
import { AggregationStore, type AddResult, type Target } from './store.ts';
import { histOf, numberOf } from './values.ts';

export class MetricsAggregationProcessor implements Processor<'metrics'> {
  readonly capabilities = { mutatesData: false };
  readonly #config: MetricsAggregationConfig;
  readonly #next: Consumer<'metrics'>;
  readonly #logger: Logger;
  readonly #rules: RuleIndex;
  readonly #store: AggregationStore;
  readonly #deltas: DeltaTracker;
  readonly #dropped: Counter;
  readonly #overflow: Counter;
  readonly #warned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(settings: CreateSettings, config: MetricsAggregationConfig, next: Consumer<'metrics'>) {
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#rules = new RuleIndex(config.rules);
    const start = nowUnixNano();
    this.#store = new AggregationStore({
      temporality: config.aggregation_temporality,
      maxSeries: config.max_series,
      expirationMs: config.expiration,
      gaugeCombine: config.gauge_aggregation,
      startUnixNano: start,
    });
    this.#deltas = new DeltaTracker({ initialValue: config.initial_value, startedUnixNano: start });
    const t = settings.telemetry;
    this.#dropped = t.counter('processor_metrics_aggregation_dropped_points', 'Points the aggregation could not use (reason: baseline, out_of_order, no_value, unspecified_temporality).', '{points}');
    this.#overflow = t.counter('processor_metrics_aggregation_overflow_points', 'Points folded into the overflow series because their metric reached max_series.', '{points}');
    t.gauge('processor_metrics_aggregation_series', 'Output series held.', () => this.#store.seriesCount, '{series}');
    t.gauge('processor_metrics_aggregation_input_series', 'Cumulative input series tracked.', () => this.#deltas.size, '{series}');
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.flush(), this.#config.interval);
    this.#timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async consume(data: MetricsData): Promise<void> {
    const passed: ResourceMetrics[] = [];
    for (const rm of data.resourceMetrics) {
      const resourceKey = attributesKey(rm.resource.attributes);
      const keptScopes: ScopeMetrics[] = [];
      for (const sm of rm.scopeMetrics) {
        const sk = scopeKey(sm.scope);
        const kept: Metric[] = [];
        for (const metric of sm.metrics) {
          const rule = this.#rules.find(metric.name);
          if (!rule || !this.#fold(rule, metric, { resource: rm.resource, resourceKey, scope: sm.scope, scopeKey: sk })) kept.push(metric);
        }
        if (kept.length) keptScopes.push({ ...sm, metrics: kept });
      }
      if (keptScopes.length) passed.push({ ...rm, scopeMetrics: keptScopes });
    }
    if (passed.length) await this.#next.consume({ resourceMetrics: passed });
  }

  /** Sends what the store holds now; one flush at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const out = this.#store.flush(nowUnixNano());
      if (this.#config.expiration > 0) this.#deltas.expire(this.#config.expiration);
      if (out.resourceMetrics.length === 0) return;
      try {
        await this.#next.consume(out);
      } catch (error) {
        this.#logger.error('sending aggregated metrics failed', { error });
      }
    });
    return this.#flushing;
  }

  /** Feeds a metric's points into the store; false when its type cannot be folded (it then passes). */
  #fold(rule: CompiledRule, metric: Metric, at: Omit<Target, 'metric' | 'attributes' | 'attributesKey'>): boolean {
    const d = metric.data;
    if (d.type === 'exponentialHistogram' || d.type === 'summary') {
      if (!this.#warned.has(metric.name)) {
        this.#warned.add(metric.name);
        this.#logger.warn('metric type cannot be aggregated; passed unchanged', { metric: metric.name, type: d.type });
      }
      return false;
    }
    const descriptor = { name: metric.name, ...(metric.unit !== undefined && { unit: metric.unit }), ...(metric.description !== undefined && { description: metric.description }) };
    const inputBase = `${at.resourceKey}\u0000${at.scopeKey}\u0000${metric.name}\u0000`;
    const count = (r: AddResult) => {
      if (r === 'overflow') this.#overflow.add(1, { metric: metric.name });
      else if (r === 'bounds_mismatch') this.#dropped.add(1, { reason: 'bounds_changed' });
    };
    const temporality = 'aggregationTemporality' in d ? d.aggregationTemporality : undefined;
    if (temporality === AggregationTemporality.UNSPECIFIED) {
      this.#dropped.add(d.dataPoints.length, { reason: 'unspecified_temporality' });
      return true;
    }
    for (const p of d.dataPoints) {
      const attributes = rule.reduce(p.attributes);
      const target: Target = { ...at, metric: descriptor, attributes, attributesKey: attributesKey(attributes) };
      const inputKey = inputBase + attributesKey(p.attributes);
      if (d.type === 'histogram') {
        const hp = p as (typeof d.dataPoints)[number];
        let h = histOf(hp);
        if (temporality === AggregationTemporality.CUMULATIVE) {
          const r = this.#deltas.histogram(inputKey, { start: hp.startTimeUnixNano, time: hp.timeUnixNano, value: h });
          if ('skipped' in r) {
            this.#dropped.add(1, { reason: r.skipped });
            continue;
          }
          h = r.delta;
        }
        count(this.#store.addHistogram(target, h, hp.timeUnixNano));
        continue;
      }
      const value = numberOf(p as (typeof d.dataPoints)[number]);
      if (value === undefined) {
        this.#dropped.add(1, { reason: 'no_value' });
        continue;
      }
      if (d.type === 'gauge') {
        count(this.#store.setGauge(target, inputKey, value, p.timeUnixNano));
        continue;
      }
      let v = value;
      if (temporality === AggregationTemporality.CUMULATIVE) {
        const r = this.#deltas.sum(inputKey, { start: p.startTimeUnixNano, time: p.timeUnixNano, value }, d.isMonotonic);
        if ('skipped' in r) {
          this.#dropped.add(1, { reason: r.skipped });
          continue;
        }
        v = r.delta;
      }
      count(this.#store.addSum(target, d.isMonotonic, v, p.timeUnixNano));
    }
    return true;
  }
}
