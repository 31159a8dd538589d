// The filter processor: keeps or drops spans, metric data points and log records by name,
// attributes, resource attributes and more, strict or by regular expression, as the Collector's
// filterprocessor (its include/exclude match properties). Counts what it drops.
import type { CreateSettings, Processor, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { configSchema, type FilterConfig } from './config.ts';
import { compileFilters, type Filters } from './filter.ts';

type FilterSignal = keyof Filters;

const COUNTERS: Record<FilterSignal, [string, string]> = {
  traces: ['processor_filter_spans_filtered', '{spans}'],
  metrics: ['processor_filter_datapoints_filtered', '{datapoints}'],
  logs: ['processor_filter_logs_filtered', '{logs}'],
};

function create<S extends FilterSignal>(signal: S) {
  return (settings: CreateSettings, config: FilterConfig, next: Consumer<S>): Processor<S> => {
    const filter = compileFilters(config)[signal] as ((d: SignalData[S]) => number) | undefined;
    const [name, unit] = COUNTERS[signal];
    const filtered = settings.telemetry.counter(name, `Items the filter processor dropped.`, unit);
    return {
      capabilities: { mutatesData: filter !== undefined },
      async start() {},
      async shutdown() {},
      async consume(data: SignalData[S]) {
        if (filter) {
          const n = filter(data);
          if (n > 0) filtered.add(n);
        }
        // As in the Collector, a batch filtered down to nothing is not sent on.
        const empty = signal === 'traces' ? (data as SignalData['traces']).resourceSpans.length === 0
          : signal === 'metrics' ? (data as SignalData['metrics']).resourceMetrics.length === 0
          : (data as SignalData['logs']).resourceLogs.length === 0;
        if (!empty) await next.consume(data);
      },
    };
  };
}

export const filterFactory: ProcessorFactory<FilterConfig> = {
  kind: 'processor',
  type: 'filter',
  description: 'Keeps or drops spans, metric data points and log records by name, attributes and resource attributes (strict or regexp).',
  configSchema,
  create: { traces: create('traces'), metrics: create('metrics'), logs: create('logs') },
};
