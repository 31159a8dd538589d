// Registers the metrics_aggregation processor (metrics only).
import type { ProcessorFactory } from '../../src/component/component.ts';
import { configSchema, type MetricsAggregationConfig } from './config.ts';
import { MetricsAggregationProcessor } from './processor.ts';

export const metricsAggregationFactory: ProcessorFactory<MetricsAggregationConfig> = {
  kind: 'processor',
  type: 'metrics_aggregation',
  description: 'Folds away point attributes of chosen metrics and re-aggregates sums, histograms and gauges over a window, as delta or cumulative.',
  configSchema,
  create: { metrics: (settings, config, next) => new MetricsAggregationProcessor(settings, config, next) },
};
