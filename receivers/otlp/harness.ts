// Test support for the otlp receiver: starts it through its factory, as the engine does (one
// create per signal, every handle started), on loopback ports chosen at run time, with a
// capturing consumer per signal; plus small raw clients for requests the SDKs never send.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { Receiver } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { freePort } from '../../test/support/ports.ts';
import { type RecordingTelemetry, recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { otlpReceiverConfigSchema } from './config.ts';
import { otlpFactory } from './factory.ts';
import { OTLP_SIGNALS, type OtlpSignal } from './pipeline.ts';

/** A SinkConsumer that also tells how many batches are inside consume right now. */
export class CapturingConsumer<S extends OtlpSignal> extends SinkConsumer<S> {
  pending = 0;

  override async consume(data: SignalData[S]): Promise<void> {
    this.pending++;
    try {
      await super.consume(data);
    } finally {
      this.pending--;
    }
  }
}

export interface RunningOtlp {
  grpcPort: number;
  httpPort: number;
  /** `http://127.0.0.1:<grpc port>`, what the gRPC exporters take as url. */
  grpcUrl: string;
  /** `http://127.0.0.1:<http port>`. */
  httpUrl: string;
  traces: CapturingConsumer<'traces'>;
  metrics: CapturingConsumer<'metrics'>;
  logs: CapturingConsumer<'logs'>;
  telemetry: RecordingTelemetry;
  handles: Receiver[];
  /** Shuts every handle down (as the engine does). */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Raw `protocols` settings merged over both protocols on free ports; `null` leaves one out. */
  grpc?: Record<string, unknown> | null;
  http?: Record<string, unknown> | null;
  /** The signals that have a pipeline; all three by default. */
  signals?: readonly OtlpSignal[];
  id?: string;
  configDir?: string;
  /** Create only; the test starts the handles itself. */
  noStart?: boolean;
}

export async function startOtlp(options: StartOptions = {}): Promise<RunningOtlp> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const protocols: Record<string, unknown> = {};
  if (options.grpc !== null) protocols.grpc = { endpoint: `127.0.0.1:${grpcPort}`, ...options.grpc };
  if (options.http !== null) protocols.http = { endpoint: `127.0.0.1:${httpPort}`, ...options.http };
  const config = otlpReceiverConfigSchema.parse({ protocols });
  const telemetry = recordingTelemetry();
  const sinks = { traces: new CapturingConsumer<'traces'>(), metrics: new CapturingConsumer<'metrics'>(), logs: new CapturingConsumer<'logs'>() };
  const handles: Receiver[] = [];
  const id = options.id ?? 'otlp';
  for (const signal of options.signals ?? OTLP_SIGNALS) {
    const settings = testSettings(id, 'receiver', signal, { telemetry, ...(options.configDir ? { configDir: options.configDir } : {}) });
    const create = otlpFactory.create[signal]!;
    handles.push((create as (s: typeof settings, c: typeof config, n: Consumer<typeof signal>) => Receiver)(settings, config, sinks[signal] as Consumer<typeof signal>));
  }
  const running: RunningOtlp = {
    grpcPort,
    httpPort,
    grpcUrl: `http://127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ...sinks,
    telemetry,
    handles,
    stop: async () => {
      await Promise.all(handles.map((h) => h.shutdown()));
    },
  };
  if (!options.noStart) {
    try {
      for (const handle of handles) await handle.start({ getExtension: () => undefined });
    } catch (error) {
      await running.stop();
      throw error;
    }
  }
  return running;
}

export const GRPC_PATHS: Record<OtlpSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/** One unary OTLP/gRPC call with raw bytes, as a misbehaving client would make it. */
export async function rawGrpcExport(
  port: number,
  signal: OtlpSignal,
  body: Uint8Array,
  options: { gzip?: boolean; credentials?: grpc.ChannelCredentials; host?: string; tlsServerName?: string } = {},
): Promise<{ ok: true; response: Buffer } | { ok: false; code: grpc.status; details: string }> {
  const channelOptions: grpc.ChannelOptions = {
    ...(options.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
    ...(options.tlsServerName ? { 'grpc.ssl_target_name_override': options.tlsServerName } : {}),
  };
  const client = new grpc.Client(`${options.host ?? '127.0.0.1'}:${port}`, options.credentials ?? grpc.credentials.createInsecure(), channelOptions);
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest(
        GRPC_PATHS[signal],
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(body),
        (error, response) => {
          if (error) resolve({ ok: false, code: error.code, details: error.details });
          else resolve({ ok: true, response: response ?? Buffer.alloc(0) });
        },
      );
    });
  } finally {
    client.close();
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** One OTLP/HTTP POST with node's fetch. */
export async function post(url: string, body: Uint8Array | string, headers: Record<string, string>, method = 'POST'): Promise<HttpResult> {
  const res = await fetch(url, { method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body }) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Reads a google.rpc.Status (code and message) from protobuf bytes. */
export function decodeStatusProto(bytes: Uint8Array): { code: number; message: string } {
  const reader = protobuf.Reader.create(bytes);
  const out = { code: 0, message: '' };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) out.code = reader.int32();
    else if (tag >>> 3 === 2) out.message = reader.string();
    else reader.skipType(tag & 7);
  }
  return out;
}
