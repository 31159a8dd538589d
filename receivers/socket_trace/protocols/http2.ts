// HTTP/2 (RFC 9113) in cleartext (h2c: prior knowledge or a connection older than bpfcol), and
// gRPC on it. Frames are read from both streams; the header blocks of each direction go through
// that direction's HPACK decoder (hpack.ts) in order, and requests and responses pair by stream id.
// A request is its HEADERS block (with :method); its response is the server's HEADERS up to
// END_STREAM (trailers carry grpc-status), or an RST_STREAM. DATA is skipped by length, captured
// or not; PUSH_PROMISE blocks are decoded (they change the table) and otherwise ignored.
//
// Mid-stream: a direction whose start bpfcol did not see (no client preface, no server SETTINGS
// first), or whose bytes were lost or cut, has a dynamic table bpfcol only partly knows. A header
// block referencing an entry bpfcol never saw inserted is not decoded into a span: its stream is
// skipped and counted (requests_skipped), never guessed; see hpack.ts.
import { isSensitiveHeader, redactQuery } from '../privacy.ts';
import type { ByteStream } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { consumedExit, framed, type Start, startAt } from './framing.ts';
import { type DecodedBlock, HpackDecoder } from './hpack.ts';
import { headerAttributes, parseTraceparent, splitHost, splitTarget } from './http1.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, Framed, MessageSink, ParseResult, PrivacyOptions, ProtocolModule, Side, SpanDescription } from './types.ts';
import { ParseError } from './types.ts';

export interface Http2Request {
  streamId: number;
  method?: string;
  /** :path as sent (path and query). */
  path?: string;
  scheme?: string;
  authority?: string;
  userAgent?: string;
  contentType?: string;
  traceparent?: string;
  tracestate?: string;
  headers?: Record<string, string[]>;
}

export interface Http2Response {
  status?: number;
  contentType?: string;
  /** grpc-status, from the trailers (or the headers of a trailers-only response). */
  grpcStatus?: number;
  /** The stream was reset (RST_STREAM) with this error code before it ended. */
  reset?: number;
  headers?: Record<string, string[]>;
}

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HEADER = 9;
const DATA = 0;
const HEADERS = 1;
const PRIORITY = 2;
const RST_STREAM = 3;
const SETTINGS = 4;
const PUSH_PROMISE = 5;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;
const SETTINGS_MAX_FRAME_SIZE = 5;
const SETTINGS_HEADER_TABLE_SIZE = 1;
const DEFAULT_MAX_FRAME = 16384;
const MAX_FRAME = (1 << 24) - 1;
/** Credential headers' values are never kept, even in the HPACK table (pseudo-headers are no credentials: :authority). */
const redactValue = (name: string): boolean => name.charCodeAt(0) !== 0x3a && isSensitiveHeader(name);
/** A header block (HEADERS + CONTINUATIONs) larger than this is not waited for. */
const MAX_BLOCK = 256 * 1024;
/** Streams followed per connection; beyond, the oldest is dropped. */
const MAX_STREAMS = 1024;

export const H2_ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
export const GRPC_STATUS = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** A header block being put together from HEADERS/PUSH_PROMISE and CONTINUATION frames. */
interface Block {
  streamId: number;
  push: boolean;
  endStream: boolean;
  parts: Buffer[];
  size: number;
  /** Part of it was not captured (capture_bytes) or not received. */
  lost: boolean;
  start: Start;
}

interface Direction {
  decoder: HpackDecoder;
  /** Nothing read yet on this direction: the preface (client) or SETTINGS (server) may come first. */
  first: boolean;
  /** Standing at a frame boundary known from the frames before; false after a reset (the next header is checked strictly). */
  synced: boolean;
  /** Bytes of the current frame's payload still to skip. */
  skip: number;
  /** The stream the skipped DATA frame ends (END_STREAM), 0 when none. */
  skipEnds: number;
  block: Block | undefined;
  /** Largest frame this direction may carry (the receiving peer's SETTINGS_MAX_FRAME_SIZE). */
  maxFrame: number;
  /** SETTINGS_HEADER_TABLE_SIZE this direction's sender announced (the limit of the other direction's encoder): informational. */
  tableSizeSetting: number | undefined;
}

interface StreamState {
  request?: Framed<Http2Request>;
  response?: { message: Http2Response; start: Start };
  /** A header block of it could not be decoded: no span (counted once). */
  skipped?: boolean;
}

export class Http2Parser implements ConnectionParser<Http2Request, Http2Response> {
  readonly #privacy: PrivacyOptions;
  readonly #dirs: Record<Side, Direction>;
  readonly #streams = new Map<number, StreamState>();

  constructor(privacy: PrivacyOptions) {
    this.#privacy = privacy;
    const dir = (): Direction => ({ decoder: new HpackDecoder(false, { redact: redactValue }), first: true, synced: false, skip: 0, skipEnds: 0, block: undefined, maxFrame: DEFAULT_MAX_FRAME, tableSizeSetting: undefined });
    this.#dirs = { request: dir(), response: dir() };
  }

  /** Whether a direction's table is fully known (for tests and the README's claims). */
  tableComplete(side: Side): boolean {
    return this.#dirs[side].decoder.complete;
  }

  reset(side: Side): void {
    const d = this.#dirs[side];
    d.block = undefined;
    d.skip = 0;
    d.skipEnds = 0;
    d.synced = false;
    d.first = false;
    d.decoder.desync(); // header blocks may have gone by unseen
  }

  finish(out: MessageSink<Http2Request, Http2Response>): void {
    // requests never answered: to the matcher, which counts them as such when the connection ends
    for (const s of this.#streams.values()) if (s.request && !s.skipped) out.request(s.request);
    this.#streams.clear();
  }

  parse(side: Side, stream: ByteStream, out: MessageSink<Http2Request, Http2Response>): ParseResult {
    const d = this.#dirs[side];
    for (;;) {
      if (d.skip > 0) {
        d.skip -= stream.skip(d.skip);
        if (d.skip > 0) return 'need-more';
      }
      if (d.skipEnds) {
        const id = d.skipEnds;
        d.skipEnds = 0;
        this.#ended(id, consumedExit(stream), out);
      }
      if (stream.empty) return 'need-more';
      if (d.first && side === 'request') {
        const b = stream.contiguous(PREFACE.length);
        if (b.length < PREFACE.length && stream.available() < PREFACE.length && PREFACE.subarray(0, b.length).equals(b)) return 'need-more';
        d.first = false;
        if (b.length >= PREFACE.length && b.subarray(0, PREFACE.length).equals(PREFACE)) {
          stream.skip(PREFACE.length);
          d.decoder.markComplete(); // the connection's start: the client's table is empty
          d.synced = true;
          continue;
        }
      }
      const h = stream.contiguous(HEADER);
      // fewer than 9 bytes: not arrived yet, or not captured (standing past capture_bytes: resync)
      if (h.length < HEADER) return h.length === 0 || stream.available() >= HEADER ? 'lost' : 'need-more';
      const r = this.#frame(side, d, stream, h, out);
      if (r !== 'framed') return r;
    }
  }

  #frame(side: Side, d: Direction, stream: ByteStream, h: Buffer, out: MessageSink<Http2Request, Http2Response>): 'framed' | ParseResult {
    const len = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    const type = h[3]!;
    const flags = h[4]!;
    const id = h.readUInt32BE(5) & 0x7fffffff;
    if (!plausible(len, type, flags, id, d.maxFrame, d.synced)) return 'invalid';
    if (d.block && (type !== CONTINUATION || id !== d.block.streamId)) return 'invalid'; // nothing may come between a block's frames
    if (!d.block && type === CONTINUATION) return 'invalid';
    const first = d.first;
    d.first = false;
    d.synced = true;
    switch (type) {
      case DATA:
        stream.skip(HEADER);
        d.skip = len;
        if (flags & END_STREAM && side === 'response') d.skipEnds = id;
        return 'framed';
      case HEADERS:
      case PUSH_PROMISE:
      case CONTINUATION: {
        if (stream.available() < HEADER + len) return 'need-more';
        const buf = stream.contiguous(HEADER + len);
        const captured = buf.length >= HEADER + len;
        const start = startAt(stream);
        let from = HEADER;
        let to = HEADER + len;
        if (captured && type !== CONTINUATION) {
          if (flags & PADDED) to -= buf[from++]!;
          if (type === HEADERS && flags & PRIORITY_FLAG) from += 5;
          if (type === PUSH_PROMISE) from += 4;
          if (from > to) throw new ParseError('HTTP/2: padding longer than the frame');
        }
        const fragment = captured ? Buffer.from(buf.subarray(from, to)) : undefined;
        stream.skip(HEADER + len);
        let block = d.block;
        if (!block) block = d.block = { streamId: id, push: type === PUSH_PROMISE, endStream: type === HEADERS && (flags & END_STREAM) !== 0, parts: [], size: 0, lost: false, start };
        if (fragment) {
          block.parts.push(fragment);
          block.size += fragment.length;
          if (block.size > MAX_BLOCK) throw new ParseError('HTTP/2: header block too large');
        } else block.lost = true;
        if (flags & END_HEADERS) {
          d.block = undefined;
          this.#block(side, d, block, consumedExit(stream), out);
        }
        return 'framed';
      }
      case SETTINGS:
      case RST_STREAM: {
        if (stream.available() < HEADER + len) return 'need-more';
        const buf = stream.contiguous(HEADER + len);
        const start = startAt(stream);
        stream.skip(HEADER + len);
        if (buf.length < HEADER + len) return 'framed'; // not captured: nothing to learn from it
        if (type === RST_STREAM) this.#reset(id, buf.readUInt32BE(HEADER), start, consumedExit(stream), out);
        else if (!(flags & ACK)) {
          for (let at = HEADER; at + 6 <= HEADER + len; at += 6) {
            const key = buf.readUInt16BE(at);
            const value = buf.readUInt32BE(at + 2);
            const other = this.#dirs[side === 'request' ? 'response' : 'request'];
            // the sender receives frames up to this size: the other direction may carry them
            if (key === SETTINGS_MAX_FRAME_SIZE && value >= DEFAULT_MAX_FRAME && value <= MAX_FRAME) other.maxFrame = value;
            if (key === SETTINGS_HEADER_TABLE_SIZE) d.tableSizeSetting = value;
          }
          // the server's connection preface: its first frame, before any header block
          if (first && side === 'response') d.decoder.markComplete();
        }
        return 'framed';
      }
      default:
        // PRIORITY, PING, GOAWAY, WINDOW_UPDATE, extension frames: nothing for spans
        stream.skip(HEADER);
        d.skip = len;
        return 'framed';
    }
  }

  #state(id: number, out: MessageSink<Http2Request, Http2Response>): StreamState {
    let s = this.#streams.get(id);
    if (!s) {
      if (this.#streams.size >= MAX_STREAMS) {
        const [oldId, old] = this.#streams.entries().next().value!;
        this.#streams.delete(oldId);
        if (old.request && !old.skipped) out.request(old.request); // the matcher ages it out, counted unanswered
      }
      this.#streams.set(id, (s = {}));
    }
    return s;
  }

  #skip(s: StreamState, out: MessageSink<Http2Request, Http2Response>): void {
    if (!s.skipped) out.skipped?.();
    s.skipped = true;
    s.request = undefined;
    s.response = undefined;
  }

  #block(side: Side, d: Direction, block: Block, lastExitNs: number, out: MessageSink<Http2Request, Http2Response>): void {
    let decoded: DecodedBlock | undefined;
    if (block.lost) d.decoder.desync(); // insertions in the missing part: the table is unknown from here
    else decoded = d.decoder.decode(block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts, block.size));
    if (block.push) return; // the promised request: server push is not traced
    const id = block.streamId;
    if (side === 'request') {
      const known = this.#streams.get(id);
      if (known?.request || known?.skipped) return; // trailers of a request: nothing for spans
      if (!decoded || decoded.unresolved > 0) {
        this.#skip(this.#state(id, out), out);
        return;
      }
      const req = this.#request(id, decoded);
      if (!req) return; // no :method: trailers of a request begun before bpfcol looked
      const s = this.#state(id, out);
      s.request = framed(req, block.start, lastExitNs);
      s.request.key = id;
      return;
    }
    const s = this.#state(id, out);
    if (!s.skipped) {
      if (!decoded || decoded.unresolved > 0) this.#skip(s, out);
      else this.#response(s, decoded, block.start);
    }
    if (block.endStream) this.#ended(id, lastExitNs, out);
  }

  #request(id: number, b: DecodedBlock): Http2Request | undefined {
    const r: Http2Request = { streamId: id };
    const keep = this.#privacy.requestHeaders;
    for (const { name, value } of b.fields) {
      if (name === undefined || value === undefined) continue;
      switch (name) {
        case ':method':
          r.method = value;
          break;
        case ':path':
          r.path = value;
          break;
        case ':scheme':
          r.scheme = value;
          break;
        case ':authority':
          r.authority = value;
          break;
        case 'host':
          r.authority ??= value;
          break;
        case 'user-agent':
          r.userAgent = value;
          break;
        case 'content-type':
          r.contentType = value;
          break;
        case 'traceparent':
          r.traceparent = value;
          break;
        case 'tracestate':
          r.tracestate = r.tracestate === undefined ? value : `${r.tracestate},${value}`;
          break;
      }
      if (keep.size && keep.has(name) && !isSensitiveHeader(name)) ((r.headers ??= {})[name] ??= []).push(value);
    }
    return r.method === undefined ? undefined : r;
  }

  #response(s: StreamState, b: DecodedBlock, start: Start): void {
    let status: number | undefined;
    let grpcStatus: number | undefined;
    let contentType: string | undefined;
    let headers: Record<string, string[]> | undefined;
    const keep = this.#privacy.responseHeaders;
    for (const { name, value } of b.fields) {
      if (name === undefined || value === undefined) continue;
      if (name === ':status') status = /^[1-5]\d\d$/.test(value) ? Number(value) : undefined;
      else if (name === 'grpc-status') grpcStatus = /^\d{1,3}$/.test(value) ? Number(value) : undefined;
      else if (name === 'content-type') contentType = value;
      else if (keep.size && keep.has(name) && !isSensitiveHeader(name)) ((headers ??= {})[name] ??= []).push(value);
    }
    if (status !== undefined) {
      if (status < 200) return; // interim (100 Continue, 103 Early Hints): the final response follows
      s.response = { message: { status }, start };
      if (contentType !== undefined) s.response.message.contentType = contentType;
      if (headers) s.response.message.headers = headers;
    }
    // trailers (or a trailers-only response): grpc-status
    if (grpcStatus !== undefined && s.response) s.response.message.grpcStatus = grpcStatus;
  }

  /** The server ended stream `id` (END_STREAM): its exchange is complete. */
  #ended(id: number, lastExitNs: number, out: MessageSink<Http2Request, Http2Response>): void {
    const s = this.#streams.get(id);
    if (!s) return; // a stream bpfcol saw nothing of (begun before it looked, or dropped)
    this.#streams.delete(id);
    if (s.skipped || !s.response) return;
    this.#emit(id, s, s.response.message, s.response.start, lastExitNs, out);
  }

  #reset(id: number, code: number, start: Start, lastExitNs: number, out: MessageSink<Http2Request, Http2Response>): void {
    const s = this.#streams.get(id);
    if (!s) return;
    this.#streams.delete(id);
    if (s.skipped || !s.request) return;
    const message: Http2Response = s.response ? { ...s.response.message, reset: code } : { reset: code };
    this.#emit(id, s, message, s.response?.start ?? start, lastExitNs, out);
  }

  #emit(id: number, s: StreamState, message: Http2Response, start: Start, lastExitNs: number, out: MessageSink<Http2Request, Http2Response>): void {
    if (s.request) out.request(s.request);
    const res = framed(message, start, lastExitNs);
    res.key = id;
    out.response(res);
  }
}

/** Whether a frame header can be what it says (strictly when resynchronising). */
function plausible(len: number, type: number, flags: number, id: number, maxFrame: number, synced: boolean): boolean {
  if (len > maxFrame) return false;
  switch (type) {
    case DATA:
    case HEADERS:
    case CONTINUATION:
      return id !== 0;
    case PUSH_PROMISE:
      return id !== 0 && len >= 4;
    case PRIORITY:
      return id !== 0 && len === 5;
    case RST_STREAM:
      return id !== 0 && len === 4;
    case SETTINGS:
      return id === 0 && len % 6 === 0 && (!(flags & ACK) || len === 0);
    case PING:
      return id === 0 && len === 8;
    case GOAWAY:
      return id === 0 && len >= 8;
    case WINDOW_UPDATE:
      return len === 4;
    default:
      return synced; // extension frames are skipped, but never trusted to resynchronise on
  }
}

// ---- spans -------------------------------------------------------------------------------------

const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

const isGrpc = (contentType: string | undefined): boolean => contentType !== undefined && /^application\/grpc(?:$|[+;-])/.test(contentType);

/** /package.Service/Method → service and method; undefined when :path is not that shape. */
export function grpcMethod(path: string | undefined): { service: string; method: string } | undefined {
  const m = path ? /^\/([^/?#]+)\/([^/?#]+)$/.exec(path) : null;
  return m ? { service: m[1]!, method: m[2]! } : undefined;
}

function describe(e: Exchange<Http2Request, Http2Response>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const d = isGrpc(req.contentType) ? describeGrpc(e, c) : describeHttp(e, c, privacy);
  const ctx = parseTraceparent(req.traceparent, req.tracestate);
  if (ctx) d.traceContext = ctx;
  return d;
}

/** server.address/port from :authority, else the socket. */
function serverOf(req: Http2Request, c: ConnectionInfo): { address: string | undefined; port: number | undefined } {
  const h = splitHost(req.authority);
  if (h.host) return { address: h.host, port: h.port ?? (req.scheme === 'https' ? 443 : 80) };
  return { address: c.serverAddress, port: c.serverPort };
}

function peerAttributes(a: Attrs, c: ConnectionInfo, server: { address: string | undefined; port: number | undefined }): void {
  if (c.role === 'server') {
    a.common('server.address', server.address).int('server.port', server.port);
    a.common('client.address', c.clientAddress);
    a.common('network.peer.address', c.peerAddress).int('network.peer.port', c.peerPort);
    if (c.transport !== 'tcp') a.common('network.transport', c.transport);
    if (c.networkType === 'ipv6') a.common('network.type', c.networkType);
  } else addServerAndPeer(a, { ...c, serverAddress: server.address, serverPort: server.port });
}

function describeHttp(e: Exchange<Http2Request, Http2Response>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const raw = req.method ?? '';
  const known = KNOWN_METHODS.has(raw);
  const method = known ? raw : '_OTHER';
  const server = c.role === 'server';
  const status = res?.status;
  const target = splitTarget(req.path ?? '/');
  const scheme = req.scheme ?? 'http';
  const where = serverOf(req, c);
  let errorType: string | undefined;
  if (status !== undefined && status >= (server ? 500 : 400)) errorType = String(status);
  else if (res?.reset !== undefined) errorType = H2_ERRORS[res.reset] ?? 'RST_STREAM';
  let query: string | undefined;
  if (target.query !== undefined && privacy.urlQuery !== 'none') query = privacy.urlQuery === 'full' ? target.query : redactQuery(target.query);
  const a = new Attrs();
  a.common('http.request.method', method);
  if (!known) a.str('http.request.method_original', raw);
  if (server) a.str('url.path', target.path).str('url.query', query).common('url.scheme', scheme);
  else {
    const authority = req.authority || `${c.serverAddress ?? 'localhost'}${c.serverPort !== undefined ? `:${c.serverPort}` : ''}`;
    a.str('url.full', `${scheme}://${authority}${target.path}${query !== undefined ? `?${query}` : ''}`);
  }
  peerAttributes(a, c, where);
  a.int('http.response.status_code', status);
  a.common('network.protocol.name', 'http');
  a.common('network.protocol.version', '2');
  a.common('user_agent.original', req.userAgent);
  headerAttributes(a, 'http.request.header', req.headers);
  headerAttributes(a, 'http.response.header', res?.headers);
  a.common('error.type', errorType);
  const metricAttributes = () => {
    const m = new Attrs().common('http.request.method', method).int('http.response.status_code', status).common('network.protocol.version', '2');
    if (server) m.common('url.scheme', scheme);
    else m.common('server.address', where.address).int('server.port', where.port);
    return m.common('error.type', errorType).list;
  };
  const d: SpanDescription = {
    name: method === '_OTHER' ? 'HTTP' : method,
    attributes: a.list,
    metric: {
      name: server ? 'http.server.request.duration' : 'http.client.request.duration',
      attributes: metricAttributes,
      key: `${method}|${status}|2|${scheme}|${server ? '' : `${where.address}|${where.port}`}|${errorType ?? ''}`,
    },
  };
  if (errorType) d.error = { type: errorType };
  return d;
}

function describeGrpc(e: Exchange<Http2Request, Http2Response>, c: ConnectionInfo): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const server = c.role === 'server';
  const rpc = grpcMethod(req.path);
  const code = res?.grpcStatus;
  const where = serverOf(req, c);
  let errorType: string | undefined;
  if (code !== undefined) errorType = code !== 0 ? (GRPC_STATUS[code] ?? String(code)) : undefined;
  else if (res?.reset !== undefined) errorType = H2_ERRORS[res.reset] ?? 'RST_STREAM';
  else if (res?.status !== undefined && res.status !== 200) errorType = String(res.status);
  else if (res) errorType = 'missing grpc-status';
  const a = new Attrs();
  a.common('rpc.system', 'grpc');
  a.common('rpc.service', rpc?.service);
  a.common('rpc.method', rpc?.method);
  a.int('rpc.grpc.status_code', code);
  peerAttributes(a, c, where);
  a.common('network.protocol.name', 'http');
  a.common('network.protocol.version', '2');
  a.common('user_agent.original', req.userAgent);
  a.common('error.type', errorType);
  const metricAttributes = () => {
    const m = new Attrs().common('rpc.system', 'grpc').common('rpc.service', rpc?.service).common('rpc.method', rpc?.method).int('rpc.grpc.status_code', code);
    if (!server) m.common('server.address', where.address).int('server.port', where.port);
    return m.common('error.type', errorType).list;
  };
  const d: SpanDescription = {
    name: rpc ? `${rpc.service}/${rpc.method}` : (req.path ?? 'grpc'),
    attributes: a.list,
    metric: {
      name: server ? 'rpc.server.duration' : 'rpc.client.duration',
      attributes: metricAttributes,
      key: `${rpc?.service}|${rpc?.method}|${code}|${server ? '' : `${where.address}|${where.port}`}|${errorType ?? ''}`,
    },
  };
  if (errorType) d.error = { type: errorType };
  return d;
}

export const http2: ProtocolModule<Http2Request, Http2Response> = {
  name: 'http2',
  matching: 'keyed',
  newParser: (_role, privacy) => new Http2Parser(privacy),
  describe,
};
