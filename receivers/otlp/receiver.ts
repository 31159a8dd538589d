// One otlp receiver: the gRPC and HTTP servers its config enables, serving traces, metrics and
// logs to whichever pipelines registered a consumer for them (see factory.ts).
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { type OtlpReceiverConfig, validateOtlpReceiverConfig } from './config.ts';
import { OtlpGrpcServer } from './grpc-server.ts';
import { OtlpHttpServer } from './http-server.ts';
import { loadServerTls } from './listen.ts';
import { SignalConsumers } from './pipeline.ts';

/** How long shutdown lets requests in flight finish before cutting them off. */
export const SHUTDOWN_GRACE_MS = 5_000;

export class OtlpReceiver implements Component {
  readonly consumers = new SignalConsumers();
  private readonly settings: CreateSettings;
  private readonly config: OtlpReceiverConfig;
  private readonly malformed: Counter;
  private grpcServer: OtlpGrpcServer | undefined;
  private httpServer: OtlpHttpServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(settings: CreateSettings, config: OtlpReceiverConfig) {
    this.settings = settings;
    this.config = config;
    this.malformed = settings.telemetry.counter(
      'receiver_malformed_requests',
      'OTLP requests refused because their body could not be read or decoded (bad content type or encoding, too large, malformed).',
      '{requests}',
    );
  }

  /** Where errors come from, as the config names it: `receivers.otlp/in`. */
  private get where(): string {
    return `receivers.${this.settings.id.text}`;
  }

  async start(): Promise<void> {
    const problems = validateOtlpReceiverConfig(this.config);
    if (problems.length > 0) throw new Error(`${this.where}: ${problems.join('; ')}`);
    const { grpc, http } = this.config.protocols;
    const { logger, configDir } = this.settings;
    try {
      if (grpc) {
        const tls = await loadServerTls(grpc.tls, configDir, 'protocols.grpc');
        this.grpcServer = new OtlpGrpcServer({
          config: grpc,
          tls,
          consumers: this.consumers,
          logger,
          onMalformed: () => this.malformed.add(1, { transport: 'grpc' }),
        });
        await this.grpcServer.start();
        logger.info('OTLP/gRPC receiver listening', { endpoint: grpc.endpoint, port: this.grpcServer.port, tls: tls !== undefined });
      }
      if (http) {
        const tls = await loadServerTls(http.tls, configDir, 'protocols.http');
        this.httpServer = new OtlpHttpServer({
          config: http,
          tls,
          consumers: this.consumers,
          logger,
          onMalformed: () => this.malformed.add(1, { transport: 'http' }),
        });
        await this.httpServer.start();
        logger.info('OTLP/HTTP receiver listening', { endpoint: http.endpoint, port: this.httpServer.port, tls: tls !== undefined });
      }
    } catch (error) {
      // Leave nothing bound when half of the receiver came up.
      await this.stopServers();
      throw new Error(`${this.where}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The ports actually bound (the configured ones, or the kernel's pick for port 0). */
  get ports(): { grpc?: number; http?: number } {
    return { grpc: this.grpcServer?.port, http: this.httpServer?.port };
  }

  shutdown(): Promise<void> {
    return (this.stopping ??= this.stopServers());
  }

  private async stopServers(): Promise<void> {
    await Promise.all([this.grpcServer?.shutdown(SHUTDOWN_GRACE_MS), this.httpServer?.shutdown(SHUTDOWN_GRACE_MS)]);
  }
}
