// One running bpfcol: config in, telemetry endpoint up, graph built and started; shutdown drains.
import type { Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Factories } from './component/component.ts';
import type { ConfigIssue } from './config/errors.ts';
import { loadConfigFiles } from './config/load.ts';
import { loadModules } from './config/modules.ts';
import { type ResolvedConfig, type ResolvedPipeline, resolveConfig } from './config/resolve.ts';
import { buildGraph } from './pipeline/graph.ts';
import { Service } from './pipeline/service.ts';
import { createLogger, type Logger } from './telemetry/logger.ts';
import { registerProcessMetrics } from './telemetry/process-metrics.ts';
import { meterTelemetry, nopTelemetry, type SelfTelemetry } from './telemetry/self.ts';
import { startTelemetryServer } from './telemetry/server.ts';
import { Tally } from './telemetry/tally.ts';
import { VERSION } from './version.ts';

export interface CollectorOptions {
  configPaths: string[];
  factories: Factories;
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (stderr by default). */
  writeLog?: (line: string) => void;
}

/** The directory relative paths in the config (modules, files) are resolved against. */
export function configDirOf(configPaths: string[]): string {
  return dirname(resolve(configPaths[0] ?? '.'));
}

/**
 * Loads and checks the config, importing user modules it names; throws ConfigError listing
 * every problem. Creates no component.
 */
export async function loadResolvedConfig(options: CollectorOptions): Promise<{ config: ResolvedConfig; unsetEnv: string[]; raw: Record<string, unknown> }> {
  const loaded = loadConfigFiles(options.configPaths, options.env);
  const moduleIssues: ConfigIssue[] = [];
  const modules = await loadModules(loaded.raw, configDirOf(options.configPaths), moduleIssues);
  return { config: resolveConfig(loaded.raw, options.factories, modules, moduleIssues), unsetEnv: loaded.unsetEnv, raw: loaded.raw };
}

/** `traces: otlp -> memory_limiter, batch -> debug, file/traces` */
export function describePipeline(p: ResolvedPipeline): string {
  const processors = p.processors.length ? ` -> ${p.processors.join(', ')}` : '';
  return `${p.id}: ${p.receivers.join(', ')}${processors} -> ${p.exporters.join(', ')}`;
}

export class Collector {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  private readonly options: CollectorOptions;
  private service?: Service;
  private meterProvider?: MeterProvider;
  private server?: Server;
  private stopping?: Promise<void>;
  private readonly tally = new Tally();
  private readonly startedAt = Date.now();

  /** Loads and checks the config (throws ConfigError); starts nothing. */
  static async create(options: CollectorOptions): Promise<Collector> {
    const { config, unsetEnv } = await loadResolvedConfig(options);
    return new Collector(options, config, unsetEnv);
  }

  private constructor(options: CollectorOptions, config: ResolvedConfig, unsetEnv: string[]) {
    this.options = options;
    this.config = config;
    this.logger = createLogger({
      level: config.telemetry.logs.level,
      encoding: config.telemetry.logs.encoding,
      ...(options.writeLog ? { write: options.writeLog } : {}),
    });
    for (const name of unsetEnv) this.logger.warn('config references an unset environment variable; it expands to ""', { variable: name });
  }

  private selfTelemetry(): { telemetry: SelfTelemetry; exporter?: PrometheusExporter } {
    if (this.config.telemetry.metrics.level === 'none') return { telemetry: nopTelemetry };
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    this.meterProvider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'bpfcol', 'service.version': VERSION, ...this.config.telemetry.resource }),
      readers: [exporter],
    });
    const telemetry = meterTelemetry(this.meterProvider.getMeter('bpfcol'), {}, this.tally);
    registerProcessMetrics(telemetry);
    return { telemetry, exporter };
  }

  /** What the kernel lacks for the configured components, as `receivers.id: ...` lines. */
  kernelProblems(): string[] {
    const problems: string[] = [];
    const sections = [
      ['receivers', this.config.receivers],
      ['processors', this.config.processors],
      ['exporters', this.config.exporters],
      ['connectors', this.config.connectors],
    ] as const;
    for (const [section, components] of sections) {
      for (const [id, c] of components) {
        for (const missing of c.factory.missingKernelFeatures?.(c.config) ?? []) problems.push(`${section}.${id}: ${missing}`);
      }
    }
    return problems;
  }

  /** Starts everything; rejects (having stopped what started) when a component cannot start. */
  async start(): Promise<void> {
    const problems = this.kernelProblems();
    if (problems.length > 0) {
      throw new Error(`this kernel cannot run the configured receivers (nothing was attached; see bpfcol probe):\n  ${problems.join('\n  ')}`);
    }
    const { telemetry, exporter } = this.selfTelemetry();
    const configDir = configDirOf(this.options.configPaths);
    const graph = buildGraph(this.config, { logger: this.logger, telemetry, configDir });
    this.service = new Service(graph, this.logger);
    if (exporter) {
      this.server = await startTelemetryServer({
        address: this.config.telemetry.metrics.address,
        exporter,
        health: () => ({
          healthy: this.service?.state === 'running',
          status: this.service?.state ?? 'created',
          uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
          pipelines: this.config.pipelines.map(describePipeline),
          components: this.tally.snapshot(),
        }),
      });
    }
    try {
      await this.service.start();
    } catch (error) {
      await this.closeTelemetry();
      throw error;
    }
    for (const p of this.config.pipelines) this.logger.info(`pipeline ${describePipeline(p)}`);
    this.logger.info('everything is ready; data flows', {
      pipelines: this.config.pipelines.map((p) => p.id).join(','),
      ...(this.server ? { telemetry: `http://${this.config.telemetry.metrics.address}/metrics` } : {}),
    });
  }

  /** Drains and stops everything once; safe before start and safe twice. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down');
      await this.service?.shutdown();
      await this.closeTelemetry();
      this.logger.info('shutdown complete');
    })();
    return this.stopping;
  }

  private async closeTelemetry(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await this.meterProvider?.shutdown().catch(() => {});
    this.meterProvider = undefined;
  }
}
