// The prometheusremotewrite exporter: metrics as remote write 1.0 (snappy-compressed protobuf) to
// Prometheus, Mimir, Thanos, VictoriaMetrics or any remote-write endpoint, through the exporter
// helper's queue and retries.
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { newExporter } from '../../src/exporterhelper/exporter.ts';
import { type PrwConfig, prwConfigSchema, validatePrwConfig } from './config.ts';
import { RemoteWriteSender } from './sender.ts';

export const prometheusRemoteWriteFactory: ExporterFactory<PrwConfig> = {
  kind: 'exporter',
  type: 'prometheusremotewrite',
  description: 'Sends metrics with Prometheus remote write 1.0 (snappy protobuf) to Prometheus, Mimir, Thanos, VictoriaMetrics...',
  configSchema: prwConfigSchema,
  validate: validatePrwConfig,
  create: {
    metrics: (settings: CreateSettings, config: PrwConfig) => {
      const problems = validatePrwConfig(config);
      if (problems.length > 0) throw new Error(`${settings.id.text}: ${problems.join('; ')}`);
      // The HTTP client applies `timeout` to each request itself.
      const helper = { sending_queue: config.sending_queue, retry_on_failure: config.retry_on_failure, timeout: 0 };
      return newExporter('metrics', settings, helper, new RemoteWriteSender(settings, config));
    },
  },
};
