// One list+watch of one resource, on @kubernetes/client-node's ListWatch (the informer it makes):
// list, then watch from the list's resourceVersion; on 410 Gone (an ERROR event with a Status
// code 410, or an HTTP 410 answer) list again; when the server ends a watch, watch again from the
// last resourceVersion seen (bookmarks included: the watch asks for them). ListWatch gives up on
// any other error; this wrapper starts it again after a backoff that doubles up to a limit and
// resets once a list succeeds or an event arrives. Objects are slimmed as they arrive.
import { type KubeConfig, ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from '../../../src/telemetry/logger.ts';
import type { Counter } from '../../../src/telemetry/self.ts';
import type { Slim } from './objects.ts';

export interface ListResult {
  items: unknown[];
  metadata?: { resourceVersion?: string };
}

export interface InformerTelemetry {
  lists: Counter;
  events: Counter;
  errors: Counter;
}

export interface InformerOptions<T> {
  /** For logs and telemetry: pods, replicasets, jobs, nodes, namespaces. */
  resource: string;
  kubeConfig: KubeConfig;
  /** The watch path, e.g. /api/v1/pods. */
  path: string;
  list: () => Promise<ListResult>;
  fieldSelector?: string;
  slim: (raw: any) => Slim<T> | undefined;
  upsert: (info: T) => void;
  remove: (info: T) => void;
  retry: { initialMs: number; maxMs: number };
  logger: Logger;
  telemetry: InformerTelemetry;
}

type WatchCallback = (phase: string, obj: any, raw: any) => void;
type DoneCallback = (err: any) => void;

export class Informer<T> {
  readonly resource: string;
  readonly #o: InformerOptions<T>;
  readonly #lw: ListWatch<any>;
  #stopped = false;
  #backoffMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #failing = false;
  #markSynced!: () => void;
  /** Resolves once a first list succeeded. */
  readonly synced: Promise<void>;

  constructor(o: InformerOptions<T>) {
    this.resource = o.resource;
    this.#o = o;
    this.#backoffMs = o.retry.initialMs;
    this.synced = new Promise((resolve) => (this.#markSynced = resolve));
    const attrs = { resource: o.resource };
    const watch = new Watch(o.kubeConfig);
    // Bookmarks keep our resourceVersion fresh on quiet resources, so a reconnect need not relist.
    const watcher = {
      watch: (path: string, params: Record<string, unknown>, cb: WatchCallback, done: DoneCallback) =>
        watch.watch(
          path,
          { ...params, allowWatchBookmarks: true },
          (phase, obj, raw) => {
            o.telemetry.events.add(1, { ...attrs, type: phase });
            if (phase === 'ERROR') {
              if (obj?.code !== 410) o.logger.warn('watch error event', { resource: o.resource, code: obj?.code, message: obj?.message });
              return cb(phase, obj, raw);
            }
            this.#healthy();
            if (phase === 'BOOKMARK') return cb(phase, obj, raw);
            const slim = o.slim(obj);
            if (slim) cb(phase, slim, raw);
          },
          done,
        ),
    } as unknown as Watch;
    const list = async () => {
      o.telemetry.lists.add(1, attrs);
      const result = await o.list();
      const items: Slim<T>[] = [];
      for (const item of result.items) {
        const s = o.slim(item);
        if (s) items.push(s);
      }
      this.#healthy();
      // After ListWatch has stored the items (it does so right after this promise settles).
      setImmediate(this.#markSynced);
      return { ...result, items } as never;
    };
    this.#lw = new ListWatch(o.path, watcher, list, false, undefined, o.fieldSelector);
    this.#lw.on('add', (s: Slim<T>) => o.upsert(s.info));
    this.#lw.on('update', (s: Slim<T>) => o.upsert(s.info));
    this.#lw.on('delete', (s: Slim<T>) => o.remove(s.info));
    this.#lw.on('error', (err: unknown) => this.#onError(err));
  }

  start(): void {
    this.#stopped = false;
    void this.#lw.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#lw.stop();
  }

  /** Objects held (slim), for tests and gauges. */
  get size(): number {
    return this.#lw.list().length;
  }

  #healthy(): void {
    this.#backoffMs = this.#o.retry.initialMs;
    if (this.#failing) {
      this.#failing = false;
      this.#o.logger.info('kubernetes API reachable again', { resource: this.#o.resource });
    }
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    this.#o.telemetry.errors.add(1, { resource: this.#o.resource });
    const e = err as { statusCode?: number; code?: number | string; message?: string };
    const fields = { resource: this.#o.resource, status: e?.statusCode ?? e?.code, error: e?.message ?? String(err), retry_in_ms: this.#backoffMs };
    // One warning per streak of failures; the rest at debug, so a down API server does not flood the log.
    if (!this.#failing) this.#o.logger.warn('kubernetes list/watch failed; retrying', fields);
    else this.#o.logger.debug('kubernetes list/watch failed again', fields);
    this.#failing = true;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#o.retry.maxMs);
    this.#retryTimer = setTimeout(() => {
      if (!this.#stopped) void this.#lw.start();
    }, delay);
    this.#retryTimer.unref();
  }
}
