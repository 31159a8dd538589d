// Errors a consumer rejects with. The kind decides what a receiver answers: retryable →
// HTTP 503 / gRPC Unavailable (the sender tries again); permanent → HTTP 400 /
// gRPC InvalidArgument (retrying would not help).

export class ConsumerError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = retryable ? 'RetryableError' : 'PermanentError';
    this.retryable = retryable;
  }
}

/** Refused for now (memory pressure, a full queue): the sender should retry. */
export function retryableError(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError(message, true, { cause });
}

/** Refused for good (malformed data, a 4xx from a backend). */
export function permanentError(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError(message, false, { cause });
}

/** Whether an error should be retried: ConsumerErrors say so; anything else is retryable. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConsumerError ? error.retryable : true;
}
