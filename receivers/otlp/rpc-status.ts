// google.rpc.Status, the body of every OTLP/HTTP error response, in the request's encoding
// (the OTLP specification's "Failures" section; the Collector answers the same way).
import protobuf from 'protobufjs';

/** The gRPC status codes the receiver answers with. */
export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
} as const;

export type Encoding = 'proto' | 'json';

/** Status { int32 code = 1; string message = 2; } (no details). */
export function encodeStatus(encoding: Encoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return protobuf.Writer.create().uint32(0x08).int32(code).uint32(0x12).string(message).finish();
}

/** The gRPC code that matches an HTTP status, as the Collector's errors.NewStatusFromMsgAndHTTPCode. */
export function grpcCodeForHttp(status: number): number {
  if (status === 404) return GrpcCode.NOT_FOUND;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcCode.UNAVAILABLE;
  return GrpcCode.INVALID_ARGUMENT;
}
