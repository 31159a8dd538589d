// HTTP/1.0 and 1.1: request and status lines, headers, bodies by Content-Length, chunked or read
// until close; keep-alive and pipelining (FIFO). Only the headers the spans need are kept (and
// the ones the config allows); credentials never are. Bodies are skipped by length, captured or not.
import { isSensitiveHeader, redactQuery } from '../privacy.ts';
import type { ByteStream, Segment } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { indexOfBlankLine, indexOfByte, indexOfCrlf } from './bytes.ts';
import { consumedExit, followLost, framed, segmentEndsWith, type Start, startAt } from './framing.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, MessageSink, ParseResult, PrivacyOptions, ProtocolModule, Side, SpanDescription, TraceContext } from './types.ts';

export interface HttpRequest {
  method: string;
  /** As sent: origin form (/path?query) or absolute form (http://host/path). */
  target: string;
  /** '1.0' or '1.1' */
  version: string;
  host?: string;
  userAgent?: string;
  contentLength?: number;
  traceparent?: string;
  tracestate?: string;
  /** Allow-listed headers, lower-case names. */
  headers?: Record<string, string[]>;
  /** The headers went past what the kernel captured. */
  truncated?: boolean;
}

export interface HttpResponse {
  status: number;
  version: string;
  contentLength?: number;
  headers?: Record<string, string[]>;
  truncated?: boolean;
}

const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);
const NO_BODY: BodyState = { kind: 'none' };
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
/** Heads larger than this are not waited for. */
const MAX_HEAD = 65536;

type BodyState =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; remaining: number; trailer: boolean }
  | { kind: 'lost'; lastExitNs: number }
  | { kind: 'close'; lastExitNs: number };

interface Pending<T> {
  message: T;
  start: Start;
  body: BodyState;
}

const startsRequest = (b: Buffer): boolean => {
  const sp = indexOfByte(b, 0x20, 0, Math.min(b.length, 12));
  if (sp < 3 || sp > 10) return false;
  for (let i = 0; i < sp; i++) if (b[i]! < 0x41 || b[i]! > 0x5a) return false;
  return true;
};
const startsResponse = (b: Buffer): boolean => b.length >= 8 && b[0] === 0x48 && b[1] === 0x54 && b[2] === 0x54 && b[3] === 0x50 && b[4] === 0x2f && b[5] === 0x31 && b[6] === 0x2e;
const endsChunked = (s: Segment): boolean => segmentEndsWith(s, LAST_CHUNK);

/** The header fields the spans need, read from the head's bytes without splitting it into strings. */
interface Fields {
  host?: string;
  userAgent?: string;
  /** -1: present but not a number; undefined: absent. */
  contentLength?: number;
  transferEncoding?: string;
  traceparent?: string;
  tracestate?: string;
  kept?: Record<string, string[]>;
}

/** Whether buf[at, at+name.length) equals `name` (lower case ASCII) ignoring case. */
function nameIs(buf: Buffer, at: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if ((buf[at + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Reads header lines from `from` up to `end` (the blank line, or where the capture stopped: a
 * partial last line is left out). Only the fields spans use become strings, plus allow-listed ones.
 */
function readHeaders(buf: Buffer, from: number, end: number, keep: ReadonlySet<string>, cache: HeaderCache): Fields {
  const f: Fields = {};
  for (let at = from; at < end; ) {
    const eol = indexOfCrlf(buf, at, Math.min(end + 2, buf.length));
    if (eol < 0) break;
    const colon = indexOfByte(buf, 0x3a, at, eol);
    if (colon > at) {
      let v = colon + 1;
      while (v < eol && (buf[v] === 0x20 || buf[v] === 0x09)) v++;
      let ve = eol;
      while (ve > v && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
      const len = colon - at;
      const value = (): string => buf.toString('latin1', v, ve);
      switch (len) {
        case 4:
          if (nameIs(buf, at, len, 'host')) f.host = cache.host.get(buf, v, ve);
          break;
        case 10:
          if (nameIs(buf, at, len, 'user-agent')) f.userAgent = cache.userAgent.get(buf, v, ve);
          else if (nameIs(buf, at, len, 'tracestate')) f.tracestate = f.tracestate === undefined ? value() : `${f.tracestate},${value()}`;
          break;
        case 11:
          if (nameIs(buf, at, len, 'traceparent')) f.traceparent = value();
          break;
        case 14:
          if (nameIs(buf, at, len, 'content-length')) f.contentLength = f.contentLength === undefined ? decimal(buf, v, ve) : -1;
          break;
        case 17:
          if (nameIs(buf, at, len, 'transfer-encoding')) f.transferEncoding = f.transferEncoding === undefined ? value() : `${f.transferEncoding},${value()}`;
          break;
      }
      if (keep.size) {
        const name = buf.toString('latin1', at, colon).trim().toLowerCase();
        if (keep.has(name) && !isSensitiveHeader(name)) {
          f.kept ??= {};
          (f.kept[name] ??= []).push(value());
        }
      }
    }
    at = eol + 2;
  }
  return f;
}

/** A decimal number in buf[from, to), -1 when it is not one. */
function decimal(buf: Buffer, from: number, to: number): number {
  if (from >= to || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function contentLength(f: Fields): number | undefined {
  return f.contentLength === undefined || f.contentLength < 0 ? undefined : f.contentLength;
}

/** The last value of a header on a connection: the same bytes give the same string, not a new one. */
class LastValue {
  #bytes = new Uint8Array(0);
  #value = '';

  get(buf: Buffer, from: number, to: number): string {
    const n = to - from;
    const b = this.#bytes;
    if (n === b.length) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (buf[from + i] !== b[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#value;
    }
    this.#value = buf.toString('latin1', from, to);
    this.#bytes = n <= 512 ? Uint8Array.prototype.slice.call(buf, from, to) : new Uint8Array(0);
    return this.#value;
  }
}

interface HeaderCache {
  host: LastValue;
  userAgent: LastValue;
}

const METHOD_NAMES = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS'];

/** The method's name without allocating for the common ones. */
function methodName(buf: Buffer, len: number): string {
  for (const m of METHOD_NAMES) {
    if (m.length !== len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (buf[i] !== m.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return m;
  }
  return buf.toString('latin1', 0, len);
}

const isChunked = (f: Fields): boolean => f.transferEncoding !== undefined && /(^|,)\s*chunked\s*$/i.test(f.transferEncoding);

export class Http1Parser implements ConnectionParser<HttpRequest, HttpResponse> {
  readonly #privacy: PrivacyOptions;
  #request: Pending<HttpRequest> | undefined;
  #response: Pending<HttpResponse> | undefined;
  /** Methods of requests not answered yet: HEAD responses have no body; CONNECT switches to a tunnel. */
  #methods: string[] = [];
  readonly #cache: HeaderCache = { host: new LastValue(), userAgent: new LastValue() };

  constructor(privacy: PrivacyOptions) {
    this.#privacy = privacy;
  }

  reset(side: Side): void {
    if (side === 'request') this.#request = undefined;
    else this.#response = undefined;
  }

  parse(side: Side, stream: ByteStream, out: MessageSink<HttpRequest, HttpResponse>): ParseResult {
    for (;;) {
      const req = side === 'request' ? this.#request : undefined;
      const res = side === 'response' ? this.#response : undefined;
      if (req) {
        if (!this.#body(stream, req)) return 'need-more';
        this.#request = undefined;
        out.request(framed(req.message, req.start, this.#lastExit(stream, req)));
        continue;
      }
      if (res) {
        if (!this.#body(stream, res)) return 'need-more';
        this.#response = undefined;
        out.response(framed(res.message, res.start, this.#lastExit(stream, res)));
        continue;
      }
      if (stream.empty) return 'need-more';
      const head = stream.contiguous(MAX_HEAD);
      if (head.length === 0) return 'lost'; // standing in bytes that were not captured: resync
      const r = side === 'request' ? this.#parseRequest(stream, head) : this.#parseResponse(stream, head);
      if (r !== 'framed') return r;
    }
  }

  /** Exit time of the message's last byte: the bytes just consumed. */
  #lastExit(stream: ByteStream, p: Pending<unknown>): number {
    if (p.body.kind === 'lost' || p.body.kind === 'close') return p.body.lastExitNs;
    return consumedExit(stream);
  }

  finish(out: MessageSink<HttpRequest, HttpResponse>): void {
    const p = this.#response;
    if (p && p.body.kind === 'close') {
      this.#response = undefined;
      out.response(framed(p.message, p.start, p.body.lastExitNs));
    }
  }

  /**
   * Where the head ends: `end` is the blank line (or where the capture stopped), `length` the
   * bytes to consume. undefined-like results while incomplete.
   */
  #head(stream: ByteStream, head: Buffer): { end: number; length: number; truncated: boolean } | 'need-more' | 'invalid' {
    const end = indexOfBlankLine(head, 0);
    if (end >= 0) return { end: end + 2, length: end + 4, truncated: false };
    const seg = stream.segmentAt(head.length > 0 ? head.length - 1 : 0);
    const cut = seg !== undefined && seg.head.length < seg.length && stream.position + head.length === seg.position + seg.head.length;
    if (!cut) return head.length >= MAX_HEAD ? 'invalid' : 'need-more';
    // The kernel captured only the start of this head: keep the lines it has, and take the
    // message to end with this syscall's payload.
    return { end: head.length, length: seg.position + seg.length - stream.position, truncated: true };
  }

  #parseRequest(stream: ByteStream, buf: Buffer): 'framed' | ParseResult {
    if (buf.length < 16 && buf.indexOf(0x20) < 0) return /^[A-Z]*$/.test(buf.toString('latin1')) ? 'need-more' : 'invalid';
    if (!startsRequest(buf)) return 'invalid';
    const h = this.#head(stream, buf);
    if (typeof h === 'string') return h;
    // request line: METHOD SP target SP HTTP/1.x
    const eol = indexOfCrlf(buf, 0, h.end + 2);
    if (eol < 0) return 'invalid';
    const sp1 = indexOfByte(buf, 0x20, 0, eol);
    const sp2 = buf.lastIndexOf(0x20, eol);
    if (sp2 <= sp1 + 1 || eol - sp2 !== 9 || buf.toString('latin1', sp2 + 1, sp2 + 8) !== 'HTTP/1.' || (buf[eol - 1] !== 0x30 && buf[eol - 1] !== 0x31)) return 'invalid';
    const f = readHeaders(buf, eol + 2, h.end, this.#privacy.requestHeaders, this.#cache);
    const message: HttpRequest = { method: methodName(buf, sp1), target: buf.toString('latin1', sp1 + 1, sp2), version: buf[eol - 1] === 0x31 ? '1.1' : '1.0' };
    if (f.host !== undefined) message.host = f.host;
    if (f.userAgent !== undefined) message.userAgent = f.userAgent;
    if (f.traceparent !== undefined) message.traceparent = f.traceparent;
    if (f.tracestate !== undefined) message.tracestate = f.tracestate;
    if (f.kept) message.headers = f.kept;
    if (h.truncated) message.truncated = true;
    const start = startAt(stream);
    stream.skip(h.length);
    let body: BodyState = NO_BODY;
    const length = contentLength(f);
    if (h.truncated) body = NO_BODY;
    else if (isChunked(f)) body = { kind: 'chunked', remaining: -1, trailer: false };
    else if (length !== undefined) {
      message.contentLength = length;
      if (length > 0) body = { kind: 'length', remaining: length };
    }
    this.#methods.push(message.method);
    if (this.#methods.length > 1024) this.#methods.shift();
    this.#request = { message, start, body };
    return 'framed';
  }

  #parseResponse(stream: ByteStream, buf: Buffer): 'framed' | ParseResult {
    if (buf.length < 8) return 'HTTP/1.'.startsWith(buf.toString('latin1', 0, Math.min(buf.length, 7))) ? 'need-more' : 'invalid';
    if (!startsResponse(buf)) return 'invalid';
    const h = this.#head(stream, buf);
    if (typeof h === 'string') return h;
    // status line: HTTP/1.x SP 3DIGIT [SP reason]
    const eol = indexOfCrlf(buf, 0, h.end + 2);
    if (eol < 12 || buf[8] !== 0x20 || (eol > 12 && buf[12] !== 0x20)) return 'invalid';
    const d0 = buf[9]! - 0x30;
    const d1 = buf[10]! - 0x30;
    const d2 = buf[11]! - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (buf[7] !== 0x30 && buf[7] !== 0x31)) return 'invalid';
    const status = d0 * 100 + d1 * 10 + d2;
    const f = readHeaders(buf, eol + 2, h.end, this.#privacy.responseHeaders, this.#cache);
    const start = startAt(stream);
    stream.skip(h.length);
    if (status >= 100 && status < 200) {
      // Interim (100 Continue...): the final response follows; 101 switches protocols.
      return status === 101 ? 'stop' : 'framed';
    }
    const method = this.#methods.shift();
    const message: HttpResponse = { status, version: buf[7] === 0x31 ? '1.1' : '1.0' };
    if (f.kept) message.headers = f.kept;
    if (h.truncated) message.truncated = true;
    if (method === 'CONNECT' && status >= 200 && status < 300) return 'stop'; // a tunnel from here on
    let body: BodyState = NO_BODY;
    const length = contentLength(f);
    if (length !== undefined) message.contentLength = length;
    if (h.truncated || method === 'HEAD' || status === 204 || status === 304) body = NO_BODY;
    else if (isChunked(f)) body = { kind: 'chunked', remaining: -1, trailer: false };
    else if (length !== undefined) body = length > 0 ? { kind: 'length', remaining: length } : NO_BODY;
    else body = { kind: 'close', lastExitNs: consumedExit(stream) };
    this.#response = { message, start, body };
    return 'framed';
  }

  /** Consumes body bytes; true once the message is complete. */
  #body(stream: ByteStream, p: Pending<unknown>): boolean {
    const b = p.body;
    switch (b.kind) {
      case 'none':
        return true;
      case 'length':
        b.remaining -= stream.skip(b.remaining);
        return b.remaining === 0;
      case 'close': {
        const last = stream.lastSegment();
        if (!stream.empty && last) b.lastExitNs = last.exitNs;
        stream.skip(stream.available());
        return false;
      }
      case 'lost': {
        const end = followLost(stream, b, endsChunked, startsResponseOrRequest);
        return end !== undefined;
      }
      case 'chunked':
        return this.#chunks(stream, p, b);
    }
  }

  #chunks(stream: ByteStream, p: Pending<unknown>, b: { kind: 'chunked'; remaining: number; trailer: boolean }): boolean {
    for (;;) {
      if (b.remaining > 0) {
        b.remaining -= stream.skip(b.remaining);
        if (b.remaining > 0) return false;
        b.remaining = -2; // the CRLF after the data
      }
      if (stream.empty) return false;
      const buf = stream.contiguous(1024);
      if (buf.length === 0) {
        // The chunk framing went into bytes the kernel did not capture.
        p.body = { kind: 'lost', lastExitNs: consumedExit(stream) };
        return followLost(stream, p.body, endsChunked, startsResponseOrRequest) !== undefined;
      }
      const eol = buf.indexOf('\r\n');
      if (eol < 0) {
        if (buf.length >= 1024) throw new Error('chunk size line too long');
        return false;
      }
      const line = buf.toString('latin1', 0, eol);
      stream.skip(eol + 2);
      if (b.remaining === -2) {
        if (line !== '') throw new Error('missing CRLF after chunk data');
        b.remaining = -1;
        continue;
      }
      if (b.trailer) {
        if (line === '') return true; // end of trailers
        continue;
      }
      const size = Number.parseInt(line.split(';')[0]!.trim(), 16);
      if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) throw new Error(`bad chunk size line '${line.slice(0, 20)}'`);
      if (size === 0) b.trailer = true;
      else b.remaining = size;
    }
  }
}

const startsResponseOrRequest = (head: Buffer): boolean => startsResponse(head) || startsRequest(head);

/** W3C traceparent: version 00, non-zero ids. */
export function parseTraceparent(value: string | undefined, state?: string): TraceContext | undefined {
  if (!value) return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/.exec(value.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  const ctx: TraceContext = { traceId: m[2]!, spanId: m[3]!, flags: Number.parseInt(m[4]!, 16) };
  if (state) ctx.traceState = state;
  return ctx;
}

export function splitTarget(target: string): { path: string; query?: string; host?: string } {
  let t = target;
  let host: string | undefined;
  if (!t.startsWith('/')) {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(t);
    if (m) {
      host = m[1];
      t = m[2] || '/';
    }
  }
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  const out: { path: string; query?: string; host?: string } = { path: q < 0 ? t : t.slice(0, q) };
  if (q >= 0) out.query = t.slice(q + 1);
  if (host !== undefined) out.host = host;
  return out;
}

const hosts = new Map<string, { host?: string; port?: number }>();

/** host[:port] of a Host header (IPv6 in brackets); the same few hosts repeat: remembered. */
export function splitHost(value: string | undefined): { host?: string; port?: number } {
  if (!value) return {};
  let r = hosts.get(value);
  if (!r) {
    if (hosts.size >= 1024) hosts.clear();
    hosts.set(value, (r = parseHost(value)));
  }
  return r;
}

function parseHost(value: string): { host?: string; port?: number } {
  let host = value;
  let port: number | undefined;
  const close = value.lastIndexOf(']');
  const colon = value.lastIndexOf(':');
  if (colon > close && value.indexOf(':') === colon) {
    host = value.slice(0, colon);
    const p = Number(value.slice(colon + 1));
    if (Number.isInteger(p) && p > 0 && p < 65536) port = p;
  } else if (close > 0 && colon > close) {
    host = value.slice(0, colon);
    const p = Number(value.slice(colon + 1));
    if (Number.isInteger(p) && p > 0 && p < 65536) port = p;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return port === undefined ? { host } : { host, port };
}

export function headerAttributes(a: Attrs, prefix: string, headers: Record<string, string[]> | undefined): void {
  if (!headers) return;
  for (const [name, values] of Object.entries(headers)) a.strings(`${prefix}.${name}`, values);
}

/**
 * The http.server.request.duration series of a request (its low-cardinality attributes). Also
 * what requests measured in the kernel feed (kernel-http.ts): the same request lands in the same
 * series whichever side measured it.
 */
export function serverRequestMetric(method: string, status: number | undefined, version: string, scheme: string): NonNullable<SpanDescription['metric']> {
  const errorType = status !== undefined && status >= 500 ? String(status) : undefined;
  return {
    name: 'http.server.request.duration',
    attributes: () =>
      new Attrs()
        .common('http.request.method', method)
        .int('http.response.status_code', status)
        .common('network.protocol.version', version)
        .common('url.scheme', scheme)
        .common('error.type', errorType).list,
    key: `${method}|${status}|${version}|${scheme}`,
  };
}

function describe(e: Exchange<HttpRequest, HttpResponse>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const known = KNOWN_METHODS.has(req.method);
  const method = known ? req.method : '_OTHER';
  const target = splitTarget(req.target);
  const a = new Attrs();
  a.common('http.request.method', method);
  if (!known) a.str('http.request.method_original', req.method);
  const status = res?.status;
  const server = c.role === 'server';
  const errorLimit = server ? 500 : 400;
  const errorType = status !== undefined && status >= errorLimit ? String(status) : undefined;
  const hostHeader = splitHost(req.host ?? target.host);
  const serverAddress = hostHeader.host || c.serverAddress;
  const scheme = c.tls ? 'https' : 'http';
  const serverPort = hostHeader.host ? (hostHeader.port ?? (c.tls ? 443 : 80)) : c.serverPort;
  let query: string | undefined;
  if (target.query !== undefined && privacy.urlQuery !== 'none') query = privacy.urlQuery === 'full' ? target.query : redactQuery(target.query);
  if (server) {
    a.str('url.path', target.path).str('url.query', query).common('url.scheme', scheme);
    a.common('server.address', serverAddress).int('server.port', serverPort);
    a.common('client.address', c.clientAddress);
    a.common('network.peer.address', c.peerAddress).int('network.peer.port', c.peerPort);
    if (c.transport !== 'tcp') a.common('network.transport', c.transport);
    if (c.networkType === 'ipv6') a.common('network.type', c.networkType);
  } else {
    // The authority as the client wrote it (Host), else the address it connected to.
    const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
    const authority = req.host ?? target.host ?? `${bracket(c.serverAddress ?? 'localhost')}${c.serverPort !== undefined && c.serverPort !== (c.tls ? 443 : 80) ? `:${c.serverPort}` : ''}`;
    a.str('url.full', `${scheme}://${authority}${target.path}${query !== undefined ? `?${query}` : ''}`);
    addServerAndPeer(a, { ...c, serverAddress, serverPort });
  }
  a.int('http.response.status_code', status);
  a.common('network.protocol.version', req.version);
  a.common('user_agent.original', req.userAgent);
  headerAttributes(a, 'http.request.header', req.headers);
  headerAttributes(a, 'http.response.header', res?.headers);
  a.common('error.type', errorType);
  const d: SpanDescription = {
    name: method === '_OTHER' ? 'HTTP' : method,
    attributes: a.list,
    metric: server
      ? serverRequestMetric(method, status, req.version, scheme)
      : {
          name: 'http.client.request.duration',
          attributes: () =>
            new Attrs()
              .common('http.request.method', method)
              .int('http.response.status_code', status)
              .common('network.protocol.version', req.version)
              .common('server.address', serverAddress)
              .int('server.port', serverPort)
              .common('error.type', errorType).list,
          key: `${method}|${status}|${req.version}|${serverAddress}|${serverPort}`,
        },
  };
  if (errorType) d.error = { type: errorType };
  const ctx = parseTraceparent(req.traceparent, req.tracestate);
  if (ctx) d.traceContext = ctx;
  return d;
}

export const http1: ProtocolModule<HttpRequest, HttpResponse> = {
  name: 'http',
  matching: 'fifo',
  newParser: (_role, privacy) => new Http1Parser(privacy),
  describe,
};
