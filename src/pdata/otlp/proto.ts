// OTLP/protobuf: Export*ServiceRequest and Export*ServiceResponse bytes <-> the data model.
import type { SignalData } from '../signal.ts';
import { OtlpDecodeError } from './errors.ts';
import * as fromProto from './from-proto.ts';
import type * as P from './proto-types.ts';
import { proto, type MessageType } from './root.ts';
import type { OtlpSignal } from './signal.ts';
import * as toProto from './to-proto.ts';
import { fromBigInt, toCount } from './wire.ts';

const collector = proto.collector;

const REQUESTS = {
  traces: collector.trace.v1.ExportTraceServiceRequest,
  metrics: collector.metrics.v1.ExportMetricsServiceRequest,
  logs: collector.logs.v1.ExportLogsServiceRequest,
} as const;

const RESPONSES: Record<OtlpSignal, MessageType<P.ExportResponse>> = {
  traces: collector.trace.v1.ExportTraceServiceResponse,
  metrics: collector.metrics.v1.ExportMetricsServiceResponse,
  logs: collector.logs.v1.ExportLogsServiceResponse,
};

/** The partial_success field that counts what a signal's response rejected. */
const REJECTED_FIELD = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' } as const;

export interface PartialSuccess {
  rejected: number;
  message: string;
}

function decodeError(what: string, error: unknown): OtlpDecodeError {
  if (error instanceof OtlpDecodeError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new OtlpDecodeError(`malformed ${what}: ${reason}`, { cause: error });
}

/** Decodes an Export*ServiceRequest. Throws OtlpDecodeError, and nothing else, on malformed bytes. */
export function decodeRequest<S extends OtlpSignal>(signal: S, bytes: Uint8Array): SignalData[S] {
  try {
    switch (signal) {
      case 'traces':
        return fromProto.traces(REQUESTS.traces.decode(bytes)) as SignalData[S];
      case 'metrics':
        return fromProto.metricsData(REQUESTS.metrics.decode(bytes)) as SignalData[S];
      case 'logs':
        return fromProto.logs(REQUESTS.logs.decode(bytes)) as SignalData[S];
    }
  } catch (error) {
    throw decodeError(`OTLP ${signal} protobuf request`, error);
  }
  throw new OtlpDecodeError(`not an OTLP signal: ${String(signal)}`);
}

/** Encodes the model as an Export*ServiceRequest. */
export function encodeRequest<S extends OtlpSignal>(signal: S, data: SignalData[S]): Uint8Array {
  switch (signal) {
    case 'traces':
      return REQUESTS.traces.encode(toProto.traces(data as SignalData['traces'])).finish();
    case 'metrics':
      return REQUESTS.metrics.encode(toProto.metricsData(data as SignalData['metrics'])).finish();
    case 'logs':
      return REQUESTS.logs.encode(toProto.logs(data as SignalData['logs'])).finish();
  }
  throw new TypeError(`not an OTLP signal: ${String(signal)}`);
}

/** An Export*ServiceResponse: empty for full success, with partial_success when something was rejected. */
export function encodeResponse(signal: OtlpSignal, partial?: PartialSuccess): Uint8Array {
  const response: P.ExportResponse = {};
  if (partial && (partial.rejected > 0 || partial.message)) {
    response.partialSuccess = { [REJECTED_FIELD[signal]]: fromBigInt(BigInt(partial.rejected)), errorMessage: partial.message };
  }
  return RESPONSES[signal].encode(response).finish();
}

/** The partial success an Export*ServiceResponse reports, or undefined when it reports none. */
export function decodeResponse(signal: OtlpSignal, bytes: Uint8Array): PartialSuccess | undefined {
  let response: P.ExportResponse;
  try {
    response = RESPONSES[signal].decode(bytes);
  } catch (error) {
    throw decodeError(`OTLP ${signal} protobuf response`, error);
  }
  const partial = response.partialSuccess;
  if (!partial) return undefined;
  const rejected = toCount(partial[REJECTED_FIELD[signal]]);
  const message = partial.errorMessage ?? '';
  // The spec: an empty partial_success (0 and "") means full success.
  if (rejected === 0 && message === '') return undefined;
  return { rejected, message };
}
