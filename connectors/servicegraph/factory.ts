// Registers the servicegraph connector: traces -> metrics (span pairs, as the Collector's) and
// metrics -> metrics (edges from connection metrics).
import type { ConnectorFactory } from '../../src/component/component.ts';
import { configSchema, type ServiceGraphConfig } from './config.ts';
import { ConnectionGraphConnector } from './connections.ts';
import { SpanGraphConnector } from './spans.ts';

export const servicegraphFactory: ConnectorFactory<ServiceGraphConfig> = {
  kind: 'connector',
  type: 'servicegraph',
  description: 'Edges client -> server with request counts, failures, latency and bytes, from paired spans and from connection metrics (drops, retransmits per edge).',
  configSchema,
  create: {
    traces: { metrics: (settings, config, next) => new SpanGraphConnector(settings, config, next) },
    metrics: { metrics: (settings, config, next) => new ConnectionGraphConnector(settings, config, next) },
  },
};
