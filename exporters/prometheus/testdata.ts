// Builders of model metrics for this exporter's tests.
import { attributes, type PlainValue } from '../../src/pdata/common.ts';
import type { Metric, MetricsData } from '../../src/pdata/metrics.ts';

/** 2023-11-14T22:13:20Z in nanoseconds: a fixed time, so timestamps in expected text are exact. */
export const T0 = 1_700_000_000_000_000_000n;
export const SECOND = 1_000_000_000n;

export function metricsData(
  metrics: Metric[],
  resource: Record<string, PlainValue> = { 'service.name': 'shop', 'service.instance.id': 'i-1' },
  scope: { name: string; version?: string } = { name: 'test', version: '1.0' },
): MetricsData {
  return { resourceMetrics: [{ resource: { attributes: attributes(resource) }, scopeMetrics: [{ scope, metrics }] }] };
}

export function gauge(name: string, unit: string, value: number, attrs: Record<string, PlainValue> = {}, time = T0): Metric {
  return { name, unit, data: { type: 'gauge', dataPoints: [{ attributes: attributes(attrs), timeUnixNano: time, asDouble: value }] } };
}

export function sum(
  name: string,
  unit: string,
  value: bigint,
  options: { monotonic?: boolean; delta?: boolean; start?: bigint; time?: bigint; attrs?: Record<string, PlainValue> } = {},
): Metric {
  const time = options.time ?? T0;
  return {
    name,
    unit,
    data: {
      type: 'sum',
      isMonotonic: options.monotonic ?? true,
      aggregationTemporality: options.delta ? 1 : 2,
      dataPoints: [
        { attributes: attributes(options.attrs ?? {}), startTimeUnixNano: options.start ?? time - 10n * SECOND, timeUnixNano: time, asInt: value },
      ],
    },
  };
}

export function histogram(
  name: string,
  unit: string,
  counts: number[],
  bounds: number[],
  sumValue: number,
  options: { delta?: boolean; start?: bigint; time?: bigint; attrs?: Record<string, PlainValue> } = {},
): Metric {
  const time = options.time ?? T0;
  return {
    name,
    unit,
    data: {
      type: 'histogram',
      aggregationTemporality: options.delta ? 1 : 2,
      dataPoints: [
        {
          attributes: attributes(options.attrs ?? {}),
          startTimeUnixNano: options.start ?? time - 10n * SECOND,
          timeUnixNano: time,
          count: counts.reduce((a, b) => a + b, 0),
          sum: sumValue,
          bucketCounts: counts,
          explicitBounds: bounds,
        },
      ],
    },
  };
}
