// Feeds a protocol's parser through a TracedConnection the way the kernel records would, for the
// parser tests: payloads by side, optionally cut to a capture size, with made-up kernel times.
import { type ParseStats, TracedConnection } from '../connection.ts';
import type { MatchStats } from '../matcher.ts';
import { EGRESS, INGRESS } from '../layout.ts';
import type { Segment } from '../stream.ts';
import type { ConnectionInfo, Exchange, PrivacyOptions, ProtocolModule } from './types.ts';

export const DEFAULT_PRIVACY: PrivacyOptions = { requestHeaders: new Set(), responseHeaders: new Set(), urlQuery: 'none', keepLiterals: false };

export interface FeedOptions {
  role?: 'client' | 'server';
  /** Bytes captured per payload (the kernel's capture_bytes); the rest is counted, not seen. */
  capture?: number;
  /** Bytes of a cut payload's end sent too. */
  tail?: number;
  privacy?: PrivacyOptions;
}

export interface Fed {
  exchanges: Exchange<any, any>[];
  stats: ParseStats & MatchStats;
  connection: TracedConnection;
  /** Feeds more payloads into the same connection. */
  send(side: 'request' | 'response', payload: Buffer | string): void;
  /** Records the kernel lost: bytes that never arrive (a gap in the stream). */
  lose(side: 'request' | 'response', bytes: number): void;
  close(): void;
}

export function connectionFor(protocol: ProtocolModule<any, any>, options: FeedOptions = {}): Fed {
  const role = options.role ?? 'server';
  const info: ConnectionInfo = role === 'server'
    ? { role, transport: 'tcp', networkType: 'ipv4', serverAddress: '127.0.0.1', serverPort: 8080, clientAddress: '127.0.0.1', clientPort: 40000, peerAddress: '127.0.0.1', peerPort: 40000 }
    : { role, transport: 'tcp', networkType: 'ipv4', serverAddress: '127.0.0.1', serverPort: 8080, peerAddress: '127.0.0.1', peerPort: 8080 };
  const stats: ParseStats & MatchStats = { garbage: 0, holes: 0, errors: 0, gaps: 0, stale: 0, skipped: 0, unanswered: 0, unmatched: 0 };
  const exchanges: Exchange<any, any>[] = [];
  const connection = new TracedConnection(
    { id: 1, tgid: 1, fd: 3, startTime: 0n, cgroupId: 0n, comm: 'test', openedNs: 0 },
    info,
    protocol,
    options.privacy ?? DEFAULT_PRIVACY,
    stats,
    (_c, e) => exchanges.push(e),
  );
  const positions = [0, 0];
  let clock = 1000;
  const capture = options.capture ?? 1 << 30;
  const requestDir = role === 'server' ? INGRESS : EGRESS;
  const dirOf = (side: 'request' | 'response') => (side === 'request' ? requestDir : requestDir === INGRESS ? EGRESS : INGRESS);
  return {
    exchanges,
    stats,
    connection,
    send(side, payload) {
      const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
      const dir = dirOf(side);
      const head = data.subarray(0, Math.min(capture, data.length));
      const seg: Segment = { position: positions[dir]!, length: data.length, head: Buffer.from(head), enterNs: clock, exitNs: clock + 10 };
      if (head.length < data.length && options.tail) seg.tail = Buffer.from(data.subarray(Math.max(head.length, data.length - options.tail)));
      positions[dir]! += data.length;
      clock += 100;
      connection.onData(dir, seg);
    },
    lose(side, bytes) {
      positions[dirOf(side)]! += bytes;
    },
    close() {
      connection.close();
    },
  };
}

/** Deterministic pseudo-random bytes (xorshift) for fuzz loops. */
export function randomBytes(seed: number): (n: number) => Buffer {
  let x = seed | 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = next() & 0xff;
    return b;
  };
}
