// gRPC service definitions for the three OTLP services, for @grpc/grpc-js clients and servers.
// Clients send the model and get back the partial success; servers get an OtlpGrpcRequest.
import type * as grpc from '@grpc/grpc-js';
import type { SignalData } from '../signal.ts';
import { OtlpDecodeError } from './errors.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type PartialSuccess } from './proto.ts';
import type { OtlpSignal } from './signal.ts';

/** The full method path per signal, as gRPC puts it on the wire. */
export const otlpGrpcMethodPaths: Record<OtlpSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/**
 * What a server handler receives: the decoded request, or why it could not be decoded. The
 * deserializer must not throw: grpc-js would answer INTERNAL, where OTLP wants InvalidArgument.
 */
export type OtlpGrpcRequest<S extends OtlpSignal> =
  | { data: SignalData[S]; bytes: number; error?: undefined }
  | { data?: undefined; bytes: number; error: OtlpDecodeError };

/** The response a server handler answers with: undefined for full success. */
export type OtlpGrpcResponse = PartialSuccess | undefined;

const toBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));

function method<S extends OtlpSignal>(signal: S): grpc.MethodDefinition<SignalData[S], OtlpGrpcResponse> {
  return {
    path: otlpGrpcMethodPaths[signal],
    originalName: 'export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (data) => toBuffer(encodeRequest(signal, data)),
    // Typed as the client sends it; the server actually receives an OtlpGrpcRequest (see above).
    requestDeserialize: (bytes): SignalData[S] => {
      try {
        return { data: decodeRequest(signal, bytes), bytes: bytes.length } as unknown as SignalData[S];
      } catch (error) {
        const e = error instanceof OtlpDecodeError ? error : new OtlpDecodeError(String(error));
        return { error: e, bytes: bytes.length } as unknown as SignalData[S];
      }
    },
    responseSerialize: (partial) => toBuffer(encodeResponse(signal, partial)),
    responseDeserialize: (bytes) => decodeResponse(signal, bytes),
  };
}

/** One service per signal, each with its single unary `Export` method. */
export const otlpGrpcServices: Record<OtlpSignal, grpc.ServiceDefinition> = {
  traces: { Export: method('traces') },
  metrics: { Export: method('metrics') },
  logs: { Export: method('logs') },
};

/** The request a server handler gets from `call.request` (see OtlpGrpcRequest). */
export function serverRequest<S extends OtlpSignal>(request: unknown): OtlpGrpcRequest<S> {
  return request as OtlpGrpcRequest<S>;
}
