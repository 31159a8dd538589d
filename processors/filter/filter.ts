// Drops spans, metric data points and log records by the configured include/exclude properties,
// in place, and removes what is left empty (metrics, scopes, resources).
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import type { FilterConfig } from './config.ts';
import { type LogContext, logMatcher, pointMatcher, type PointContext, type SpanContext, spanMatcher } from './match.ts';

type Keep<C> = (c: C) => boolean;

function keeper<C, P>(block: { include?: P; exclude?: P }, compile: (p: P) => (c: C) => boolean): Keep<C> | undefined {
  const include = block.include && compile(block.include);
  const exclude = block.exclude && compile(block.exclude);
  if (!include && !exclude) return undefined;
  return (c) => (!include || include(c)) && (!exclude || !exclude(c));
}

export interface Filters {
  traces?: (data: TracesData) => number;
  metrics?: (data: MetricsData) => number;
  logs?: (data: LogsData) => number;
}

/** Filters for the signals the config names; each returns how many items it dropped. */
export function compileFilters(config: FilterConfig): Filters {
  const f: Filters = {};
  const span = keeper<SpanContext, FilterConfig['spans']['include']>(config.spans, (p) => spanMatcher(p!));
  if (span) {
    f.traces = (data) => {
      let dropped = 0;
      data.resourceSpans = data.resourceSpans.filter((rs) => {
        rs.scopeSpans = rs.scopeSpans.filter((ss) => {
          const before = ss.spans.length;
          ss.spans = ss.spans.filter((s) => span({ span: s, resource: rs.resource.attributes, scope: ss.scope }));
          dropped += before - ss.spans.length;
          return ss.spans.length > 0;
        });
        return rs.scopeSpans.length > 0;
      });
      return dropped;
    };
  }
  const point = keeper<PointContext, FilterConfig['metrics']['include']>(config.metrics, (p) => pointMatcher(p!));
  if (point) {
    f.metrics = (data) => {
      let dropped = 0;
      data.resourceMetrics = data.resourceMetrics.filter((rm) => {
        rm.scopeMetrics = rm.scopeMetrics.filter((sm) => {
          sm.metrics = sm.metrics.filter((m) => {
            const points = m.data.dataPoints as { attributes: PointContext['attributes'] }[];
            const kept = points.filter((p) => point({ metricName: m.name, resource: rm.resource.attributes, attributes: p.attributes }));
            dropped += points.length - kept.length;
            (m.data as { dataPoints: unknown[] }).dataPoints = kept;
            return kept.length > 0;
          });
          return sm.metrics.length > 0;
        });
        return rm.scopeMetrics.length > 0;
      });
      return dropped;
    };
  }
  const log = keeper<LogContext, FilterConfig['logs']['include']>(config.logs, (p) => logMatcher(p!));
  if (log) {
    f.logs = (data) => {
      let dropped = 0;
      data.resourceLogs = data.resourceLogs.filter((rl) => {
        rl.scopeLogs = rl.scopeLogs.filter((sl) => {
          const before = sl.logRecords.length;
          sl.logRecords = sl.logRecords.filter((r) => log({ record: r, resource: rl.resource.attributes }));
          dropped += before - sl.logRecords.length;
          return sl.logRecords.length > 0;
        });
        return rl.scopeLogs.length > 0;
      });
      return dropped;
    };
  }
  return f;
}
