// From kernel map entries to OpenTelemetry metrics: every kernel entry becomes a point added to a
// cumulative series named by its attributes (the kernel program folds ephemeral ports, so several
// connections share one kernel entry; CIDR-filtered entries are dropped here).
import type { KeyValue } from '../../src/pdata/common.ts';
import { AggregationTemporality, type Metric, type MetricsData } from '../../src/pdata/metrics.ts';
import { VERSION } from '../../src/version.ts';
import type { Collected } from './kernel.ts';
import { type FlowKey, Kind, RTT_BUCKETS } from './layout.ts';
import { type HistogramPoint, type SeriesTable, type SumPoint, histogramTable, sumTable } from './series.ts';

export const SCOPE_NAME = 'bpfcol/receiver/tcp_drop';

interface SumSpec {
  name: string;
  unit: string;
  description: string;
}

/** Every sum the receiver emits, in output order. */
export const SUMS = {
  drops: { name: 'tcp.drops', unit: '{packet}', description: 'TCP packets the kernel dropped (skb:kfree_skb), by drop reason' },
  retransmits: { name: 'tcp.retransmits', unit: '{segment}', description: 'TCP segments retransmitted (tcp:tcp_retransmit_skb, tcp_retransmit_synack)' },
  resetsSent: { name: 'tcp.resets.sent', unit: '{reset}', description: 'TCP resets sent (tcp:tcp_send_reset), by reset reason' },
  resetsReceived: { name: 'tcp.resets.received', unit: '{reset}', description: 'TCP resets received on a socket (tcp:tcp_receive_reset)' },
  opened: { name: 'tcp.connections.opened', unit: '{connection}', description: 'TCP connections established, actively or passively' },
  closed: { name: 'tcp.connections.closed', unit: '{connection}', description: 'Established TCP connections closed' },
  failed: { name: 'tcp.connections.failed', unit: '{connection}', description: 'TCP connection attempts that ended before being established (SYN_SENT -> CLOSE)' },
  bytesSent: { name: 'tcp.bytes.sent', unit: 'By', description: 'Bytes sent and acknowledged by the peer over the connections closed (tcp_sock.bytes_acked)' },
  bytesReceived: { name: 'tcp.bytes.received', unit: 'By', description: 'Bytes received over the connections closed (tcp_sock.bytes_received)' },
  connRetransmits: {
    name: 'tcp.connection.retransmits',
    unit: '{segment}',
    description: 'Segments retransmitted over the whole life of the connections closed (tcp_sock.total_retrans), counted at close',
  },
} as const satisfies Record<string, SumSpec>;
type SumId = keyof typeof SUMS;

export const RTT = {
  name: 'tcp.rtt',
  unit: 's',
  description: 'Smoothed round-trip time of TCP connections, read from the socket when they close (tcp_sock.srtt_us)',
};

/** Upper bounds of the RTT buckets in seconds: 2^0 .. 2^30 microseconds (the kernel's log2 buckets). */
export const RTT_BOUNDS_S: number[] = Array.from({ length: RTT_BUCKETS - 1 }, (_, i) => 2 ** i / 1e6);

/** Attributes of a flow key without the kind-specific ones (reason). */
export interface FlowAttributes {
  /** Series identity: equal keys for equal attribute lists. */
  key: string;
  attributes: KeyValue[];
}

export type Describe = (key: FlowKey) => FlowAttributes | undefined;

export class TcpMetrics {
  readonly #sums: Record<SumId, SeriesTable<SumPoint>>;
  readonly #rtt: SeriesTable<HistogramPoint>;
  readonly #expirationNs: bigint;
  /** Start of the interval now being read (the previous collection's time). */
  #intervalStart: bigint;

  constructor(options: { maxSeries: number; expirationMs: number; startUnixNano: bigint }) {
    this.#sums = Object.fromEntries(Object.keys(SUMS).map((id) => [id, sumTable(options.maxSeries)])) as Record<SumId, SeriesTable<SumPoint>>;
    this.#rtt = histogramTable(options.maxSeries);
    this.#expirationNs = BigInt(options.expirationMs) * 1_000_000n;
    this.#intervalStart = options.startUnixNano;
  }

  /**
   * Adds one collection. `describe` gives a key's attributes (undefined drops the entry: the CIDR
   * filter); `reason` names drop and reset reasons. Returns how many points folded per metric.
   */
  ingest(c: Collected, describe: Describe, reason: { drop(v: number): string; reset(v: number): string }): Map<string, number> {
    const folded = new Map<string, number>();
    const start = this.#intervalStart;
    const t = c.timeUnixNano;
    const add = (id: SumId, flow: FlowAttributes, value: bigint, extra?: KeyValue) => {
      const key = extra ? `${flow.key}|${extra.key}=${'stringValue' in extra.value ? extra.value.stringValue : ''}` : flow.key;
      const attributes = () => (extra ? [...flow.attributes, extra] : flow.attributes);
      if (!this.#sums[id].add(key, attributes, { value }, start, t)) folded.set(SUMS[id].name, (folded.get(SUMS[id].name) ?? 0) + 1);
    };
    for (const { key, value } of c.flows) {
      const flow = describe(key);
      if (!flow) continue;
      switch (key.kind) {
        case Kind.DROP:
          add('drops', flow, value.count, { key: 'tcp.drop.reason', value: { stringValue: reason.drop(key.reason) } });
          break;
        case Kind.RETRANSMIT:
          add('retransmits', flow, value.count);
          break;
        case Kind.RESET_SENT:
          add('resetsSent', flow, value.count, { key: 'tcp.reset.reason', value: { stringValue: reason.reset(key.reason) } });
          break;
        case Kind.RESET_RECEIVED:
          add('resetsReceived', flow, value.count);
          break;
        case Kind.OPENED:
          add('opened', flow, value.count);
          break;
        case Kind.CONNECT_FAILED:
          add('failed', flow, value.count);
          break;
        case Kind.CLOSED:
          add('closed', flow, value.count);
          add('bytesSent', flow, value.bytes_sent);
          add('bytesReceived', flow, value.bytes_received);
          add('connRetransmits', flow, value.retrans_segs);
          break;
      }
    }
    for (const { key, value } of c.rtts) {
      const flow = describe(key);
      if (!flow) continue;
      const point: HistogramPoint = { count: Number(value.count), sum: Number(value.sum_us) / 1e6, buckets: value.buckets.map(Number) };
      if (!this.#rtt.add(flow.key, () => flow.attributes, point, start, t)) folded.set(RTT.name, (folded.get(RTT.name) ?? 0) + 1);
    }
    this.#intervalStart = t;
    const oldest = t - this.#expirationNs;
    for (const table of Object.values(this.#sums)) table.expire(oldest);
    this.#rtt.expire(oldest);
    return folded;
  }

  /** Live series per metric name. */
  seriesCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, table] of Object.entries(this.#sums)) out[SUMS[id as SumId].name] = table.size;
    out[RTT.name] = this.#rtt.size;
    return out;
  }

  /** Every live series as OTLP-shaped metrics at `timeUnixNano` (cumulative temporality). */
  build(timeUnixNano: bigint): MetricsData {
    const metrics: Metric[] = [];
    for (const [id, spec] of Object.entries(SUMS) as [SumId, SumSpec][]) {
      const points = this.#sums[id].snapshot(timeUnixNano);
      if (points.length === 0) continue;
      metrics.push({
        name: spec.name,
        unit: spec.unit,
        description: spec.description,
        data: {
          type: 'sum',
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          isMonotonic: true,
          dataPoints: points.map((p) => ({
            attributes: p.attributes,
            startTimeUnixNano: p.startTimeUnixNano,
            timeUnixNano: p.timeUnixNano,
            asInt: p.point.value,
          })),
        },
      });
    }
    const rtt = this.#rtt.snapshot(timeUnixNano);
    if (rtt.length) {
      metrics.push({
        name: RTT.name,
        unit: RTT.unit,
        description: RTT.description,
        data: {
          type: 'histogram',
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPoints: rtt.map((p) => ({
            attributes: p.attributes,
            startTimeUnixNano: p.startTimeUnixNano,
            timeUnixNano: p.timeUnixNano,
            count: p.point.count,
            sum: p.point.sum,
            bucketCounts: p.point.buckets,
            explicitBounds: RTT_BOUNDS_S,
          })),
        },
      });
    }
    return {
      resourceMetrics: metrics.length
        ? [{ resource: { attributes: [] }, scopeMetrics: [{ scope: { name: SCOPE_NAME, version: VERSION }, metrics }] }]
        : [],
    };
  }
}
