// The servicegraph connector over connection metrics (metrics -> metrics): tcp_drop's per-socket
// series, once k8s_metadata has named both ends, folded into edges client -> server. Each input
// point is one socket's view: its process is the local end, network.peer.* the other. The side
// whose port was folded away as ephemeral (or, with both ports, the one not in server_ports /
// the higher one) is the client. Every series carries reporter=client|server, the side that
// observed it, because an edge whose two ends are both watched is seen twice (once per socket):
// sum one reporter for bytes and connections; drops and retransmits happen on one socket each.
import type { Connector, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { anyValueToString, type KeyValue, nowUnixNano } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData } from '../../src/pdata/metrics.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { DeltaTracker } from '../../processors/metrics_aggregation/delta.ts';
import { attributesKey, scopeKey } from '../../processors/metrics_aggregation/keys.ts';
import { type Hist, histOf, numberOf, type Num } from '../../processors/metrics_aggregation/values.ts';
import type { ServiceGraphConfig } from './config.ts';
import { edgeAttributes, EdgeSeries } from './series.ts';

export const CONNECTION_SCOPE = 'tcp_service_graph';

type Role = 'client' | 'server';
interface Output {
  name: string;
  unit?: string;
  /** Input point attributes carried over as labels. */
  keep?: string[];
}

/** tcp_drop metric -> edge metric, by the role of the socket that reported it. */
const SUMS: Record<string, (local: Role) => Output> = {
  'tcp.connections.opened': () => ({ name: 'tcp_service_graph_connections_total', unit: '{connection}' }),
  'tcp.connections.failed': () => ({ name: 'tcp_service_graph_connections_failed_total', unit: '{connection}' }),
  'tcp.drops': () => ({ name: 'tcp_service_graph_drops_total', unit: '{packet}', keep: ['tcp.drop.reason'] }),
  'tcp.retransmits': () => ({ name: 'tcp_service_graph_retransmits_total', unit: '{segment}' }),
  'tcp.resets.sent': () => ({ name: 'tcp_service_graph_resets_total', unit: '{reset}' }),
  'tcp.resets.received': () => ({ name: 'tcp_service_graph_resets_total', unit: '{reset}' }),
  'tcp.bytes.sent': (local) => ({ name: local === 'client' ? 'tcp_service_graph_request_bytes_total' : 'tcp_service_graph_response_bytes_total', unit: 'By' }),
  'tcp.bytes.received': (local) => ({ name: local === 'client' ? 'tcp_service_graph_response_bytes_total' : 'tcp_service_graph_request_bytes_total', unit: 'By' }),
};
const HISTOGRAMS: Record<string, Output> = {
  'tcp.rtt': { name: 'tcp_service_graph_rtt', unit: 's' },
};

export const CONNECTION_METRICS = [...new Set([...Object.values(SUMS).flatMap((f) => [f('client').name, f('server').name]), ...Object.values(HISTOGRAMS).map((o) => o.name)])];

function text(list: readonly KeyValue[], key: string): string | undefined {
  const kv = list.find((a) => a.key === key);
  return kv ? anyValueToString(kv.value) : undefined;
}

function port(list: readonly KeyValue[], key: string): number | undefined {
  const t = text(list, key);
  return t === undefined ? undefined : Number(t);
}

/** The role of the socket's own end. */
export function localRole(localPort: number | undefined, peerPort: number | undefined, serverPorts: ReadonlySet<number>): Role {
  if (localPort === undefined) return 'client';
  if (peerPort === undefined) return 'server';
  const localServes = serverPorts.has(localPort);
  if (localServes !== serverPorts.has(peerPort)) return localServes ? 'server' : 'client';
  return localPort < peerPort ? 'server' : 'client';
}

export class ConnectionGraphConnector implements Connector<'metrics'> {
  readonly capabilities = { mutatesData: false };
  readonly #config: ServiceGraphConfig;
  readonly #next: Consumer<'metrics'>;
  readonly #logger: Logger;
  readonly #series: EdgeSeries;
  readonly #deltas: DeltaTracker;
  readonly #serverPorts: Set<number>;
  readonly #skipped: Counter;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(settings: CreateSettings, config: ServiceGraphConfig, next: Consumer<'metrics'>) {
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#series = new EdgeSeries(settings, CONNECTION_SCOPE, { maxSeries: config.aggregation_cardinality_limit, expirationMs: config.connections.expiration });
    this.#deltas = new DeltaTracker({ initialValue: 'auto', startedUnixNano: nowUnixNano() });
    this.#serverPorts = new Set(config.connections.server_ports);
    this.#skipped = settings.telemetry.counter('connector_servicegraph_skipped_points', 'Connection points not used (reason: baseline, out_of_order, no_value).', '{points}');
  }

  async start(): Promise<void> {
    if (this.#config.metrics_flush_interval > 0) {
      this.#timer = setInterval(() => void this.flush(), this.#config.metrics_flush_interval);
      this.#timer.unref();
    }
  }

  async shutdown(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async consume(data: MetricsData): Promise<void> {
    for (const rm of data.resourceMetrics) {
      const rkey = attributesKey(rm.resource.attributes);
      for (const sm of rm.scopeMetrics) {
        const base = `${rkey}\u0000${scopeKey(sm.scope)}\u0000`;
        for (const m of sm.metrics) this.#metric(m, rm.resource.attributes, base + m.name + '\u0000');
      }
    }
    if (this.#config.metrics_flush_interval === 0) await this.flush();
  }

  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const out = this.#series.store.flush(nowUnixNano());
      this.#deltas.expire(this.#config.connections.expiration);
      if (out.resourceMetrics.length === 0) return;
      try {
        await this.#next.consume(out);
      } catch (error) {
        this.#logger.error('sending connection graph metrics failed', { error });
      }
    });
    return this.#flushing;
  }

  #metric(m: Metric, resource: readonly KeyValue[], inputBase: string): void {
    const d = m.data;
    const sum = SUMS[m.name];
    const histogram = HISTOGRAMS[m.name];
    if (!(sum && d.type === 'sum') && !(histogram && d.type === 'histogram')) return;
    const cumulative = d.aggregationTemporality === AggregationTemporality.CUMULATIVE;
    if (!cumulative && d.aggregationTemporality !== AggregationTemporality.DELTA) return;
    for (const p of d.dataPoints) {
      const edge = this.#edge(p.attributes, resource);
      const out = sum ? sum(edge.local) : histogram!;
      const extra = (out.keep ?? []).flatMap((k) => p.attributes.filter((a) => a.key === k));
      const attrs = [...edge.attributes, ...extra];
      const key = inputBase + attributesKey(p.attributes);
      const s = this.#series;
      const target = s.target({ name: out.name, ...(out.unit && { unit: out.unit }) }, attrs);
      if (d.type === 'histogram') {
        let h: Hist = histOf(p as (typeof d.dataPoints)[number]);
        if (cumulative) {
          const r = this.#deltas.histogram(key, { start: p.startTimeUnixNano, time: p.timeUnixNano, value: h });
          if ('skipped' in r) {
            this.#skipped.add(1, { reason: r.skipped });
            continue;
          }
          h = r.delta;
        }
        s.count(s.store.addHistogram(target, h, p.timeUnixNano), out.name);
        continue;
      }
      let v: Num | undefined = numberOf(p as (typeof d.dataPoints)[number]);
      if (v === undefined) {
        this.#skipped.add(1, { reason: 'no_value' });
        continue;
      }
      if (cumulative) {
        const r = this.#deltas.sum(key, { start: p.startTimeUnixNano, time: p.timeUnixNano, value: v }, d.type === 'sum' && d.isMonotonic);
        if ('skipped' in r) {
          this.#skipped.add(1, { reason: r.skipped });
          continue;
        }
        v = r.delta;
      }
      s.count(s.store.addSum(target, true, v, p.timeUnixNano), out.name);
    }
  }

  /** Names both ends of the socket a point describes. */
  #edge(point: readonly KeyValue[], resource: readonly KeyValue[]): { local: Role; attributes: KeyValue[] } {
    const c = this.#config;
    const local = localRole(port(point, 'network.local.port'), port(point, 'network.peer.port'), this.#serverPorts);
    const localName = c.connections.local_name_attributes.map((k) => text(point, k) ?? text(resource, k)).find((v) => v !== undefined) ?? 'unknown';
    const peerName = c.connections.peer_name_attributes.map((k) => text(point, k)).find((v) => v !== undefined) ?? 'unknown';
    const peer: Role = local === 'client' ? 'server' : 'client';
    const dims: KeyValue[] = [];
    const sides = { [local]: (dim: string) => text(point, dim) ?? text(resource, dim), [peer]: (dim: string) => (c.peer_attribute_prefix ? text(point, c.peer_attribute_prefix + dim) : undefined) } as Record<Role, (d: string) => string | undefined>;
    for (const dim of c.dimensions) {
      for (const side of ['client', 'server'] as const) {
        const v = sides[side](dim);
        if (v !== undefined) dims.push({ key: `${side}_${dim}`, value: { stringValue: v } });
      }
    }
    const names = { [local]: localName, [peer]: peerName } as Record<Role, string>;
    return { local, attributes: edgeAttributes({ client: names.client, server: names.server, extra: [{ key: 'reporter', value: { stringValue: local } }, ...dims] }) };
  }
}
