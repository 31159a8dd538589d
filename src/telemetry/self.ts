// bpfcol's own metrics (the Collector's otelcol_* series, under the bpfcol_ prefix), kept with
// the OpenTelemetry metrics SDK and served in Prometheus format by the telemetry server.
import type { Attributes, Meter } from '@opentelemetry/api';
import type { Tally } from './tally.ts';

export interface Counter {
  add(value: number, attributes?: Attributes): void;
}
export interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
export type Observation = number | { value: number; attributes?: Attributes }[];

export interface SelfTelemetry {
  /** A monotonic counter; Prometheus shows it as `bpfcol_<name>_total`. */
  counter(name: string, description: string, unit?: string): Counter;
  /** A counter that goes up and down (queue sizes). */
  upDownCounter(name: string, description: string, unit?: string): Counter;
  histogram(name: string, description: string, unit?: string, boundaries?: number[]): Histogram;
  /** A gauge read when the metrics are collected. */
  gauge(name: string, description: string, read: () => Observation, unit?: string): void;
  /** The same telemetry with `attributes` added to every series (the component id, say). */
  with(attributes: Attributes): SelfTelemetry;
}

export const METRIC_PREFIX = 'bpfcol_';

/** Telemetry on an SDK meter; with a tally, counters are also totalled in memory for the status view. */
export function meterTelemetry(meter: Meter, base: Attributes = {}, tally?: Tally): SelfTelemetry {
  const merged = (a?: Attributes): Attributes => (a ? { ...base, ...a } : base);
  const opts = (description: string, unit?: string) => (unit ? { description, unit } : { description });
  return {
    counter(name, description, unit) {
      const c = meter.createCounter(METRIC_PREFIX + name, opts(description, unit));
      return {
        add: (v, a) => {
          const attrs = merged(a);
          c.add(v, attrs);
          tally?.add(name, v, attrs);
        },
      };
    },
    upDownCounter(name, description, unit) {
      const c = meter.createUpDownCounter(METRIC_PREFIX + name, opts(description, unit));
      return {
        add: (v, a) => {
          const attrs = merged(a);
          c.add(v, attrs);
          tally?.add(name, v, attrs);
        },
      };
    },
    histogram(name, description, unit, boundaries) {
      const h = meter.createHistogram(METRIC_PREFIX + name, {
        ...opts(description, unit),
        ...(boundaries ? { advice: { explicitBucketBoundaries: boundaries } } : {}),
      });
      return { record: (v, a) => h.record(v, merged(a)) };
    },
    gauge(name, description, read, unit) {
      const g = meter.createObservableGauge(METRIC_PREFIX + name, opts(description, unit));
      g.addCallback((result) => {
        const obs = read();
        if (typeof obs === 'number') result.observe(obs, base);
        else for (const o of obs) result.observe(o.value, merged(o.attributes));
      });
    },
    with(attributes) {
      return meterTelemetry(meter, { ...base, ...attributes }, tally);
    },
  };
}

/** Telemetry that records nothing, for tests and tools. */
export const nopTelemetry: SelfTelemetry = {
  counter: () => ({ add() {} }),
  upDownCounter: () => ({ add() {} }),
  histogram: () => ({ record() {} }),
  gauge() {},
  with: () => nopTelemetry,
};
