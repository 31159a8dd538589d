// The parser interface every protocol implements. A connection carries two byte streams: the
// client's (requests) and the server's (responses). A protocol's ConnectionParser frames messages
// out of each stream and hands them to a matcher that pairs requests with responses:
//   - in order (FIFO): HTTP/1.x, Redis, PostgreSQL, MySQL;
//   - by key: HTTP/2 stream ids, Kafka correlation ids, DNS transaction ids (matching: 'keyed').
// Each pair becomes an Exchange, which the protocol describes as a span (name, attributes,
// status) and a request metric. Plaintext from TLS library hooks feeds the same parsers.
//
// Parsers work on what the kernel captured: a prefix of each syscall's payload, so bodies are
// skipped by length and a message may lose its end; a gap (a record the kernel lost) or garbage
// makes the caller reset the parser's side and resume at the next syscall boundary. Parsers may
// throw on bad input (ParseError); the connection catches everything and counts it.
import type { KeyValue } from '../../../src/pdata/common.ts';
import type { ByteStream } from '../stream.ts';

/** Protocols of this receiver (as written in the config's `protocols`). */
export const PROTOCOLS = ['http', 'postgresql', 'mysql', 'redis', 'http2', 'kafka', 'dns'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** Which stream a parser reads: the client's or the server's. */
export type Side = 'request' | 'response';

/** A message framed out of one stream, with the kernel times of its first and last bytes. */
export interface Framed<T> {
  message: T;
  /** Pairs request and response in keyed protocols; absent in FIFO ones. */
  key?: number | bigint | string;
  /** Kernel times (ns since the receiver's time base): entry and exit of the syscall that moved the first byte, exit of the one that moved the last. */
  firstEnterNs: number;
  firstExitNs: number;
  lastExitNs: number;
  /** A request the protocol answers with nothing (MySQL COM_STMT_CLOSE): an exchange on its own. */
  noResponse?: boolean;
  /** Datagram protocols (DNS over UDP): the other end of this message's datagram. */
  peer?: Peer;
}

/** The other end of a datagram. */
export interface Peer {
  address: string;
  port: number;
  type: 'ipv4' | 'ipv6';
}

export interface MessageSink<Req, Res> {
  request(m: Framed<Req>): void;
  response(m: Framed<Res>): void;
  /**
   * Responses were lost in uncaptured bytes (their number unknown): requests sent before
   * `beforeNs` are dropped rather than paired with later responses.
   */
  desync(beforeNs: number): void;
  /** A request the parser saw but will not describe (HTTP/2: a header block that could not be decoded without guessing). */
  skipped?(): void;
}

/**
 * What one parse call ended with:
 *  - 'need-more': everything parseable was framed; wait for more bytes
 *  - 'invalid': the bytes at the current position are not this protocol (counted; the caller resyncs)
 *  - 'lost': the framing fell into bytes the kernel did not capture (capture_bytes): the caller
 *    resyncs at the next syscall, and it is no error
 *  - 'stop': the connection leaves this protocol (TLS, an HTTP upgrade, pub/sub): stop following it
 */
export type ParseResult = 'need-more' | 'invalid' | 'lost' | 'stop';

export class ParseError extends Error {}

/** Per-connection parsing state, both streams. */
export interface ConnectionParser<Req, Res> {
  parse(side: Side, stream: ByteStream, out: MessageSink<Req, Res>): ParseResult;
  /** Forget partial state of one side (after a gap or garbage). */
  reset(side: Side): void;
  /** The connection closed: frame what only the end of the stream completes (HTTP bodies read until close). */
  finish?(out: MessageSink<Req, Res>): void;
}

export interface Exchange<Req, Res> {
  request: Framed<Req>;
  /** Absent for requests that get no response. */
  response?: Framed<Res>;
}

/** What the receiver knows of a connection when it describes an exchange. */
export interface ConnectionInfo {
  role: 'client' | 'server';
  /** The server's side: the peer for a client, the local end for a server. */
  serverAddress?: string;
  serverPort?: number;
  /** The client's side. */
  clientAddress?: string;
  clientPort?: number;
  peerAddress?: string;
  peerPort?: number;
  /** 'tcp', 'unix', or 'udp' (datagram protocols: DNS) */
  transport: 'tcp' | 'unix' | 'udp';
  networkType?: 'ipv4' | 'ipv6';
  /** Its bytes came from the TLS library's probes (decrypted): https, `tls.established`. */
  tls?: boolean;
}

export interface PrivacyOptions {
  /** Header names (lower case) recorded as http.request.header.<name> / http.response.header.<name>. */
  requestHeaders: ReadonlySet<string>;
  responseHeaders: ReadonlySet<string>;
  /** url.query: left out, with every value replaced by '?', or as sent. */
  urlQuery: 'none' | 'redacted' | 'full';
  /** Keep SQL literals and Redis arguments in db.query.text. */
  keepLiterals: boolean;
}

/** A W3C trace context carried by a request. */
export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: number;
  traceState?: string;
}

export interface SpanDescription {
  name: string;
  attributes: KeyValue[];
  error?: { type: string; message?: string };
  traceContext?: TraceContext;
  /**
   * The request metric this exchange feeds, with its low-cardinality attributes (a function: they
   * are built only for a new series); absent: none. `key` identifies the attribute set.
   */
  metric?: { name: RequestMetricName; attributes: () => KeyValue[]; key: string };
}

export const REQUEST_METRICS = ['http.server.request.duration', 'http.client.request.duration', 'db.client.operation.duration', 'db.server.operation.duration', 'rpc.server.duration', 'rpc.client.duration', 'messaging.client.operation.duration', 'messaging.server.operation.duration', 'dns.lookup.duration'] as const;
export type RequestMetricName = (typeof REQUEST_METRICS)[number];

export interface ProtocolModule<Req = unknown, Res = unknown> {
  readonly name: ProtocolName;
  /** How requests and responses pair. */
  readonly matching: 'fifo' | 'keyed';
  /** Carried in datagrams (DNS over UDP): each record is one whole message with its peer (datagram.ts), no byte stream. */
  readonly datagrams?: boolean;
  newParser(role: 'client' | 'server', privacy: PrivacyOptions): ConnectionParser<Req, Res>;
  describe(exchange: Exchange<Req, Res>, connection: ConnectionInfo, privacy: PrivacyOptions): SpanDescription;
}
