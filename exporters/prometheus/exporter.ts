// The prometheus exporter: consume() updates the stored series, Prometheus pulls them from /metrics.
import type { CreateSettings, Exporter, Host } from '../../src/component/component.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import { Accumulator } from './accumulator.ts';
import type { PrometheusConfig } from './config.ts';
import { ExpositionWriter } from './exposition.ts';
import { sanitizeNamespace } from './names.ts';
import { MetricsServer } from './server.ts';

export class PrometheusExporter implements Exporter<'metrics'> {
  readonly capabilities = { mutatesData: false };
  private readonly accumulator: Accumulator;
  private readonly writer: ExpositionWriter;
  private readonly server: MetricsServer;
  private readonly logger: Logger;

  constructor(settings: Pick<CreateSettings, 'logger'>, config: PrometheusConfig) {
    this.logger = settings.logger;
    this.accumulator = new Accumulator({
      expirationMs: config.metric_expiration,
      resourceToTelemetry: config.resource_to_telemetry_conversion.enabled,
    });
    this.writer = new ExpositionWriter(
      {
        namespace: sanitizeNamespace(config.namespace),
        sendTimestamps: config.send_timestamps,
        constLabels: config.const_labels,
        withoutScopeInfo: config.without_scope_info,
      },
      (message) => this.logger.warn(message),
    );
    this.server = new MetricsServer(config.endpoint, () => this.render());
  }

  /** The port /metrics is served on once started. */
  get port(): number | undefined {
    return this.server.port;
  }

  /** How many series are stored right now. */
  get seriesCount(): number {
    return this.accumulator.size;
  }

  async consume(data: MetricsData): Promise<void> {
    const { dropped, reasons } = this.accumulator.add(data, Date.now());
    if (dropped > 0) this.logger.debug('points not stored', { dropped, reasons: [...reasons].join(', ') });
  }

  /** The exposition text a scrape gets now. */
  render(): string {
    return this.writer.render(this.accumulator.collect(Date.now()));
  }

  async start(_host?: Host): Promise<void> {
    await this.server.start();
    this.logger.info('serving Prometheus metrics', { url: `http://${this.server.address}/metrics` });
  }

  async shutdown(): Promise<void> {
    await this.server.shutdown();
    this.accumulator.clear();
  }
}
