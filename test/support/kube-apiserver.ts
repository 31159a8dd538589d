// A Kubernetes API server for tests, speaking the real list/watch protocol over HTTP (or HTTPS):
// lists are `<Kind>List` envelopes with metadata.resourceVersion; watches (`?watch=true`) are
// chunked streams of `{"type":..., "object":...}` lines, replayed from the resourceVersion asked
// for; a resourceVersion older than the compaction point gets 410 Gone, either as an ERROR
// event carrying a Status (the watch cache's way) or as an HTTP 410 with a Status body (etcd's);
// BOOKMARK events go to watches that asked for them; field selectors spec.nodeName,
// metadata.name and metadata.namespace filter. Tests drive it: add/update/delete objects,
// compact, expire or close open watches, make the next requests fail.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

type Obj = Record<string, any>;

interface ResourceType {
  kind: string;
  apiVersion: string;
  namespaced: boolean;
}

/** Collection name -> what its objects are. */
export const RESOURCES: Record<string, ResourceType> = {
  pods: { kind: 'Pod', apiVersion: 'v1', namespaced: true },
  nodes: { kind: 'Node', apiVersion: 'v1', namespaced: false },
  namespaces: { kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  replicasets: { kind: 'ReplicaSet', apiVersion: 'apps/v1', namespaced: true },
  jobs: { kind: 'Job', apiVersion: 'batch/v1', namespaced: true },
};

const PREFIX: Record<string, string> = { v1: '/api/v1', 'apps/v1': '/apis/apps/v1', 'batch/v1': '/apis/batch/v1' };

interface Event {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  resource: string;
  namespace?: string;
  selector: (o: Obj) => boolean;
  bookmarks: boolean;
  res: ServerResponse;
}

export interface RequestRecord {
  resource: string;
  watch: boolean;
  query: Record<string, string>;
  status: number;
}

/** A fixture from test/fixtures/kubernetes with fields replaced (deep merge of `patch`). */
export function fixture(name: string, patch: Obj = {}): Obj {
  const base = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/kubernetes', `${name}.json`), 'utf8')) as Obj;
  return merge(base, patch);
}

function merge(a: Obj, b: Obj): Obj {
  for (const [k, v] of Object.entries(b)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' && !Array.isArray(a[k])) merge(a[k], v);
    else a[k] = v;
  }
  return a;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function fieldSelector(text: string | undefined): (o: Obj) => boolean {
  if (!text) return () => true;
  const tests = text.split(',').map((term) => {
    const [path, value] = term.split('=') as [string, string];
    const read = (o: Obj) => path.split('.').reduce<any>((x, k) => x?.[k], o);
    return (o: Obj) => read(o) === value;
  });
  return (o) => tests.every((t) => t(o));
}

export class FakeKubeApiServer {
  readonly url: string;
  /** Every list and watch request, in order. */
  readonly requests: RequestRecord[] = [];
  /** 'event': a too-old watch gets 200 and an ERROR 410 event; 'http': an HTTP 410 answer. */
  goneMode: 'event' | 'http' = 'event';
  readonly #server: Server;
  readonly #token: string | undefined;
  readonly #objects = new Map<string, Map<string, Obj>>();
  readonly #history: Event[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #failures = new Map<string, { count: number; code: number }>();
  readonly #waiters: { test: () => boolean; resolve: () => void }[] = [];
  #rv = 1000;
  #compactedTo = 0;

  private constructor(server: Server, url: string, token: string | undefined) {
    this.#server = server;
    this.url = url;
    this.#token = token;
    for (const r of Object.keys(RESOURCES)) this.#objects.set(r, new Map());
  }

  static async start(options: { tls?: { cert: string; key: string }; token?: string } = {}): Promise<FakeKubeApiServer> {
    let self: FakeKubeApiServer | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => self!.#handle(req, res);
    const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    self = new FakeKubeApiServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, options.token);
    return self;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Adds or replaces an object (ADDED or MODIFIED); returns the stored copy. */
  apply(resource: string, object: Obj): Obj {
    const store = this.#objects.get(resource)!;
    const o = structuredClone(object);
    o.metadata ??= {};
    o.metadata.resourceVersion = String(++this.#rv);
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const type = store.has(key) ? 'MODIFIED' : 'ADDED';
    store.set(key, o);
    this.#emit({ rv: this.#rv, resource, type, object: o });
    return o;
  }

  delete(resource: string, namespace: string | undefined, name: string): void {
    const store = this.#objects.get(resource)!;
    const key = `${namespace ?? ''}/${name}`;
    const o = store.get(key);
    if (!o) return;
    store.delete(key);
    const gone = structuredClone(o);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ rv: this.#rv, resource, type: 'DELETED', object: gone });
  }

  /** Forgets the history: watches from an older resourceVersion now get 410 Gone. */
  compact(): void {
    this.#compactedTo = this.#rv;
    this.#history.length = 0;
  }

  /** Ends every open watch of `resource` (all when undefined) with an ERROR 410 event, as a watch cache that dropped a slow watcher. */
  expireWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (resource && w.resource !== resource) continue;
      this.#write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${this.#compactedTo} (${this.#rv})`) });
      this.#end(w);
      n++;
    }
    this.compact();
    return n;
  }

  /** Ends every open watch as the server's timeout does (a clean end of the stream). */
  closeWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (resource && w.resource !== resource) continue;
      this.#end(w);
      n++;
    }
    return n;
  }

  /** Sends a BOOKMARK at the current resourceVersion to watches that asked for bookmarks. */
  bookmark(resource?: string): number {
    let n = 0;
    for (const w of this.#watchers) {
      if ((resource && w.resource !== resource) || !w.bookmarks) continue;
      const t = RESOURCES[w.resource]!;
      // As the API server writes it: an empty object of the kind, only its resourceVersion set.
      this.#write(w, { type: 'BOOKMARK', object: { kind: t.kind, apiVersion: t.apiVersion, metadata: { resourceVersion: String(this.#rv), creationTimestamp: null }, ...(w.resource === 'pods' && { spec: { containers: null }, status: {} }) } });
      n++;
    }
    return n;
  }

  /** The next `count` requests (list or watch) for `resource` answer `code` with a Status. */
  failNext(resource: string, count: number, code = 500): void {
    this.#failures.set(resource, { count, code });
  }

  openWatches(resource?: string): number {
    return [...this.#watchers].filter((w) => !resource || w.resource === resource).length;
  }

  /** Resolves once `test` holds (checked after every request and event, and every 20 ms for what clients do with them). */
  until(test: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => this.#check(), 20);
      const timer = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`fake API server: condition not met within ${timeoutMs} ms; requests: ${JSON.stringify(this.requests)}`));
      }, timeoutMs);
      this.#waiters.push({ test, resolve: () => (clearTimeout(timer), clearInterval(poll), resolve()) });
    });
  }

  count(resource: string, watch: boolean, status = 200): number {
    return this.requests.filter((r) => r.resource === resource && r.watch === watch && r.status === status).length;
  }

  async stop(): Promise<void> {
    for (const w of [...this.#watchers]) this.#end(w);
    this.#server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #check(): void {
    for (const w of [...this.#waiters]) {
      if (w.test()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  #emit(e: Event): void {
    this.#history.push(e);
    for (const w of this.#watchers) if (w.resource === e.resource && this.#matches(w, e.object)) this.#write(w, this.#event(e));
    this.#check();
  }

  #event(e: Event): Obj {
    const t = RESOURCES[e.resource]!;
    return { type: e.type, object: { kind: t.kind, apiVersion: t.apiVersion, ...e.object } };
  }

  #matches(w: Watcher, o: Obj): boolean {
    return (!w.namespace || o.metadata?.namespace === w.namespace) && w.selector(o);
  }

  #write(w: Watcher, line: Obj): void {
    if (!w.res.writableEnded) w.res.write(JSON.stringify(line) + '\n');
  }

  #end(w: Watcher): void {
    this.#watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  }

  #route(path: string): { resource: string; namespace?: string } | undefined {
    for (const [resource, t] of Object.entries(RESOURCES)) {
      const prefix = PREFIX[t.apiVersion]!;
      if (path === `${prefix}/${resource}`) return { resource };
      const m = new RegExp(`^${prefix}/namespaces/([^/]+)/${resource}$`).exec(path);
      if (m && t.namespaced) return { resource, namespace: decodeURIComponent(m[1]!) };
    }
    return undefined;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const route = req.method === 'GET' ? this.#route(url.pathname) : undefined;
    const send = (code: number, body: Obj) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const watch = query.watch === 'true' || query.watch === '1';
    const record = (code: number) => {
      if (route) this.requests.push({ resource: route.resource, watch, query, status: code });
      this.#check();
    };
    if (this.#token !== undefined && req.headers.authorization !== `Bearer ${this.#token}`) {
      record(401);
      return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (!route) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const failure = this.#failures.get(route.resource);
    if (failure && failure.count > 0) {
      failure.count--;
      record(failure.code);
      return send(failure.code, status(failure.code, failure.code === 403 ? 'Forbidden' : 'InternalError', `injected failure ${failure.code}`));
    }
    const t = RESOURCES[route.resource]!;
    const selector = fieldSelector(query.fieldSelector);
    const w: Watcher = { resource: route.resource, selector, bookmarks: query.allowWatchBookmarks === 'true', res };
    if (route.namespace) w.namespace = route.namespace;
    const current = [...this.#objects.get(route.resource)!.values()].filter((o) => this.#matches(w, o));
    if (!watch) {
      record(200);
      return send(200, { kind: `${t.kind}List`, apiVersion: t.apiVersion, metadata: { resourceVersion: String(this.#rv) }, items: current });
    }
    const from = Number(query.resourceVersion ?? '0');
    if (from > 0 && from < this.#compactedTo) {
      const gone = status(410, 'Expired', `too old resource version: ${from} (${this.#rv})`);
      if (this.goneMode === 'http') {
        record(410);
        return send(410, gone);
      }
      record(200);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.end(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
      return;
    }
    record(200);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.#watchers.add(w);
    // The response closes when the client goes away (the request closes as soon as it is read).
    res.on('close', () => this.#watchers.delete(w));
    if (from > 0) {
      for (const e of this.#history) if (e.rv > from && e.resource === route.resource && this.#matches(w, e.object)) this.#write(w, this.#event(e));
    } else {
      // No resourceVersion: the current state as ADDED events first, as the API server does.
      for (const o of current) this.#write(w, this.#event({ rv: this.#rv, resource: route.resource, type: 'ADDED', object: o }));
    }
    this.#check();
  }
}

/** Writes a kubeconfig for `server` into `dir` and returns its path. */
export function writeKubeconfig(dir: string, server: FakeKubeApiServer, options: { token?: string; caFile?: string } = {}): string {
  const path = join(dir, 'kubeconfig.yaml');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server.url}`,
    // client-node refuses plain http unless told to skip TLS verification.
    ...(options.caFile ? [`    certificate-authority: ${options.caFile}`] : server.url.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : []),
    'users:',
    '- name: tester',
    `  user: ${options.token ? `{ token: ${options.token} }` : '{}'}`,
    'contexts:',
    '- name: fake',
    '  context: { cluster: fake, user: tester }',
    'current-context: fake',
    '',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}
