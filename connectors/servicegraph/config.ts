// The servicegraph connector's settings: the Collector's keys and defaults, plus bpfcol's
// additions for request/response sizes, peer attributes set by k8s_metadata, and edges from
// connection metrics.
import { z } from 'zod';
import { duration, nonNegativeInt, parseDuration, positiveInt } from '../../src/config/types.ts';

const seconds = z.string({ error: 'expected a duration like 10ms' }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 10ms, got "${text}"` });
    return z.NEVER;
  }
  return ms / 1000;
});
const names = z.array(z.string({ error: 'expected an attribute name' }), { error: 'expected a list of attribute names' });

export const DEFAULT_BUCKETS_S = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15];

export const configSchema = z
  .strictObject({
    /** Bounds of the latency histograms (seconds). */
    latency_histogram_buckets: z.array(seconds).min(1, 'expected at least one bucket').optional(),
    /** The Collector's exponential histograms; only 0 (explicit buckets) is offered. */
    exponential_histogram_max_size: nonNegativeInt(0),
    /** Attributes (span, then resource) added as client_<name> and server_<name>. */
    dimensions: names.default([]),
    store: z.strictObject({ ttl: duration('2s'), max_items: positiveInt(1000) }).default({ ttl: 2000, max_items: 1000 }),
    /** How often series not updated for 15 minutes are removed. */
    cache_loop: duration('1m'),
    /** How often unpaired spans are expired from the store. */
    store_expiration_loop: duration('2s'),
    /** Span attributes that name the server of an unpaired client span (first present wins). */
    virtual_node_peer_attributes: names.default(['peer.service', 'db.name', 'db.system']),
    /** Adds virtual_node=client|server to edges with a virtual side. */
    virtual_node_extra_label: z.boolean().default(false),
    /** How often metrics go out; 0 sends after every batch of spans. */
    metrics_flush_interval: duration('60s'),
    /** Span attributes whose value names the database of a client span (first present wins). */
    database_name_attributes: names.default(['db.name']),
    // ---- bpfcol additions ----
    /** Span attributes that name the client of an unpaired root server span; empty: "user", as the Collector. */
    virtual_client_peer_attributes: names.default([]),
    /** Prefix of the peer's attributes set by k8s_metadata: fills the virtual side's dimensions (peer.k8s.pod.name -> server_k8s.pod.name). */
    peer_attribute_prefix: z.string().default('peer.'),
    /** Span attributes holding the request size in bytes (first present wins). */
    request_size_attributes: names.default(['http.request.body.size', 'rpc.request.size']),
    /** Span attributes holding the response size in bytes. */
    response_size_attributes: names.default(['http.response.body.size', 'rpc.response.size']),
    /** Series per metric before new ones go to the overflow series otel.metric.overflow=true; 0 = no limit. */
    aggregation_cardinality_limit: nonNegativeInt(10_000),
    /** Edges from connection metrics (metrics -> metrics). */
    connections: z
      .strictObject({
        /** Attributes naming this side of a connection (point, then resource; first present wins). */
        local_name_attributes: names.default(['service.name', 'process.executable.name', 'network.local.address']),
        /** Point attributes naming the other side. */
        peer_name_attributes: names.default(['peer.service', 'network.peer.address']),
        /** Ports that are servers' whatever their number (when both ends report a port). */
        server_ports: z.array(z.number().int().min(1).max(65535)).default([]),
        /** Series (input trackers and edges) not updated for this long are forgotten. */
        expiration: duration('15m'),
      })
      .default({ local_name_attributes: ['service.name', 'process.executable.name', 'network.local.address'], peer_name_attributes: ['peer.service', 'network.peer.address'], server_ports: [], expiration: 900_000 }),
  })
  .superRefine((c, ctx) => {
    if (c.exponential_histogram_max_size !== 0) {
      ctx.addIssue({ code: 'custom', path: ['exponential_histogram_max_size'], message: 'expected 0: bpfcol offers explicit latency buckets only' });
    }
    if (c.store_expiration_loop <= 0) ctx.addIssue({ code: 'custom', path: ['store_expiration_loop'], message: 'expected a duration above 0' });
    if (c.cache_loop <= 0) ctx.addIssue({ code: 'custom', path: ['cache_loop'], message: 'expected a duration above 0' });
  });

export type ServiceGraphConfig = z.infer<typeof configSchema>;
