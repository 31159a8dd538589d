// The servicegraph connector over spans (traces -> metrics), as the Collector's
// servicegraphconnector: a CLIENT (or PRODUCER) span and the SERVER (or CONSUMER) span whose
// parent it is make one request on the edge client -> server. Each side's service is its
// resource's service.name. Unpaired spans expire from the store after its ttl and become edges to
// or from a virtual node. Counts requests, failed requests, client- and server-side latency and,
// where spans carry sizes, request and response bytes.
import type { Connector, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { anyValueToString, type KeyValue, nowUnixNano } from '../../src/pdata/common.ts';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../src/pdata/traces.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { emptyHist, observe } from '../../processors/metrics_aggregation/values.ts';
import { DEFAULT_BUCKETS_S, type ServiceGraphConfig } from './config.ts';
import { edgeAttributes, EdgeSeries } from './series.ts';
import { type ConnectionType, type Edge, EdgeStore, TooManyItems } from './store.ts';

export const SPAN_SCOPE = 'traces_service_graph';

export const SPAN_METRICS = {
  requests: { name: 'traces_service_graph_request_total' },
  failed: { name: 'traces_service_graph_request_failed_total' },
  server: { name: 'traces_service_graph_request_server', unit: 's' },
  client: { name: 'traces_service_graph_request_client', unit: 's' },
  requestBytes: { name: 'traces_service_graph_request_bytes', unit: 'By' },
  responseBytes: { name: 'traces_service_graph_response_bytes', unit: 'By' },
} as const;

function first(names: readonly string[], ...lists: (readonly KeyValue[])[]): string | undefined {
  for (const name of names) {
    for (const list of lists) {
      const kv = list.find((a) => a.key === name);
      if (kv) return anyValueToString(kv.value);
    }
  }
  return undefined;
}

function sizeOf(names: readonly string[], attrs: readonly KeyValue[]): number | undefined {
  const text = first(names, attrs);
  const n = text === undefined ? NaN : Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export class SpanGraphConnector implements Connector<'traces'> {
  readonly capabilities = { mutatesData: false };
  readonly #config: ServiceGraphConfig;
  readonly #next: Consumer<'metrics'>;
  readonly #logger: Logger;
  readonly #edges: EdgeStore;
  readonly #series: EdgeSeries;
  readonly #bounds: number[];
  readonly #total: Counter;
  readonly #expired: Counter;
  readonly #dropped: Counter;
  readonly #timers: NodeJS.Timeout[] = [];
  #flushing: Promise<void> = Promise.resolve();

  constructor(settings: CreateSettings, config: ServiceGraphConfig, next: Consumer<'metrics'>) {
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#bounds = config.latency_histogram_buckets ?? DEFAULT_BUCKETS_S;
    this.#series = new EdgeSeries(settings, SPAN_SCOPE, { maxSeries: config.aggregation_cardinality_limit, expirationMs: 15 * 60_000 });
    this.#edges = new EdgeStore({ ttlMs: config.store.ttl, maxItems: config.store.max_items, onComplete: (e) => this.#record(e), onExpire: (e) => this.#expire(e) });
    const t = settings.telemetry;
    this.#total = t.counter('connector_servicegraph_total_edges', 'Edges (span pairs) started in the store.', '{edges}');
    this.#expired = t.counter('connector_servicegraph_expired_edges', 'Edges that expired unpaired.', '{edges}');
    this.#dropped = t.counter('connector_servicegraph_dropped_spans', 'Spans dropped because the store was full.', '{spans}');
    t.gauge('connector_servicegraph_store_edges', 'Unpaired edges in the store.', () => this.#edges.size, '{edges}');
  }

  async start(): Promise<void> {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#config.store_expiration_loop, () => this.#edges.expire());
    if (this.#config.metrics_flush_interval > 0) every(this.#config.metrics_flush_interval, () => void this.flush());
  }

  async shutdown(): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    await this.flush();
  }

  async consume(data: TracesData): Promise<void> {
    for (const rs of data.resourceSpans) {
      const resource = rs.resource.attributes;
      const service = resource.find((a) => a.key === 'service.name');
      if (!service) continue;
      const serviceName = anyValueToString(service.value);
      for (const ss of rs.scopeSpans) for (const span of ss.spans) this.#span(serviceName, resource, span);
    }
    if (this.#config.metrics_flush_interval === 0) await this.flush();
  }

  /** Sends every series (cumulative), one flush at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const out = this.#series.store.flush(nowUnixNano());
      if (out.resourceMetrics.length === 0) return;
      try {
        await this.#next.consume(out);
      } catch (error) {
        this.#logger.error('sending service graph metrics failed', { error });
      }
    });
    return this.#flushing;
  }

  /** Expires unpaired edges now (tests; the store_expiration_loop does it otherwise). */
  expire(): void {
    this.#edges.expire();
  }

  #span(serviceName: string, resource: readonly KeyValue[], span: Span): void {
    const c = this.#config;
    const seconds = span.endTimeUnixNano > span.startTimeUnixNano ? Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0;
    const failed = span.status.code === StatusCode.ERROR;
    const sizes = (e: Edge) => {
      e.requestBytes ??= sizeOf(c.request_size_attributes, span.attributes);
      e.responseBytes ??= sizeOf(c.response_size_attributes, span.attributes);
    };
    const dims = (e: Edge, side: 'client' | 'server') => {
      for (const d of c.dimensions) {
        const v = first([d], resource, span.attributes);
        if (v !== undefined) e.dimensions.set(`${side}_${d}`, v);
        // The other side as k8s_metadata resolved it from this span's peer address.
        const peer = c.peer_attribute_prefix ? first([c.peer_attribute_prefix + d], span.attributes) : undefined;
        if (peer !== undefined) e.peerDimensions[side === 'client' ? 'server' : 'client'].set(d, peer);
      }
    };
    const peers = (into: Map<string, string>, names: readonly string[]) => {
      for (const n of names) {
        const v = first([n], span.attributes);
        if (v !== undefined) {
          into.set(n, v);
          break;
        }
      }
    };
    const k = span.kind;
    const role = k === SpanKind.CLIENT || k === SpanKind.PRODUCER ? 'client' : k === SpanKind.SERVER || k === SpanKind.CONSUMER ? 'server' : undefined;
    if (!role) return;
    const type: ConnectionType = k === SpanKind.PRODUCER || k === SpanKind.CONSUMER ? 'messaging_system' : '';
    try {
      const isNew = role === 'client'
        ? this.#edges.upsert(span.traceId, span.spanId, (e) => {
            e.connectionType = type;
            e.clientService = serviceName;
            e.clientLatencySec = seconds;
            e.failed ||= failed;
            dims(e, 'client');
            peers(e.peer, c.virtual_node_peer_attributes);
            sizes(e);
            // A database answers no span of its own: the client span makes the whole edge.
            const db = first(c.database_name_attributes, resource, span.attributes);
            if (db !== undefined) {
              e.connectionType = 'database';
              e.serverService = db;
              e.serverLatencySec = seconds;
            }
          })
        : this.#edges.upsert(span.traceId, span.parentSpanId && !/^0*$/.test(span.parentSpanId) ? span.parentSpanId : '', (e) => {
            e.connectionType = type;
            e.serverService = serviceName;
            e.serverLatencySec = seconds;
            e.failed ||= failed;
            dims(e, 'server');
            peers(e.clientPeer, c.virtual_client_peer_attributes);
            sizes(e);
          });
      if (isNew) this.#total.add(1);
    } catch (error) {
      if (!(error instanceof TooManyItems)) throw error;
      this.#dropped.add(1);
    }
  }

  #expire(e: Edge): void {
    this.#expired.add(1);
    e.connectionType = 'virtual_node';
    if (e.clientService === '' && e.spanId === '') {
      e.clientService = [...e.clientPeer.values()][0] ?? 'user';
      e.virtualNode = 'client';
      for (const [d, v] of e.peerDimensions.client) e.dimensions.set(`client_${d}`, v);
      this.#record(e);
    }
    if (e.serverService === '') {
      e.serverService = this.#config.virtual_node_peer_attributes.map((n) => e.peer.get(n)).find((v) => v !== undefined) ?? 'unknown';
      e.virtualNode = 'server';
      for (const [d, v] of e.peerDimensions.server) e.dimensions.set(`server_${d}`, v);
      this.#record(e);
    }
  }

  #record(e: Edge): void {
    const extra: KeyValue[] = [
      { key: 'connection_type', value: { stringValue: e.connectionType } },
      { key: 'failed', value: { boolValue: e.failed } },
    ];
    if (this.#config.virtual_node_extra_label) extra.push({ key: 'virtual_node', value: { stringValue: e.virtualNode ?? '' } });
    for (const d of this.#config.dimensions) {
      for (const side of ['client', 'server']) {
        const v = e.dimensions.get(`${side}_${d}`);
        if (v !== undefined) extra.push({ key: `${side}_${d}`, value: { stringValue: v } });
      }
    }
    const attrs = edgeAttributes({ client: e.clientService, server: e.serverService, extra });
    const s = this.#series;
    const now = nowUnixNano();
    const add = (m: { name: string; unit?: string }, value: bigint | number) => s.count(s.store.addSum(s.target(m, attrs), true, value, now), m.name);
    const hist = (m: { name: string; unit?: string }, seconds: number) => {
      const h = emptyHist([...this.#bounds]);
      observe(h, seconds);
      s.count(s.store.addHistogram(s.target(m, attrs), h, now), m.name);
    };
    add(SPAN_METRICS.requests, 1n);
    if (e.failed) add(SPAN_METRICS.failed, 1n);
    hist(SPAN_METRICS.server, e.serverLatencySec);
    hist(SPAN_METRICS.client, e.clientLatencySec);
    if (e.requestBytes !== undefined) add(SPAN_METRICS.requestBytes, BigInt(Math.round(e.requestBytes)));
    if (e.responseBytes !== undefined) add(SPAN_METRICS.responseBytes, BigInt(Math.round(e.responseBytes)));
  }
}
