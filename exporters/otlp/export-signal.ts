// The signals the otlp and otlp_http exporters send, and what differs per signal on the wire:
// traces, metrics and logs go through bpfcol's OTLP codec; profiles (development status in
// OpenTelemetry) through the profiles encoder, to their own gRPC method and HTTP path.
import type { MethodDefinition } from '@grpc/grpc-js';
import { ConsumerError } from '../../src/component/errors.ts';
import { otlpGrpcServices, type OtlpGrpcResponse } from '../../src/pdata/otlp/grpc.ts';
import { OTLP_PROFILES_GRPC_PATH, OTLP_PROFILES_HTTP_PATH, encodeProfilesRequest } from '../../src/pdata/otlp/profiles.ts';
import { decodeResponse, encodeRequest, type PartialSuccess } from '../../src/pdata/otlp/proto.ts';
import { isOtlpSignal, type OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';

export type ExportSignal = OtlpSignal | 'profiles';

/** The creator of a disabled profiles signal: bpfcol refuses to start, naming the key. */
export function profilesDisabled(id: string): Error {
  return new Error(
    `${id}: the profiles signal is disabled: set exporters.${id}.profiles.enabled: true to send profiles ` +
      '(development status in OpenTelemetry; the receiving Collector needs --feature-gates=service.profilesSupport)',
  );
}

/**
 * A failed export, with a hint when the peer does not serve profiles (gRPC UNIMPLEMENTED, HTTP
 * 404): most likely a Collector without the feature gate or without a profiles pipeline.
 */
export function withProfilesHint(signal: ExportSignal, error: ConsumerError, notServed: boolean): ConsumerError {
  if (signal !== 'profiles' || !notServed) return error;
  const hint = ' (the peer does not take profiles: a Collector needs --feature-gates=service.profilesSupport and a profiles pipeline with its otlp receiver)';
  return new ConsumerError(error.message + hint, error.retryable, { cause: error.cause, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
}

/** The protobuf bytes of the Export*ServiceRequest holding `data`. */
export function encodeExportRequest<S extends ExportSignal>(signal: S, data: SignalData[S]): Uint8Array {
  if (isOtlpSignal(signal)) return encodeRequest(signal, data as SignalData[typeof signal]);
  return encodeProfilesRequest(data as SignalData['profiles']);
}

/**
 * The partial success of an Export*ServiceResponse. ExportProfilesServiceResponse has the layout of
 * the others (partial_success = 1 { int64 rejected_profiles = 1; string error_message = 2 }), so
 * the traces response decoder reads it; its count is of profiles, not samples.
 */
export function decodeExportResponse(signal: ExportSignal, bytes: Uint8Array): PartialSuccess | undefined {
  return decodeResponse(isOtlpSignal(signal) ? signal : 'traces', bytes);
}

/** The HTTP path appended to otlp_http's endpoint. */
export function httpPath(signal: ExportSignal): string {
  return signal === 'profiles' ? OTLP_PROFILES_HTTP_PATH : `/v1/${signal}`;
}

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/** The client side of the signal's unary Export method. */
export function grpcExportMethod<S extends ExportSignal>(signal: S): Pick<MethodDefinition<SignalData[S], OtlpGrpcResponse>, 'path' | 'requestSerialize' | 'responseDeserialize'> {
  if (isOtlpSignal(signal)) return otlpGrpcServices[signal].Export as MethodDefinition<SignalData[S], OtlpGrpcResponse>;
  return {
    path: OTLP_PROFILES_GRPC_PATH,
    requestSerialize: (data) => toBuffer(encodeExportRequest(signal, data)),
    responseDeserialize: (bytes) => decodeExportResponse(signal, bytes),
  };
}
