// Helpers for this receiver's tests: a collection flattened to resources and points.
import { anyValueToString } from '../../src/pdata/common.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import type { MetricsData, NumberDataPoint } from '../../src/pdata/metrics.ts';

export interface Point {
  metric: string;
  unit: string;
  type: string;
  monotonic?: boolean;
  attributes: Record<string, string>;
  value: number;
  start?: bigint;
}

/** Flattens a collection to resource -> points, for exact comparisons. */
export function flatten(data: MetricsData): { resource: Record<string, string>; points: Point[] }[] {
  const attrs = (list: KeyValue[]) => Object.fromEntries(list.map((a) => [a.key, anyValueToString(a.value)]));
  return data.resourceMetrics.map((rm) => ({
    resource: attrs(rm.resource.attributes),
    points: rm.scopeMetrics.flatMap((sm) =>
      sm.metrics.flatMap((m) => {
        if (m.data.type !== 'sum' && m.data.type !== 'gauge') return [];
        const monotonic = m.data.type === 'sum' ? m.data.isMonotonic : undefined;
        return m.data.dataPoints.map((p: NumberDataPoint) => ({
          metric: m.name,
          unit: m.unit ?? '',
          type: m.data.type,
          ...(monotonic === undefined ? {} : { monotonic }),
          attributes: attrs(p.attributes),
          value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble!,
          ...(p.startTimeUnixNano === undefined ? {} : { start: p.startTimeUnixNano }),
        }));
      }),
    ),
  }));
}

export function value(points: Point[], metric: string, attributes: Record<string, string> = {}): number | undefined {
  const p = points.find((x) => x.metric === metric && Object.entries(attributes).every(([k, v]) => x.attributes[k] === v));
  return p?.value;
}
