// OTLP/gRPC on @grpc/grpc-js, answering as the Collector's otlpreceiver: malformed payloads
// InvalidArgument, retryable refusals Unavailable, permanent ones InvalidArgument, a signal
// without a pipeline Unimplemented. grpc-js itself accepts grpc-encoding gzip/deflate and holds
// the decompressed message to max_recv_msg_size_mib.
import * as grpc from '@grpc/grpc-js';
import { splitHostPort } from '../../src/config/types.ts';
import { type OtlpGrpcResponse, otlpGrpcServices, serverRequest } from '../../src/pdata/otlp/grpc.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { GrpcConfig } from './config.ts';
import { listenErrorMessage, type TlsMaterial } from './listen.ts';
import { OTLP_SIGNALS, type OtlpSignal, pushToPipeline, type SignalConsumers } from './pipeline.ts';

const MIB = 1024 * 1024;

export interface OtlpGrpcServerOptions {
  config: GrpcConfig;
  tls: TlsMaterial | undefined;
  consumers: SignalConsumers;
  logger: Logger;
  /** Counts a request whose payload could not be decoded. */
  onMalformed: () => void;
}

type ExportCall = grpc.ServerUnaryCall<unknown, OtlpGrpcResponse>;
type ExportCallback = grpc.sendUnaryData<OtlpGrpcResponse>;

export class OtlpGrpcServer {
  private readonly options: OtlpGrpcServerOptions;
  private readonly server: grpc.Server;
  private boundPort = 0;
  private stopped = false;

  constructor(options: OtlpGrpcServerOptions) {
    this.options = options;
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': options.config.max_recv_msg_size_mib * MIB });
    for (const signal of OTLP_SIGNALS) this.addService(signal);
  }

  /** Serves the signal's Export method with the codec's service definition. */
  private addService(signal: OtlpSignal): void {
    const definition = otlpGrpcServices[signal];
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
      implementation[name] = (call: ExportCall, callback: ExportCallback) => {
        this.export(signal, method.path, call, callback).catch((error: unknown) => {
          this.options.logger.error('OTLP/gRPC request failed', { error });
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        });
      };
    }
    this.server.addService(definition, implementation);
  }

  private async export(signal: OtlpSignal, path: string, call: ExportCall, callback: ExportCallback): Promise<void> {
    const consumer = this.options.consumers.get(signal);
    if (!consumer) {
      callback({ code: grpc.status.UNIMPLEMENTED, details: `unknown method ${path}: this receiver feeds no ${signal} pipeline` });
      return;
    }
    // The codec's deserializer never throws (grpc-js would answer Internal): it hands over the
    // decode error, which is the client's fault, so InvalidArgument.
    const request = serverRequest<typeof signal>(call.request);
    if (request.error) {
      this.options.onMalformed();
      this.options.logger.debug('malformed OTLP/gRPC request', { signal, error: request.error });
      callback({ code: grpc.status.INVALID_ARGUMENT, details: request.error.message });
      return;
    }
    const outcome = await pushToPipeline(consumer, request.data);
    if (outcome.ok) callback(null, undefined);
    else callback({ code: outcome.retryable ? grpc.status.UNAVAILABLE : grpc.status.INVALID_ARGUMENT, details: outcome.message });
  }

  /** Binds the configured endpoint; rejects with "cannot listen on ...: address in use". */
  async start(): Promise<void> {
    const { endpoint } = this.options.config;
    const { host, port } = splitHostPort(endpoint);
    const { tls } = this.options;
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined)
      : grpc.ServerCredentials.createInsecure();
    const address = host === '' ? `0.0.0.0:${port}` : endpoint;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentials, (error, bound) => {
        if (error) reject(new Error(listenErrorMessage(endpoint, error), { cause: error }));
        else resolve(bound);
      });
    });
  }

  /** The bound port (useful when the endpoint asked for port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** Stops accepting, lets calls in flight finish for up to `timeoutMs`, then cuts the rest off. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.options.logger.warn('OTLP/gRPC calls still in flight at shutdown were cut off', { timeoutMs });
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
