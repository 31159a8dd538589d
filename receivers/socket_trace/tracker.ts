// Connections in user space, by the kernel's connection id: made by the open record, fed by the
// data records, finished by the close record (or when their process is gone, or when idle).
import { existsSync } from 'node:fs';
import { connectionInfo } from './addresses.ts';
import { type ExchangeSink, type ParseStats, TracedConnection } from './connection.ts';
import { type Direction, type OpenEvent } from './layout.ts';
import { BY_KERNEL_ID } from './protocols/index.ts';
import type { Peer, PrivacyOptions, ProtocolName } from './protocols/types.ts';
import type { Segment } from './stream.ts';

export interface ProtocolStats extends ParseStats {
  /** Requests without a response (dropped at close, by the timeout, or after lost bytes). */
  unanswered: number;
  /** Responses without a request. */
  unmatched: number;
  exchanges: number;
}

export interface TrackerStats {
  /** Data records of connections whose open record never came (lost in a full ring). */
  unknownConnection: number;
  /** Connections the parser gave up (TLS, protocol switch): their records are dropped. */
  stopped: number;
  perProtocol: Map<ProtocolName, ProtocolStats>;
}

const newProtocolStats = (): ProtocolStats => ({ garbage: 0, holes: 0, errors: 0, gaps: 0, stale: 0, skipped: 0, unanswered: 0, unmatched: 0, exchanges: 0 });

export class ConnectionTracker {
  readonly #conns = new Map<number, TracedConnection>();
  readonly #privacy: PrivacyOptions;
  readonly #onExchange: ExchangeSink;
  readonly #onStop: (c: TracedConnection) => void;
  readonly #onOpen: ((c: TracedConnection) => void) | undefined;
  readonly stats: TrackerStats = { unknownConnection: 0, stopped: 0, perProtocol: new Map() };

  /** `onOpen` sees each connection as its open record arrives (the receiver reads whose it is then). */
  constructor(privacy: PrivacyOptions, onExchange: ExchangeSink, onStop: (c: TracedConnection) => void, onOpen?: (c: TracedConnection) => void) {
    this.#privacy = privacy;
    this.#onExchange = (c, e) => {
      this.#statsOf(c.protocol.name).exchanges++;
      onExchange(c, e);
    };
    this.#onStop = onStop;
    this.#onOpen = onOpen;
  }

  get size(): number {
    return this.#conns.size;
  }

  #statsOf(name: ProtocolName): ProtocolStats {
    let s = this.stats.perProtocol.get(name);
    if (!s) this.stats.perProtocol.set(name, (s = newProtocolStats()));
    return s;
  }

  /** A connection's open record; `openedNs` its time relative to the clock's base. */
  open(e: OpenEvent, openedNs: number): void {
    const protocol = BY_KERNEL_ID.get(e.protocol);
    if (!protocol) return;
    const id = Number(e.conn_id);
    const old = this.#conns.get(id);
    if (old) this.#finish(old);
    const identity = { id, tgid: e.tgid, fd: e.fd, startTime: e.start_time, cgroupId: e.cgroup_id, comm: e.comm, openedNs };
    const info = connectionInfo(e);
    if (protocol.datagrams) info.transport = 'udp';
    const c = new TracedConnection(identity, info, protocol, this.#privacy, this.#statsOf(protocol.name), this.#onExchange);
    this.#conns.set(id, c);
    this.#onOpen?.(c);
  }

  /**
   * One syscall's payload; `peer`: a datagram (a whole message) and its other end; `tls`: the
   * record's bytes are plaintext from the TLS probes (the connection is HTTPS...).
   */
  data(connId: number, direction: Direction, segment: Segment, peer?: Peer, tls = false): void {
    const c = this.#conns.get(connId);
    if (!c) {
      this.stats.unknownConnection++;
      return;
    }
    if (tls) c.info.tls = true;
    if (c.stopped) return;
    // a datagram protocol's records always carry their peer (one without is dropped, never streamed)
    if (!(c.protocol.datagrams ? !peer || c.onDatagram(direction, segment, peer) : c.onData(direction, segment))) {
      this.stats.stopped++;
      this.#onStop(c);
    }
  }

  close(connId: number): void {
    const c = this.#conns.get(connId);
    if (c) this.#finish(c);
  }

  #finish(c: TracedConnection): void {
    this.#conns.delete(c.identity.id);
    c.close();
  }

  /**
   * Housekeeping: requests older than `requestBeforeNs` are dropped; connections of processes that
   * are gone are finished (they exited without closing them), and beyond `maxConnections` the
   * least recently active ones (their close records were lost). Returns how many ended.
   */
  sweep(requestBeforeNs: number, maxConnections: number): number {
    let ended = 0;
    const alive = new Map<number, boolean>();
    for (const c of [...this.#conns.values()]) {
      c.expire(requestBeforeNs);
      let ok = alive.get(c.identity.tgid);
      if (ok === undefined) alive.set(c.identity.tgid, (ok = existsSync(`/proc/${c.identity.tgid}`)));
      if (!ok) {
        this.#finish(c);
        ended++;
      }
    }
    if (this.#conns.size > maxConnections) {
      const oldest = [...this.#conns.values()].sort((a, b) => (a.lastSeenNs < b.lastSeenNs ? -1 : 1));
      for (const c of oldest.slice(0, this.#conns.size - maxConnections)) {
        this.#finish(c);
        ended++;
      }
    }
    return ended;
  }

  /** Finishes every connection (shutdown). */
  closeAll(): void {
    for (const c of [...this.#conns.values()]) this.#finish(c);
  }
}
