// Turns one batch into the bytes of one record in the file: an OTLP/JSON Export*ServiceRequest
// and a newline (format json), or a 4-byte big-endian length and the OTLP/protobuf request
// (format proto), exactly as the Collector's file exporter frames them. Profiles have no OTLP
// encoding in bpfcol yet: format json writes the model as JSON (bigints as decimal strings,
// bytes as base64); format proto refuses them.
import { toJson } from '../../src/pdata/otlp/json.ts';
import { encodeRequest } from '../../src/pdata/otlp/proto.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';

export type Format = 'json' | 'proto';
export type Encoder<S extends Signal> = (data: SignalData[S]) => Uint8Array;

function modelJson(data: unknown): string {
  return JSON.stringify(data, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    return value;
  });
}

function lengthPrefixed(message: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + message.length);
  out.writeUInt32BE(message.length, 0);
  out.set(message, 4);
  return out;
}

/** The encoder of a signal in a format; throws when the pair is not supported. */
export function encoderFor<S extends Signal>(signal: S, format: Format): Encoder<S> {
  if (signal === 'profiles') {
    if (format === 'proto') throw new Error('format proto cannot write profiles yet: use format json');
    return (data) => Buffer.from(modelJson(data) + '\n');
  }
  const otlp = signal as Exclude<Signal, 'profiles'>;
  if (format === 'json') return (data) => Buffer.from(toJson(otlp, data as SignalData[typeof otlp]) + '\n');
  return (data) => lengthPrefixed(encodeRequest(otlp, data as SignalData[typeof otlp]));
}
