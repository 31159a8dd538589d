// HTTP/1.0 and 1.1: request and status lines, headers, bodies by Content-Length, chunked or read
// until close; keep-alive and pipelining (FIFO). Only the headers the spans need are kept (and
// the ones the config allows); credentials never are. Bodies are skipped by length, captured or not.
import { isSensitiveHeader, redactQuery } from '../privacy.ts';
import type { ByteStream, Segment } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { type Start, consumedExit, followLost, segmentEndsWith, startAt } from './framing.ts';
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
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
/** Heads larger than this are not waited for. */
const MAX_HEAD = 65536;

type BodyState =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; remaining: number; trailer: boolean }
  | { kind: 'lost'; lastExitNs: bigint }
  | { kind: 'close'; lastExitNs: bigint };

interface Pending<T> {
  message: T;
  start: Start;
  body: BodyState;
}

const startsRequest = (b: Buffer): boolean => {
  const sp = b.indexOf(0x20);
  if (sp < 3 || sp > 10) return false;
  for (let i = 0; i < sp; i++) if (b[i]! < 0x41 || b[i]! > 0x5a) return false;
  return true;
};
const startsResponse = (b: Buffer): boolean => b.length >= 8 && b.toString('latin1', 0, 7) === 'HTTP/1.';
const endsChunked = (s: Segment): boolean => segmentEndsWith(s, LAST_CHUNK);

/** Parses header lines into the fields kept; `keep` names the allow-listed ones. */
function parseHeaders(lines: string[], keep: ReadonlySet<string>): { fields: Map<string, string>; kept?: Record<string, string[]> } {
  const fields = new Map<string, string>();
  let kept: Record<string, string[]> | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (name) {
      case 'host':
      case 'user-agent':
      case 'content-length':
      case 'transfer-encoding':
      case 'connection':
      case 'traceparent':
      case 'tracestate':
        fields.set(name, fields.has(name) ? `${fields.get(name)},${value}` : value);
        break;
    }
    if (keep.size && keep.has(name) && !isSensitiveHeader(name)) {
      kept ??= {};
      (kept[name] ??= []).push(value);
    }
  }
  return kept ? { fields, kept } : { fields };
}

function contentLength(fields: Map<string, string>): number | undefined {
  const v = fields.get('content-length');
  if (v === undefined) return undefined;
  const n = Number(v.split(',')[0]);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const isChunked = (fields: Map<string, string>): boolean => /(^|,)\s*chunked\s*$/i.test(fields.get('transfer-encoding') ?? '');

export class Http1Parser implements ConnectionParser<HttpRequest, HttpResponse> {
  readonly #privacy: PrivacyOptions;
  #request: Pending<HttpRequest> | undefined;
  #response: Pending<HttpResponse> | undefined;
  /** Methods of requests not answered yet: HEAD responses have no body; CONNECT switches to a tunnel. */
  #methods: string[] = [];

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
        out.request({ message: req.message, ...req.start, lastExitNs: this.#lastExit(stream, req) });
        continue;
      }
      if (res) {
        if (!this.#body(stream, res)) return 'need-more';
        this.#response = undefined;
        out.response({ message: res.message, ...res.start, lastExitNs: this.#lastExit(stream, res) });
        continue;
      }
      if (stream.empty) return 'need-more';
      const head = stream.contiguous(MAX_HEAD);
      if (head.length === 0) return 'invalid'; // standing in bytes that were not captured: resync
      const r = side === 'request' ? this.#parseRequest(stream, head) : this.#parseResponse(stream, head);
      if (r !== 'framed') return r;
    }
  }

  /** Exit time of the message's last byte: the bytes just consumed. */
  #lastExit(stream: ByteStream, p: Pending<unknown>): bigint {
    if (p.body.kind === 'lost' || p.body.kind === 'close') return p.body.lastExitNs;
    return consumedExit(stream);
  }

  finish(out: MessageSink<HttpRequest, HttpResponse>): void {
    const p = this.#response;
    if (p && p.body.kind === 'close') {
      this.#response = undefined;
      out.response({ message: p.message, ...p.start, lastExitNs: p.body.lastExitNs });
    }
  }

  /** Splits a head into its start line and header lines; undefined while incomplete. */
  #head(stream: ByteStream, head: Buffer): { lines: string[]; length: number; truncated: boolean } | 'need-more' | 'invalid' {
    const end = head.indexOf(CRLFCRLF);
    if (end >= 0) return { lines: head.toString('latin1', 0, end).split('\r\n'), length: end + 4, truncated: false };
    const seg = stream.segmentAt(head.length > 0 ? head.length - 1 : 0);
    const cut = seg !== undefined && seg.head.length < seg.length && stream.position + head.length === seg.position + seg.head.length;
    if (!cut) return head.length >= MAX_HEAD ? 'invalid' : 'need-more';
    // The kernel captured only the start of this head: keep the lines it has, and take the
    // message to end with this syscall's payload.
    const text = head.toString('latin1', 0, head.length);
    const lines = text.split('\r\n');
    lines.pop(); // a partial line
    return { lines, length: seg.position + seg.length - stream.position, truncated: true };
  }

  #parseRequest(stream: ByteStream, buf: Buffer): 'framed' | ParseResult {
    if (buf.length < 16 && buf.indexOf(0x20) < 0) return /^[A-Z]*$/.test(buf.toString('latin1', 0, buf.length)) ? 'need-more' : 'invalid';
    if (!startsRequest(buf)) return 'invalid';
    const h = this.#head(stream, buf);
    if (typeof h === 'string') return h;
    const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(h.lines[0] ?? '');
    if (!m) return 'invalid';
    const { fields, kept } = parseHeaders(h.lines.slice(1), this.#privacy.requestHeaders);
    const message: HttpRequest = { method: m[1]!, target: m[2]!, version: `1.${m[3]}` };
    const host = fields.get('host');
    if (host !== undefined) message.host = host;
    const ua = fields.get('user-agent');
    if (ua !== undefined) message.userAgent = ua;
    const tp = fields.get('traceparent');
    if (tp !== undefined) message.traceparent = tp;
    const ts = fields.get('tracestate');
    if (ts !== undefined) message.tracestate = ts;
    if (kept) message.headers = kept;
    if (h.truncated) message.truncated = true;
    const start = startAt(stream);
    stream.skip(h.length);
    let body: BodyState = { kind: 'none' };
    const length = contentLength(fields);
    if (h.truncated) body = { kind: 'none' };
    else if (isChunked(fields)) body = { kind: 'chunked', remaining: -1, trailer: false };
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
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(h.lines[0] ?? '');
    if (!m) return 'invalid';
    const status = Number(m[2]);
    const { fields, kept } = parseHeaders(h.lines.slice(1), this.#privacy.responseHeaders);
    const start = startAt(stream);
    stream.skip(h.length);
    if (status >= 100 && status < 200) {
      // Interim (100 Continue...): the final response follows; 101 switches protocols.
      return status === 101 ? 'stop' : 'framed';
    }
    const method = this.#methods.shift();
    const message: HttpResponse = { status, version: `1.${m[1]}` };
    if (kept) message.headers = kept;
    if (h.truncated) message.truncated = true;
    if (method === 'CONNECT' && status >= 200 && status < 300) return 'stop'; // a tunnel from here on
    let body: BodyState = { kind: 'none' };
    const length = contentLength(fields);
    if (length !== undefined) message.contentLength = length;
    if (h.truncated || method === 'HEAD' || status === 204 || status === 304) body = { kind: 'none' };
    else if (isChunked(fields)) body = { kind: 'chunked', remaining: -1, trailer: false };
    else if (length !== undefined) body = length > 0 ? { kind: 'length', remaining: length } : { kind: 'none' };
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

function splitTarget(target: string): { path: string; query?: string; host?: string } {
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

/** host[:port] of a Host header (IPv6 in brackets). */
function splitHost(value: string | undefined): { host?: string; port?: number } {
  if (!value) return {};
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim());
  if (!m) return {};
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return m[2] ? { host, port: Number(m[2]) } : { host };
}

function headerAttributes(a: Attrs, prefix: string, headers: Record<string, string[]> | undefined): void {
  if (!headers) return;
  for (const [name, values] of Object.entries(headers)) a.strings(`${prefix}.${name}`, values);
}

function describe(e: Exchange<HttpRequest, HttpResponse>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const known = KNOWN_METHODS.has(req.method);
  const method = known ? req.method : '_OTHER';
  const target = splitTarget(req.target);
  const a = new Attrs();
  a.str('http.request.method', method);
  if (!known) a.str('http.request.method_original', req.method);
  const status = res?.status;
  const server = c.role === 'server';
  const errorLimit = server ? 500 : 400;
  const errorType = status !== undefined && status >= errorLimit ? String(status) : undefined;
  const hostHeader = splitHost(req.host ?? target.host);
  const serverAddress = hostHeader.host || c.serverAddress;
  const serverPort = hostHeader.host ? (hostHeader.port ?? 80) : c.serverPort;
  let query: string | undefined;
  if (target.query !== undefined && privacy.urlQuery !== 'none') query = privacy.urlQuery === 'full' ? target.query : redactQuery(target.query);
  if (server) {
    a.str('url.path', target.path).str('url.query', query).str('url.scheme', 'http');
    a.str('server.address', serverAddress).int('server.port', serverPort);
    a.str('client.address', c.clientAddress).int('client.port', c.clientPort);
    a.str('network.peer.address', c.peerAddress).int('network.peer.port', c.peerPort);
    a.str('network.transport', c.transport).str('network.type', c.networkType);
  } else {
    // The authority as the client wrote it (Host), else the address it connected to.
    const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
    const authority = req.host ?? target.host ?? `${bracket(c.serverAddress ?? 'localhost')}${c.serverPort !== undefined && c.serverPort !== 80 ? `:${c.serverPort}` : ''}`;
    a.str('url.full', `http://${authority}${target.path}${query !== undefined ? `?${query}` : ''}`);
    addServerAndPeer(a, { ...c, serverAddress, serverPort });
  }
  a.int('http.response.status_code', status);
  a.str('network.protocol.version', req.version);
  a.str('user_agent.original', req.userAgent);
  a.int('http.request.body.size', req.contentLength);
  a.int('http.response.body.size', res?.contentLength);
  headerAttributes(a, 'http.request.header', req.headers);
  headerAttributes(a, 'http.response.header', res?.headers);
  a.str('error.type', errorType);
  const m = new Attrs().str('http.request.method', method).int('http.response.status_code', status).str('network.protocol.version', req.version);
  if (server) m.str('url.scheme', 'http');
  else m.str('server.address', serverAddress).int('server.port', serverPort);
  m.str('error.type', errorType);
  const d: SpanDescription = {
    name: method === '_OTHER' ? 'HTTP' : method,
    attributes: a.list,
    metric: { name: server ? 'http.server.request.duration' : 'http.client.request.duration', attributes: m.list },
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
