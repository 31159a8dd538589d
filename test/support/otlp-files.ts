// Reads what a file exporter wrote: one OTLP/JSON Export*ServiceRequest per line.
import { existsSync, readFileSync } from 'node:fs';
import { fromJson } from '../../src/pdata/otlp/json.ts';
import type { LogRecord, LogsData } from '../../src/pdata/logs.ts';
import type { Metric, MetricsData } from '../../src/pdata/metrics.ts';
import type { Resource } from '../../src/pdata/common.ts';
import type { Span, TracesData } from '../../src/pdata/traces.ts';

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

export function readSpans(path: string): { span: Span; resource: Resource; scope?: string }[] {
  return lines(path).flatMap((l) => {
    const d = fromJson('traces', l) as TracesData;
    return d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource, ...(ss.scope ? { scope: ss.scope.name } : {}) }))));
  });
}

export function readMetrics(path: string): { metric: Metric; resource: Resource }[] {
  return lines(path).flatMap((l) => {
    const d = fromJson('metrics', l) as MetricsData;
    return d.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((metric) => ({ metric, resource: rm.resource }))));
  });
}

export function readLogs(path: string): { log: LogRecord; resource: Resource }[] {
  return lines(path).flatMap((l) => {
    const d = fromJson('logs', l) as LogsData;
    return d.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((log) => ({ log, resource: rl.resource }))));
  });
}

/** Polls until `read()` returns at least `count` items, or throws after timeoutMs. */
export async function waitForItems<T>(read: () => T[], count: number, timeoutMs = 20_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = read();
    if (items.length >= count) return items;
    if (Date.now() > deadline) throw new Error(`expected ${count} items, found ${items.length} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
