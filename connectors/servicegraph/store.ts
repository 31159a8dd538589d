// The store that pairs a client span with its server span, as the Collector's servicegraph
// store: an edge is keyed by trace id + the client span's id (a server span looks it up by its
// parent span id). An edge is complete once both sides are known and is then handed to
// onComplete; edges unpaired after `ttl` are handed to onExpire, oldest first. A full store
// refuses new edges (the caller counts the span as dropped).
export type ConnectionType = '' | 'messaging_system' | 'database' | 'virtual_node';

export interface Edge {
  key: string;
  /** The key's span id part (empty for a root server span). */
  spanId: string;
  traceId: string;
  connectionType: ConnectionType;
  clientService: string;
  serverService: string;
  clientLatencySec: number;
  serverLatencySec: number;
  failed: boolean;
  /** client_<dim> / server_<dim> -> value. */
  dimensions: Map<string, string>;
  /** Peer attributes of the client span (virtual server naming). */
  peer: Map<string, string>;
  /** Peer attributes of the server span (virtual client naming, bpfcol). */
  clientPeer: Map<string, string>;
  /** Peer dimensions from k8s_metadata's prefixed attributes: side -> dim -> value. */
  peerDimensions: { client: Map<string, string>; server: Map<string, string> };
  requestBytes?: number;
  responseBytes?: number;
  virtualNode?: 'client' | 'server';
  expiresAtMs: number;
}

export class TooManyItems extends Error {}

export class EdgeStore {
  readonly #edges = new Map<string, Edge>();
  readonly #ttlMs: number;
  readonly #maxItems: number;
  readonly #onComplete: (e: Edge) => void;
  readonly #onExpire: (e: Edge) => void;
  readonly #now: () => number;

  constructor(options: { ttlMs: number; maxItems: number; onComplete: (e: Edge) => void; onExpire: (e: Edge) => void; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxItems = options.maxItems;
    this.#onComplete = options.onComplete;
    this.#onExpire = options.onExpire;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#edges.size;
  }

  /** Updates (or creates) the edge of `traceId`/`spanId`; returns true when it was new. Throws TooManyItems when full. */
  upsert(traceId: string, spanId: string, update: (e: Edge) => void): boolean {
    const key = `${traceId}/${spanId}`;
    const existing = this.#edges.get(key);
    if (existing) {
      update(existing);
      if (isComplete(existing)) {
        this.#edges.delete(key);
        this.#onComplete(existing);
      }
      return false;
    }
    const edge: Edge = {
      key, spanId, traceId, connectionType: '', clientService: '', serverService: '', clientLatencySec: 0, serverLatencySec: 0, failed: false,
      dimensions: new Map(), peer: new Map(), clientPeer: new Map(), peerDimensions: { client: new Map(), server: new Map() }, expiresAtMs: this.#now() + this.#ttlMs,
    };
    update(edge);
    if (isComplete(edge)) {
      this.#onComplete(edge);
      return true;
    }
    if (this.#edges.size >= this.#maxItems && !this.#evictHead()) throw new TooManyItems('too many items');
    this.#edges.set(key, edge);
    return true;
  }

  /** Expires every edge past its ttl. */
  expire(): void {
    while (this.#evictHead());
  }

  #evictHead(): boolean {
    const head = this.#edges.values().next();
    if (head.done || head.value.expiresAtMs > this.#now()) return false;
    this.#edges.delete(head.value.key);
    this.#onExpire(head.value);
    return true;
  }
}

export function isComplete(e: Edge): boolean {
  return e.clientService !== '' && e.serverService !== '';
}
