// The four signals and what the engine needs to know of each without looking inside.
import type { LogsData } from './logs.ts';
import type { MetricsData } from './metrics.ts';
import type { ProfilesData } from './profiles.ts';
import type { TracesData } from './traces.ts';

export const SIGNALS = ['traces', 'metrics', 'logs', 'profiles'] as const;
export type Signal = (typeof SIGNALS)[number];

export interface SignalData {
  traces: TracesData;
  metrics: MetricsData;
  logs: LogsData;
  profiles: ProfilesData;
}

export type AnySignalData = SignalData[Signal];

/** What one item of a signal is called in bpfcol's own metrics, as in the Collector's. */
export const ITEM_NAME: Record<Signal, string> = {
  traces: 'spans',
  metrics: 'metric_points',
  logs: 'log_records',
  profiles: 'profile_samples',
};

export function isSignal(value: string): value is Signal {
  return (SIGNALS as readonly string[]).includes(value);
}

/** Spans, metric data points, log records or profile samples in a batch. */
export function itemCount<S extends Signal>(signal: S, data: SignalData[S]): number {
  let n = 0;
  switch (signal) {
    case 'traces':
      for (const rs of (data as TracesData).resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
      return n;
    case 'metrics':
      for (const rm of (data as MetricsData).resourceMetrics)
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.data.dataPoints.length;
      return n;
    case 'logs':
      for (const rl of (data as LogsData).resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
      return n;
    case 'profiles':
      for (const rp of (data as ProfilesData).resourceProfiles)
        for (const sp of rp.scopeProfiles) for (const p of sp.profiles) n += p.samples.length;
      return n;
  }
  return n;
}

/** A deep copy, for a consumer that changes data another consumer also receives. */
export function cloneData<T extends AnySignalData>(data: T): T {
  return structuredClone(data);
}

export function emptyData<S extends Signal>(signal: S): SignalData[S] {
  const empty: SignalData = {
    traces: { resourceSpans: [] },
    metrics: { resourceMetrics: [] },
    logs: { resourceLogs: [] },
    profiles: { resourceProfiles: [] },
  };
  return empty[signal];
}
