// google.rpc.Status, which gRPC sends in the grpc-status-details-bin trailer and OTLP/HTTP in
// every 4xx/5xx body, with the one detail an exporter acts on: google.rpc.RetryInfo (how long
// the peer asks it to wait before retrying).
import protobuf from 'protobufjs';
import { OtlpDecodeError } from './errors.ts';
import type { Int64 } from './proto-types.ts';
import { toInt64 } from './wire.ts';

export const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

export interface RpcStatus {
  code: number;
  message: string;
  /** RetryInfo.retry_delay, in milliseconds, when the status carries one. */
  retryDelayMs?: number;
}

// Status { int32 code = 1; string message = 2; repeated Any details = 3; }
// Any { string type_url = 1; bytes value = 2; }
// RetryInfo { Duration retry_delay = 1; }  Duration { int64 seconds = 1; int32 nanos = 2; }

function decodeDuration(bytes: Uint8Array): number {
  const r = protobuf.Reader.create(bytes);
  let seconds = 0n;
  let nanos = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x08) seconds = toInt64(r.int64() as Int64);
    else if (tag === 0x10) nanos = r.int32();
    else r.skipType(tag & 7);
  }
  return Number(seconds) * 1000 + nanos / 1e6;
}

function decodeRetryInfo(bytes: Uint8Array): number | undefined {
  const r = protobuf.Reader.create(bytes);
  let delay: number | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 0x0a) delay = decodeDuration(r.bytes());
    else r.skipType(tag & 7);
  }
  return delay;
}

/** Decodes a google.rpc.Status; throws OtlpDecodeError when the bytes are not one. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  try {
    const r = protobuf.Reader.create(bytes);
    const status: RpcStatus = { code: 0, message: '' };
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x08) status.code = r.int32();
      else if (tag === 0x12) status.message = r.string();
      else if (tag === 0x1a) {
        const any = protobuf.Reader.create(r.bytes());
        let typeUrl = '';
        let value: Uint8Array = new Uint8Array();
        while (any.pos < any.len) {
          const t = any.uint32();
          if (t === 0x0a) typeUrl = any.string();
          else if (t === 0x12) value = any.bytes();
          else any.skipType(t & 7);
        }
        if (typeUrl === RETRY_INFO_TYPE) {
          const delay = decodeRetryInfo(value);
          if (delay !== undefined) status.retryDelayMs = delay;
        }
      } else r.skipType(tag & 7);
    }
    return status;
  } catch (error) {
    throw new OtlpDecodeError(`malformed google.rpc.Status: ${(error as Error).message}`, { cause: error });
  }
}

/** Encodes a google.rpc.Status, with a RetryInfo detail when retryDelayMs is given. */
export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const w = protobuf.Writer.create();
  if (status.code) w.uint32(0x08).int32(status.code);
  if (status.message) w.uint32(0x12).string(status.message);
  if (status.retryDelayMs !== undefined) {
    const seconds = Math.floor(status.retryDelayMs / 1000);
    const nanos = Math.round((status.retryDelayMs - seconds * 1000) * 1e6);
    const duration = protobuf.Writer.create().uint32(0x08).int64(seconds).uint32(0x10).int32(nanos).finish();
    const retryInfo = protobuf.Writer.create().uint32(0x0a).bytes(duration).finish();
    w.uint32(0x1a).fork().uint32(0x0a).string(RETRY_INFO_TYPE).uint32(0x12).bytes(retryInfo).ldelim();
  }
  return w.finish();
}
