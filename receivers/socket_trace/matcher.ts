// Pairs requests with responses. FIFO for protocols answering in order (HTTP/1.x pipelining,
// Redis pipelines, PostgreSQL, MySQL); by key for protocols multiplexing (HTTP/2 stream ids,
// Kafka correlation ids, DNS transaction ids).
//
// Both sides queue, so the order in which the two directions' records arrive does not matter.
// A response cannot start before its request did: an earlier one answers a request never seen
// (bpfcol attached mid-connection) and is dropped, so the pairs never shift.
import type { Exchange, Framed } from './protocols/types.ts';

export interface MatchStats {
  /** Requests dropped without a response (the queue overflowed, the connection ended, they aged out). */
  unanswered: number;
  /** Responses dropped without a request. */
  unmatched: number;
}

export interface Matcher<Req, Res> {
  request(m: Framed<Req>, emit: (e: Exchange<Req, Res>) => void): void;
  response(m: Framed<Res>, emit: (e: Exchange<Req, Res>) => void): void;
  /** Drops requests waiting since before `beforeNs` (kernel time); returns how many. */
  expire(beforeNs: number): number;
  /** Drops everything waiting (the connection ended or lost bytes); returns how many requests. */
  clear(): number;
  readonly stats: MatchStats;
  /** Requests waiting. */
  readonly pending: number;
}

/** Waiting messages kept per connection and side; beyond, the oldest go. */
const MAX_WAITING = 1024;

export class FifoMatcher<Req, Res> implements Matcher<Req, Res> {
  readonly stats: MatchStats;
  #requests: Framed<Req>[] = [];
  #responses: Framed<Res>[] = [];

  /** `stats` may be shared with other matchers (counts per protocol). */
  constructor(stats: MatchStats = { unanswered: 0, unmatched: 0 }) {
    this.stats = stats;
  }

  get pending(): number {
    return this.#requests.length;
  }

  request(m: Framed<Req>, emit: (e: Exchange<Req, Res>) => void): void {
    this.#requests.push(m);
    if (this.#requests.length > MAX_WAITING) {
      this.#requests.shift();
      this.stats.unanswered++;
    }
    this.#pair(emit);
  }

  response(m: Framed<Res>, emit: (e: Exchange<Req, Res>) => void): void {
    this.#responses.push(m);
    if (this.#responses.length > MAX_WAITING) {
      this.#responses.shift();
      this.stats.unmatched++;
    }
    this.#pair(emit);
  }

  #pair(emit: (e: Exchange<Req, Res>) => void): void {
    for (;;) {
      const req = this.#requests[0];
      if (!req) return;
      if (req.noResponse) {
        this.#requests.shift();
        emit({ request: req });
        continue;
      }
      const res = this.#responses[0];
      if (!res) return;
      this.#responses.shift();
      if (res.lastExitNs < req.firstEnterNs) {
        this.stats.unmatched++; // answers something sent before we saw it
        continue;
      }
      this.#requests.shift();
      emit({ request: req, response: res });
    }
  }

  expire(beforeNs: number): number {
    let n = 0;
    while (this.#requests.length && this.#requests[0]!.firstEnterNs < beforeNs) {
      this.#requests.shift();
      n++;
    }
    while (this.#responses.length && this.#responses[0]!.lastExitNs < beforeNs) {
      this.#responses.shift();
      this.stats.unmatched++;
    }
    this.stats.unanswered += n;
    return n;
  }

  clear(): number {
    const n = this.#requests.length;
    this.stats.unanswered += n;
    this.stats.unmatched += this.#responses.length;
    this.#requests = [];
    this.#responses = [];
    return n;
  }
}

export class KeyedMatcher<Req, Res> implements Matcher<Req, Res> {
  readonly stats: MatchStats;
  #requests = new Map<Framed<Req>['key'], Framed<Req>>();
  #responses = new Map<Framed<Res>['key'], Framed<Res>>();

  constructor(stats: MatchStats = { unanswered: 0, unmatched: 0 }) {
    this.stats = stats;
  }

  get pending(): number {
    return this.#requests.size;
  }

  request(m: Framed<Req>, emit: (e: Exchange<Req, Res>) => void): void {
    if (m.noResponse) return emit({ request: m });
    const res = this.#responses.get(m.key);
    if (res) {
      this.#responses.delete(m.key);
      return emit({ request: m, response: res });
    }
    if (this.#requests.has(m.key)) this.stats.unanswered++; // the key was reused: the old one got no answer
    this.#requests.set(m.key, m);
    this.#bound(this.#requests, 'unanswered');
  }

  response(m: Framed<Res>, emit: (e: Exchange<Req, Res>) => void): void {
    const req = this.#requests.get(m.key);
    if (req) {
      this.#requests.delete(m.key);
      return emit({ request: req, response: m });
    }
    if (this.#responses.has(m.key)) this.stats.unmatched++;
    this.#responses.set(m.key, m);
    this.#bound(this.#responses, 'unmatched');
  }

  #bound(map: Map<unknown, unknown>, stat: keyof MatchStats): void {
    if (map.size <= MAX_WAITING) return;
    const oldest = map.keys().next().value;
    map.delete(oldest);
    this.stats[stat]++;
  }

  expire(beforeNs: number): number {
    let n = 0;
    for (const [k, m] of this.#requests) {
      if (m.firstEnterNs < beforeNs) {
        this.#requests.delete(k);
        n++;
      }
    }
    for (const [k, m] of this.#responses) {
      if (m.lastExitNs < beforeNs) {
        this.#responses.delete(k);
        this.stats.unmatched++;
      }
    }
    this.stats.unanswered += n;
    return n;
  }

  clear(): number {
    const n = this.#requests.size;
    this.stats.unanswered += n;
    this.stats.unmatched += this.#responses.size;
    this.#requests.clear();
    this.#responses.clear();
    return n;
  }
}
