// One traced connection in user space: the two byte streams, the protocol's parser and the
// matcher pairing its requests and responses. Nothing a parser does escapes: errors and garbage
// are counted, the parser's side is reset and parsing resumes at the next syscall boundary.
import { type Direction, EGRESS, INGRESS } from './layout.ts';
import { FifoMatcher, KeyedMatcher, type MatchStats, type Matcher } from './matcher.ts';
import { feedDatagram } from './datagram.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, Framed, MessageSink, Peer, PrivacyOptions, ProtocolModule, Side } from './protocols/types.ts';
import type { ProcessResource } from './processes.ts';
import type { Series } from './request-metrics.ts';
import { ByteStream, MAX_BUFFERED_BYTES, type Segment } from './stream.ts';

export interface ParseStats {
  /** Payload stretches that were not the protocol (skipped to the next syscall). */
  garbage: number;
  /** Resumptions at the next syscall because the bytes at hand were not captured (capture_bytes): not an error. */
  holes: number;
  /** Parser exceptions (counted in garbage too). */
  errors: number;
  /** Records missing from a stream (the ring was full): bytes the parsers never saw. */
  gaps: number;
  /** Records repeating bytes already seen. */
  stale: number;
  /** Requests seen but not described (HTTP/2 header blocks that could not be decoded without guessing). */
  skipped: number;
}

export interface ExchangeSink {
  (connection: TracedConnection, exchange: Exchange<unknown, unknown>): void;
}

export interface ConnectionIdentity {
  id: number;
  tgid: number;
  fd: number;
  startTime: bigint;
  cgroupId: bigint;
  comm: string;
  openedNs: number;
}

export class TracedConnection {
  readonly identity: ConnectionIdentity;
  readonly info: ConnectionInfo;
  readonly protocol: ProtocolModule;
  readonly #parser: ConnectionParser<unknown, unknown>;
  readonly #matcher: Matcher<unknown, unknown>;
  readonly #streams: [ByteStream, ByteStream] = [new ByteStream(), new ByteStream()];
  readonly #requestDirection: Direction;
  readonly #stats: ParseStats;
  readonly #emit: (e: Exchange<unknown, unknown>) => void;
  readonly #sink: MessageSink<unknown, unknown>;
  /** By side (request, response): framing was lost in uncaptured bytes and no message framed since. */
  readonly #resyncing: [boolean, boolean] = [false, false];
  /** Kernel time of the latest record. */
  lastSeenNs: number;
  /** The parser gave up on it: later records are dropped (and the kernel told to stop sending). */
  stopped = false;
  /** Whose connection it is, once looked up (the receiver's cache). */
  resource: ProcessResource | undefined;
  /** The metric series its last exchange went to, and that series' key (the receiver's cache). */
  lastSeries: { key: string; name: string; series: Series } | undefined;

  /** `stats` is shared by the connections of a protocol: parse and match counts add up there. */
  constructor(identity: ConnectionIdentity, info: ConnectionInfo, protocol: ProtocolModule, privacy: PrivacyOptions, stats: ParseStats & MatchStats, onExchange: ExchangeSink) {
    this.identity = identity;
    this.info = info;
    this.protocol = protocol;
    this.#parser = protocol.newParser(info.role, privacy);
    this.#matcher = protocol.matching === 'keyed' ? new KeyedMatcher(stats) : new FifoMatcher(stats);
    this.#requestDirection = info.role === 'server' ? INGRESS : EGRESS;
    this.#stats = stats;
    this.lastSeenNs = identity.openedNs;
    this.#emit = (e) => onExchange(this, e);
    this.#sink = {
      request: (m: Framed<unknown>) => {
        this.#resyncing[0] = false;
        this.#matcher.request(m, this.#emit);
      },
      response: (m: Framed<unknown>) => {
        this.#resyncing[1] = false;
        this.#matcher.response(m, this.#emit);
      },
      desync: (beforeNs: number) => void this.#matcher.expire(beforeNs),
      skipped: () => void this.#stats.skipped++,
    };
  }


  /** Feeds one syscall's payload. Returns false once the connection should no longer be followed. */
  onData(direction: Direction, segment: Segment): boolean {
    if (this.stopped) return false;
    this.lastSeenNs = segment.exitNs;
    const side: Side = direction === this.#requestDirection ? 'request' : 'response';
    const stream = this.#streams[direction];
    const appended = stream.append(segment);
    if (appended === 'stale') {
      this.#stats.stale++;
      return true;
    }
    if (appended === 'gap' && segment.afterSkipped) {
      // bytes the kernel measured itself (whole exchanges): nothing lost, nothing waits across them
      this.#parser.reset(side);
    } else if (appended === 'gap') {
      this.#stats.gaps++;
      this.#resyncing[side === 'request' ? 0 : 1] = true;
      this.#parser.reset(side);
      // Pairs could shift past a lost message: drop what waits rather than pair it wrongly.
      this.#matcher.clear();
    }
    const more = this.#parse(side, stream);
    stream.retain();
    return more;
  }

  /** Feeds one datagram, a whole message from or to `peer` (datagram.ts). Returns false once the connection should no longer be followed. */
  onDatagram(direction: Direction, segment: Segment, peer: Peer): boolean {
    if (this.stopped) return false;
    this.lastSeenNs = segment.exitNs;
    const side: Side = direction === this.#requestDirection ? 'request' : 'response';
    if (feedDatagram(this.#parser, this.#sink, this.#stats, side, segment, peer)) return true;
    this.stop();
    return false;
  }

  #parse(side: Side, stream: ByteStream): boolean {
    for (;;) {
      let result: string;
      try {
        result = this.#parser.parse(side, stream, this.#sink);
      } catch {
        this.#stats.errors++;
        result = 'invalid';
      }
      if (result === 'stop') {
        this.stop();
        return false;
      }
      if (result === 'need-more') {
        if (stream.available() <= MAX_BUFFERED_BYTES) return true;
        result = 'invalid'; // waiting for more than any message needs: not this protocol
      }
      // standing where the kernel captured nothing (past capture_bytes) is no garbage
      if (result === 'lost' || (stream.contiguous(1).length === 0 && stream.available() > 0)) this.#stats.holes++;
      else if (this.#resyncing[side === 'request' ? 0 : 1]) this.#stats.holes++; // a syscall starting mid-message after one
      else this.#stats.garbage++;
      if (result === 'lost') this.#resyncing[side === 'request' ? 0 : 1] = true;
      this.#parser.reset(side);
      if (!stream.skipToNextSegment()) return true;
    }
  }

  /** Drops requests waiting since before `beforeNs`; returns how many. */
  expire(beforeNs: number): number {
    return this.#matcher.expire(beforeNs);
  }

  /** The connection ended: frames what the end completes, drops what waits. Returns requests left unanswered. */
  close(): number {
    if (!this.stopped) {
      try {
        this.#parser.finish?.(this.#sink);
      } catch {
        this.#stats.errors++;
      }
    }
    this.#streams[0].clear();
    this.#streams[1].clear();
    return this.#matcher.clear();
  }

  stop(): void {
    this.stopped = true;
    this.#streams[0].clear();
    this.#streams[1].clear();
  }
}
