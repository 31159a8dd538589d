// The prometheus exporter's factory: metrics only.
import type { ExporterFactory } from '../../src/component/component.ts';
import { prometheusConfigSchema, type PrometheusConfig } from './config.ts';
import { PrometheusExporter } from './exporter.ts';

export const prometheusFactory: ExporterFactory<PrometheusConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  description: 'Serves the metrics it receives for Prometheus to scrape (pull endpoint /metrics)',
  configSchema: prometheusConfigSchema,
  create: {
    metrics: (settings, config) => new PrometheusExporter(settings, config),
  },
};
