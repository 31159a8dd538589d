// HTTP outcomes as ConsumerErrors, as the Collector's otlp_http exporter decides (and the OTLP
// specification says): 429, 502, 503 and 504 are retryable, with Retry-After (seconds or an
// HTTP date) as the hint on 429 and 503; every other status is permanent; a request that never
// got an answer (refused, reset, timed out) is retryable.
import { ConsumerError, retryableError } from '../../src/component/errors.ts';
import { decodeRpcStatus } from '../../src/pdata/otlp/rpc-status.ts';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const THROTTLE_STATUS = new Set([429, 503]);

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The message a failure body carries: a google.rpc.Status in protobuf or JSON, else its text. */
export function bodyMessage(contentType: string | undefined, body: Buffer): string {
  if (body.length === 0) return '';
  try {
    if (contentType?.includes('application/x-protobuf')) return decodeRpcStatus(body).message;
    if (contentType?.includes('application/json')) {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    }
  } catch {
    // Not a Status: fall back to the text.
  }
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

export function httpStatusError(url: string, status: number, statusText: string, message: string, retryAfter: string | undefined): ConsumerError {
  const text = `export to ${url} failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}${message ? `: ${message}` : ''}`;
  if (!RETRYABLE_STATUS.has(status)) return new ConsumerError(text, false);
  const delay = THROTTLE_STATUS.has(status) ? parseRetryAfter(retryAfter) : undefined;
  if (delay === undefined) return retryableError(text);
  return retryableError(`${text} (the server asks to retry after ${delay} ms)`, undefined, delay);
}

export function networkError(url: string, error: unknown, timeoutMs: number): ConsumerError {
  const e = error as NodeJS.ErrnoException;
  const reason = e?.name === 'TimeoutError' || e?.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
  return retryableError(`export to ${url} failed: ${reason}`, error);
}
