// verbosity: normal — a line per resource and scope, then about one line per item, as the
// Collector's normal marshalers write them.
import type { InstrumentationScope, KeyValue } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData, Metric } from '../../src/pdata/metrics.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { asString, f6, gv, keyValues } from './text.ts';

function spaced(list: readonly KeyValue[] | undefined): string {
  const kv = keyValues(list);
  return kv.length ? ' ' + kv.join(' ') : '';
}

function resourceLine(label: string, i: number, schemaUrl: string | undefined, attrs: readonly KeyValue[]): string {
  return `${label} #${i}${schemaUrl ? ` [${schemaUrl}]` : ''}${spaced(attrs)}`;
}

function scopeLine(label: string, i: number, scope: InstrumentationScope | undefined, schemaUrl: string | undefined): string {
  let details = (scope?.name ?? '') + (scope?.version ? '@' + scope.version : '');
  if (schemaUrl) details += (details ? ' ' : '') + `[${schemaUrl}]`;
  return `${label} #${i}${details ? ' ' + details : ''}${spaced(scope?.attributes)}`;
}

function traces(data: TracesData): string[] {
  const out: string[] = [];
  data.resourceSpans.forEach((rs, i) => {
    out.push(resourceLine('ResourceTraces', i, rs.schemaUrl, rs.resource.attributes));
    rs.scopeSpans.forEach((ss, j) => {
      out.push(scopeLine('ScopeTraces', j, ss.scope, ss.schemaUrl));
      for (const s of ss.spans) out.push(`${s.name} ${s.traceId} ${s.spanId}${spaced(s.attributes)}`);
    });
  });
  return out;
}

function metricLines(m: Metric): string[] {
  const head = (attrs: readonly KeyValue[]) => `${m.name}{${keyValues(attrs).join(',')}}`;
  const d = m.data;
  switch (d.type) {
    case 'gauge':
    case 'sum':
      return d.dataPoints.map((p) => `${head(p.attributes)} ${p.asInt !== undefined ? p.asInt : gv(p.asDouble ?? 0)}`);
    case 'histogram':
      return d.dataPoints.map((p) => {
        let v = `count=${p.count}`;
        if (p.sum !== undefined) v += ` sum=${gv(p.sum)}`;
        if (p.min !== undefined) v += ` min=${gv(p.min)}`;
        if (p.max !== undefined) v += ` max=${gv(p.max)}`;
        p.bucketCounts.forEach((c, i) => {
          const bound = i < p.explicitBounds.length ? `le${gv(p.explicitBounds[i]!)}=` : '';
          v += ` ${bound}${c}`;
        });
        return `${head(p.attributes)} ${v}`;
      });
    case 'exponentialHistogram':
      return d.dataPoints.map((p) => {
        let v = `count=${p.count}`;
        if (p.sum !== undefined) v += ` sum=${gv(p.sum)}`;
        if (p.min !== undefined) v += ` min=${gv(p.min)}`;
        if (p.max !== undefined) v += ` max=${gv(p.max)}`;
        const base = 2 ** (2 ** -p.scale);
        p.negative.bucketCounts.forEach((c, i) => (v += ` le${gv(base ** (p.negative.offset + i))}=${c}`));
        p.positive.bucketCounts.forEach((c, i) => (v += ` le${gv(base ** (p.positive.offset + i))}=${c}`));
        if (p.zeroCount > 0) v += ` zero_count${gv(p.zeroThreshold ?? 0)}=${p.zeroCount}`;
        return `${head(p.attributes)} ${v}`;
      });
    case 'summary':
      return d.dataPoints.map((p) => {
        let v = `count=${p.count} sum=${f6(p.sum)}`;
        for (const q of p.quantileValues) v += ` q${gv(q.quantile)}=${gv(q.value)}`;
        return `${head(p.attributes)} ${v}`;
      });
  }
}

function metrics(data: MetricsData): string[] {
  const out: string[] = [];
  data.resourceMetrics.forEach((rm, i) => {
    out.push(resourceLine('ResourceMetrics', i, rm.schemaUrl, rm.resource.attributes));
    rm.scopeMetrics.forEach((sm, j) => {
      out.push(scopeLine('ScopeMetrics', j, sm.scope, sm.schemaUrl));
      for (const m of sm.metrics) out.push(...metricLines(m));
    });
  });
  return out;
}

function logs(data: LogsData): string[] {
  const out: string[] = [];
  data.resourceLogs.forEach((rl, i) => {
    out.push(resourceLine('ResourceLog', i, rl.schemaUrl, rl.resource.attributes));
    rl.scopeLogs.forEach((sl, j) => {
      out.push(scopeLine('ScopeLog', j, sl.scope, sl.schemaUrl));
      for (const lr of sl.logRecords) out.push(`${asString(lr.body)}${spaced(lr.attributes)}`);
    });
  });
  return out;
}

function profiles(data: ProfilesData): string[] {
  const out: string[] = [];
  data.resourceProfiles.forEach((rp, i) => {
    out.push(resourceLine('ResourceProfiles', i, rp.schemaUrl, rp.resource.attributes));
    rp.scopeProfiles.forEach((sp, j) => {
      out.push(scopeLine('ScopeProfiles', j, sp.scope, sp.schemaUrl));
      for (const p of sp.profiles) out.push(`${p.profileId ?? ''} samples=${p.samples.length}${spaced(p.attributes)}`);
    });
  });
  return out;
}

const NORMAL: { [S in Signal]: (data: SignalData[S]) => string[] } = { traces, metrics, logs, profiles };

export function normalText<S extends Signal>(signal: S, data: SignalData[S]): string {
  return NORMAL[signal](data).join('\n');
}
