// verbosity: basic — the one-line summary the Collector's debug exporter logs for every batch.
import type { LogFields } from '../../src/telemetry/logger.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { itemCount, type Signal, type SignalData } from '../../src/pdata/signal.ts';

export const SUMMARY_MESSAGE: Record<Signal, string> = {
  traces: 'TracesExporter',
  metrics: 'MetricsExporter',
  logs: 'LogsExporter',
  profiles: 'ProfilesExporter',
};

export function summaryFields<S extends Signal>(signal: S, data: SignalData[S]): LogFields {
  const items = itemCount(signal, data);
  switch (signal) {
    case 'traces':
      return { 'resource spans': (data as SignalData['traces']).resourceSpans.length, spans: items };
    case 'metrics': {
      const md = data as MetricsData;
      let metrics = 0;
      for (const rm of md.resourceMetrics) for (const sm of rm.scopeMetrics) metrics += sm.metrics.length;
      return { 'resource metrics': md.resourceMetrics.length, metrics, 'data points': items };
    }
    case 'logs':
      return { 'resource logs': (data as SignalData['logs']).resourceLogs.length, 'log records': items };
    default:
      return { 'resource profiles': (data as SignalData['profiles']).resourceProfiles.length, 'sample records': items };
  }
}
