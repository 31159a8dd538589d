// Moving items between batches while keeping their resource and scope: appending one batch to
// another, and taking the first n items off a batch into a new one (as the Collector's
// splitTraces/splitMetrics/splitLogs). A container that is cut in two is copied into both parts
// (its resource, scope, metric descriptor or profile header), so the parts share no objects.
import type { LogsData } from '../../src/pdata/logs.ts';
import type { Metric, MetricData, MetricsData, ScopeMetrics } from '../../src/pdata/metrics.ts';
import type { Profile, ProfilesData, ScopeProfiles } from '../../src/pdata/profiles.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { TracesData } from '../../src/pdata/traces.ts';

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

/**
 * Takes up to `n` items off the front of `resources` (mutating it): whole resources while they
 * fit, then a copy of the resource holding the scopes (and part of one scope) that do.
 */
function takeResources<R, S>(
  resources: R[],
  n: number,
  scopesOf: (r: R) => S[],
  scopeCount: (s: S) => number,
  takeFromScope: (s: S, n: number) => S,
  emptyCopy: (r: R) => R,
): R[] {
  const out: R[] = [];
  let left = n;
  while (left > 0 && resources.length > 0) {
    const resource = resources[0]!;
    const scopes = scopesOf(resource);
    const count = scopes.reduce((sum, s) => sum + scopeCount(s), 0);
    if (count <= left) {
      out.push(resources.shift()!);
      left -= count;
      continue;
    }
    const part = emptyCopy(resource);
    const partScopes = scopesOf(part);
    while (left > 0 && scopes.length > 0) {
      const scope = scopes[0]!;
      const c = scopeCount(scope);
      if (c <= left) {
        partScopes.push(scopes.shift()!);
        left -= c;
      } else {
        partScopes.push(takeFromScope(scope, left));
        left = 0;
      }
    }
    out.push(part);
  }
  return out;
}

/** Takes up to `n` entries, each holding `countOf` items, off `list`, cutting the last one with `cut`. */
function takeNested<T>(list: T[], n: number, countOf: (t: T) => number, cut: (t: T, n: number) => T): T[] {
  const out: T[] = [];
  let left = n;
  while (left > 0 && list.length > 0) {
    const first = list[0]!;
    const c = countOf(first);
    if (c <= left) {
      out.push(list.shift()!);
      left -= c;
    } else {
      out.push(cut(first, left));
      left = 0;
    }
  }
  return out;
}

function cutMetricData(data: MetricData, n: number): MetricData {
  const points = (data.dataPoints as unknown[]).splice(0, n);
  return { ...data, dataPoints: points } as MetricData;
}

function cutMetric(metric: Metric, n: number): Metric {
  return { ...metric, metadata: clone(metric.metadata), data: cutMetricData(metric.data, n) };
}

function cutProfile(profile: Profile, n: number): Profile {
  return {
    ...profile,
    sampleTypes: clone(profile.sampleTypes),
    period: clone(profile.period),
    attributes: clone(profile.attributes),
    samples: profile.samples.splice(0, n),
  };
}

interface SignalOps<D> {
  append(to: D, from: D): void;
  take(from: D, n: number): D;
}

const traces: SignalOps<TracesData> = {
  append: (to, from) => void to.resourceSpans.push(...from.resourceSpans),
  take: (from, n) => ({
    resourceSpans: takeResources(
      from.resourceSpans,
      n,
      (r) => r.scopeSpans,
      (s) => s.spans.length,
      (s, k) => ({ ...s, scope: clone(s.scope), spans: s.spans.splice(0, k) }),
      (r) => ({ ...r, resource: clone(r.resource), scopeSpans: [] }),
    ),
  }),
};

const metricsScopeCount = (s: ScopeMetrics) => s.metrics.reduce((sum, m) => sum + m.data.dataPoints.length, 0);
const metrics: SignalOps<MetricsData> = {
  append: (to, from) => void to.resourceMetrics.push(...from.resourceMetrics),
  take: (from, n) => ({
    resourceMetrics: takeResources(
      from.resourceMetrics,
      n,
      (r) => r.scopeMetrics,
      metricsScopeCount,
      (s, k) => ({
        ...s,
        scope: clone(s.scope),
        metrics: takeNested(s.metrics, k, (m) => m.data.dataPoints.length, cutMetric),
      }),
      (r) => ({ ...r, resource: clone(r.resource), scopeMetrics: [] }),
    ),
  }),
};

const logs: SignalOps<LogsData> = {
  append: (to, from) => void to.resourceLogs.push(...from.resourceLogs),
  take: (from, n) => ({
    resourceLogs: takeResources(
      from.resourceLogs,
      n,
      (r) => r.scopeLogs,
      (s) => s.logRecords.length,
      (s, k) => ({ ...s, scope: clone(s.scope), logRecords: s.logRecords.splice(0, k) }),
      (r) => ({ ...r, resource: clone(r.resource), scopeLogs: [] }),
    ),
  }),
};

const profilesScopeCount = (s: ScopeProfiles) => s.profiles.reduce((sum, p) => sum + p.samples.length, 0);
const profiles: SignalOps<ProfilesData> = {
  append: (to, from) => void to.resourceProfiles.push(...from.resourceProfiles),
  take: (from, n) => ({
    resourceProfiles: takeResources(
      from.resourceProfiles,
      n,
      (r) => r.scopeProfiles,
      profilesScopeCount,
      (s, k) => ({
        ...s,
        scope: clone(s.scope),
        profiles: takeNested(s.profiles, k, (p) => p.samples.length, cutProfile),
      }),
      (r) => ({ ...r, resource: clone(r.resource), scopeProfiles: [] }),
    ),
  }),
};

const OPS: { [S in Signal]: SignalOps<SignalData[S]> } = { traces, metrics, logs, profiles };

/** Appends the resources of `from` to `to` (moving them; `from` must not be used afterwards). */
export function appendData<S extends Signal>(signal: S, to: SignalData[S], from: SignalData[S]): void {
  OPS[signal].append(to, from);
}

/** Removes the first `n` items from `from` and returns them, grouped under their resources and scopes. */
export function takeItems<S extends Signal>(signal: S, from: SignalData[S], n: number): SignalData[S] {
  return OPS[signal].take(from, n);
}
