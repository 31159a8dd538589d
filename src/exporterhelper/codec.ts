// How a queued batch becomes bytes, for the persistent queue and the bytes sizer: OTLP protobuf
// for traces, metrics and logs (stable across bpfcol versions, as the Collector's persistent
// queue stores it), the V8 serializer for bpfcol-internal profiles (OTLP profiles can be encoded
// but not decoded here, and a queue must read back what it wrote).
import { deserialize, serialize } from 'node:v8';
import { decodeRequest, encodeRequest } from '../pdata/otlp/proto.ts';
import { isOtlpSignal } from '../pdata/otlp/signal.ts';
import type { Signal, SignalData } from '../pdata/signal.ts';

export const CODEC_OTLP_PROTO = 1;
export const CODEC_V8 = 2;

export function codecFor(signal: Signal): number {
  return isOtlpSignal(signal) ? CODEC_OTLP_PROTO : CODEC_V8;
}

export function encodeBatch<S extends Signal>(signal: S, data: SignalData[S]): Uint8Array {
  if (isOtlpSignal(signal)) return encodeRequest(signal, data as SignalData[typeof signal]);
  return serialize(data);
}

/** Throws when the bytes are not a batch of `signal` in `codec`. */
export function decodeBatch<S extends Signal>(signal: S, codec: number, bytes: Uint8Array): SignalData[S] {
  if (codec === CODEC_OTLP_PROTO && isOtlpSignal(signal)) return decodeRequest(signal, bytes) as SignalData[S];
  if (codec === CODEC_V8) return deserialize(bytes) as SignalData[S];
  throw new Error(`codec ${codec} cannot hold ${signal}`);
}
