// Exchanges as spans: SERVER for connections the process accepted, CLIENT for the ones it made;
// start and end from the kernel's timestamps (a server's request arrived when its read returned,
// a client's started when its write began; both end when the response's last byte moved). A
// request carrying a W3C traceparent joins that trace as a child of the span that sent it.
import { randomBytes } from 'node:crypto';
import { SpanKind, type Span, StatusCode } from '../../src/pdata/traces.ts';
import type { KernelClock } from './clock.ts';
import type { Exchange, SpanDescription } from './protocols/types.ts';

/** Random ids cut from a long random hex string refilled in bulk: a span needs 48 hex digits. */
class IdPool {
  #hex = '';
  #at = 0;

  #take(n: number): string {
    if (this.#at + n > this.#hex.length) {
      this.#hex = randomBytes(24 * 1024).toString('hex');
      this.#at = 0;
    }
    const s = this.#hex.slice(this.#at, this.#at + n);
    this.#at += n;
    return s;
  }

  traceId(): string {
    return this.#take(32);
  }

  spanId(): string {
    return this.#take(16);
  }
}

const ids = new IdPool();

export interface SpanTimes {
  startNs: number;
  endNs: number;
}

/** Kernel start and end of an exchange for a server or a client. */
export function exchangeTimes(e: Exchange<unknown, unknown>, server: boolean): SpanTimes {
  const req = e.request;
  const start = server ? req.firstExitNs : req.firstEnterNs;
  const end = e.response ? e.response.lastExitNs : req.lastExitNs;
  return { startNs: start, endNs: end < start ? start : end };
}

export function buildSpan(d: SpanDescription, server: boolean, times: SpanTimes, clock: KernelClock): Span {
  const ctx = d.traceContext;
  const span: Span = {
    traceId: ctx?.traceId ?? ids.traceId(),
    spanId: ids.spanId(),
    name: d.name,
    kind: server ? SpanKind.SERVER : SpanKind.CLIENT,
    startTimeUnixNano: clock.toUnixNano(times.startNs),
    endTimeUnixNano: clock.toUnixNano(times.endNs),
    attributes: d.attributes,
    events: [],
    links: [],
    status: d.error ? (d.error.message ? { code: StatusCode.ERROR, message: d.error.message } : { code: StatusCode.ERROR }) : { code: StatusCode.UNSET },
  };
  if (ctx) {
    // the W3C trace flags, and: the parent is remote (OTLP span flags bits 8 and 9)
    span.parentSpanId = ctx.spanId;
    span.flags = (ctx.flags & 0xff) | 0x300;
    if (ctx.traceState) span.traceState = ctx.traceState;
  } else span.flags = 0x101; // sampled; a root span (no remote parent)
  return span;
}
