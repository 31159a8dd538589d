// What both halves of the connector share: edge attributes in the Collector's shape and the
// cumulative series store they are counted in.
import type { CreateSettings } from '../../src/component/component.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { attributesKey } from '../../processors/metrics_aggregation/keys.ts';
import { type AddResult, AggregationStore, type MetricDescriptor, type Target } from '../../processors/metrics_aggregation/store.ts';
import type { Counter } from '../../src/telemetry/self.ts';

const EMPTY_RESOURCE = { attributes: [] };

export interface EdgeLabels {
  client: string;
  server: string;
  /** Further labels in order (connection_type, failed, client_<dim>, server_<dim>...). */
  extra: KeyValue[];
}

export function edgeAttributes(l: EdgeLabels): KeyValue[] {
  return [{ key: 'client', value: { stringValue: l.client } }, { key: 'server', value: { stringValue: l.server } }, ...l.extra];
}

/** A cumulative store of edge series under one scope, with the overflow counted. */
export class EdgeSeries {
  readonly store: AggregationStore;
  readonly #scope: { name: string };
  readonly #overflow: Counter;

  constructor(settings: CreateSettings, scopeName: string, options: { maxSeries: number; expirationMs: number }) {
    this.store = new AggregationStore({ temporality: 'cumulative', maxSeries: options.maxSeries, expirationMs: options.expirationMs, gaugeCombine: 'sum', startUnixNano: BigInt(Date.now()) * 1_000_000n });
    this.#scope = { name: scopeName };
    this.#overflow = settings.telemetry.counter('connector_servicegraph_overflow_points', 'Edge updates counted in the overflow series because their metric reached aggregation_cardinality_limit.', '{points}');
    settings.telemetry.gauge(`connector_servicegraph_${scopeName}_series`, 'Edge series held.', () => this.store.seriesCount, '{series}');
  }

  target(metric: MetricDescriptor, attributes: KeyValue[]): Target {
    return { resource: EMPTY_RESOURCE, resourceKey: '', scope: this.#scope, scopeKey: this.#scope.name, metric, attributes, attributesKey: attributesKey(attributes) };
  }

  count(result: AddResult, metric: string): void {
    if (result === 'overflow') this.#overflow.add(1, { metric });
  }
}
