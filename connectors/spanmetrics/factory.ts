// Registers the spanmetrics connector (traces -> metrics).
import type { ConnectorFactory } from '../../src/component/component.ts';
import { configSchema, type SpanMetricsConfig } from './config.ts';
import { SpanMetricsConnector } from './connector.ts';

export const spanmetricsFactory: ConnectorFactory<SpanMetricsConfig> = {
  kind: 'connector',
  type: 'spanmetrics',
  description: 'Request, error and duration (RED) metrics from spans, per service, span name, kind, status and configured dimensions.',
  configSchema,
  create: { traces: { metrics: (settings, config, next) => new SpanMetricsConnector(settings, config, next) } },
};
