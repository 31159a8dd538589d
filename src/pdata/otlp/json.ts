// OTLP/JSON: Export*ServiceRequest JSON <-> the data model.
import type { SignalData } from '../signal.ts';
import * as decode from './json-decode.ts';
import * as encode from './json-encode.ts';
import type { PartialSuccess } from './proto.ts';
import type { OtlpSignal } from './signal.ts';

/** The partial_success field that counts what a signal's response rejected. */
const REJECTED_FIELD = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' } as const;

/** Reads an Export*ServiceRequest in OTLP/JSON. Throws OtlpDecodeError on malformed input. */
export function fromJson<S extends OtlpSignal>(signal: S, text: string): SignalData[S] {
  const root = decode.parseJson(text);
  switch (signal) {
    case 'traces':
      return decode.traces(root) as SignalData[S];
    case 'metrics':
      return decode.metricsData(root) as SignalData[S];
    case 'logs':
      return decode.logs(root) as SignalData[S];
  }
  throw new TypeError(`not an OTLP signal: ${String(signal)}`);
}

/** The Export*ServiceRequest as a plain JSON object (ready for JSON.stringify: no bigints). */
export function toJsonObject<S extends OtlpSignal>(signal: S, data: SignalData[S]): object {
  switch (signal) {
    case 'traces':
      return encode.traces(data as SignalData['traces']);
    case 'metrics':
      return encode.metricsData(data as SignalData['metrics']);
    case 'logs':
      return encode.logs(data as SignalData['logs']);
  }
  throw new TypeError(`not an OTLP signal: ${String(signal)}`);
}

/** The Export*ServiceRequest as one line of JSON, as the Collector's file exporter writes it. */
export function toJson<S extends OtlpSignal>(signal: S, data: SignalData[S]): string {
  return JSON.stringify(toJsonObject(signal, data));
}

/** An Export*ServiceResponse in OTLP/JSON: `{}` for full success, with partialSuccess otherwise. */
export function responseToJson(signal: OtlpSignal, partial?: PartialSuccess): string {
  if (!partial || (partial.rejected <= 0 && !partial.message)) return '{}';
  const body: Record<string, string> = {};
  if (partial.rejected > 0) body[REJECTED_FIELD[signal]] = String(partial.rejected);
  if (partial.message) body.errorMessage = partial.message;
  return JSON.stringify({ partialSuccess: body });
}

/** The partial success an OTLP/JSON Export*ServiceResponse reports, or undefined when none. */
export function responseFromJson(signal: OtlpSignal, text: string): PartialSuccess | undefined {
  if (text.trim() === '') return undefined;
  const partial = decode.parseJson(text).child('partialSuccess');
  if (!partial) return undefined;
  const rejected = partial.count(REJECTED_FIELD[signal]);
  const message = partial.str('errorMessage');
  return rejected === 0 && message === '' ? undefined : { rejected, message };
}

