// gRPC failures as ConsumerErrors, as the Collector's otlpexporter decides: the codes the OTLP
// specification calls retryable are retryable, ResourceExhausted only when the server sent
// RetryInfo (it can recover), everything else is permanent. RetryInfo's delay is the hint.
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { ConsumerError } from '../../src/component/errors.ts';
import { decodeRpcStatus } from '../../src/pdata/otlp/rpc-status.ts';

const RETRYABLE = new Set<number>([Status.CANCELLED, Status.DEADLINE_EXCEEDED, Status.ABORTED, Status.OUT_OF_RANGE, Status.UNAVAILABLE, Status.DATA_LOSS]);

/** The RetryInfo delay in the grpc-status-details-bin trailer, if the server sent one. */
export function retryDelayMs(error: ServiceError): number | undefined {
  const [details] = error.metadata?.get('grpc-status-details-bin') ?? [];
  if (!(details instanceof Uint8Array)) return undefined;
  try {
    return decodeRpcStatus(details).retryDelayMs;
  } catch {
    return undefined;
  }
}

export function grpcError(error: ServiceError, target: string): ConsumerError {
  const delay = retryDelayMs(error);
  const code = Status[error.code] ?? String(error.code);
  const retryable = RETRYABLE.has(error.code) || (error.code === Status.RESOURCE_EXHAUSTED && delay !== undefined);
  const hint = delay !== undefined ? ` (the server asks to retry after ${delay} ms)` : '';
  const message = `export to ${target} failed: ${code}: ${error.details || error.message}${hint}`;
  return new ConsumerError(message, retryable, delay === undefined ? { cause: error } : { cause: error, retryAfterMs: delay });
}
