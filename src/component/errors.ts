// Errors a consumer rejects with. The kind decides what a receiver answers: retryable →
// HTTP 503 / gRPC Unavailable (the sender tries again); permanent → HTTP 400 /
// gRPC InvalidArgument (retrying would not help).

export class ConsumerError extends Error {
  readonly retryable: boolean;
  /** How long the peer asked to wait before a retry (HTTP Retry-After, gRPC RetryInfo), when it said. */
  readonly retryAfterMs?: number;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = retryable ? 'RetryableError' : 'PermanentError';
    this.retryable = retryable;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** Refused for now (memory pressure, a full queue): the sender should retry, after `retryAfterMs` if given. */
export function retryableError(message: string, cause?: unknown, retryAfterMs?: number): ConsumerError {
  return new ConsumerError(message, true, retryAfterMs === undefined ? { cause } : { cause, retryAfterMs });
}

/** Refused for good (malformed data, a 4xx from a backend). */
export function permanentError(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError(message, false, { cause });
}

/** Whether an error should be retried: ConsumerErrors say so; anything else is retryable. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConsumerError ? error.retryable : true;
}
