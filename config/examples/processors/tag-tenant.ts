// An example of a processor you write yourself: it tags every span, log record and metric data
// point with the tenant that owns the process, taken from a mapping of service names. bpfcol
// loads it from the path given in the config (`module:`); TypeScript runs as it is (Node 24
// strips the types), or write it in plain JavaScript.
//
// The contract is the built-in components' (src/component/component.ts): a factory with a
// type, a kind, a zod configSchema (its defaults are the documented defaults) and one create
// function per signal it supports.
import { z } from 'zod';
import type { Processor, ProcessorFactory } from '../../../src/component/component.ts';
import type { Consumer } from '../../../src/component/consumer.ts';
import { getAttribute, type KeyValue, setAttribute } from '../../../src/pdata/common.ts';
import type { Signal, SignalData } from '../../../src/pdata/signal.ts';

const configSchema = z.strictObject({
  /** service.name → tenant. */
  tenants: z.record(z.string(), z.string()).default({}),
  /** The tenant of services not in the mapping. */
  default_tenant: z.string().default('shared'),
  /** The attribute written. */
  attribute: z.string().default('tenant.id'),
});
type Config = z.infer<typeof configSchema>;

function tenantOf(resource: KeyValue[], config: Config): string {
  const service = getAttribute(resource, 'service.name');
  return (typeof service === 'string' && config.tenants[service]) || config.default_tenant;
}

function tag<S extends Signal>(signal: S, data: SignalData[S], config: Config): void {
  if (signal === 'traces') {
    for (const rs of (data as SignalData['traces']).resourceSpans) {
      const tenant = tenantOf(rs.resource.attributes, config);
      for (const ss of rs.scopeSpans) for (const span of ss.spans) setAttribute(span.attributes, config.attribute, tenant);
    }
  } else if (signal === 'logs') {
    for (const rl of (data as SignalData['logs']).resourceLogs) {
      const tenant = tenantOf(rl.resource.attributes, config);
      for (const sl of rl.scopeLogs) for (const record of sl.logRecords) setAttribute(record.attributes, config.attribute, tenant);
    }
  } else if (signal === 'metrics') {
    for (const rm of (data as SignalData['metrics']).resourceMetrics) {
      const tenant = tenantOf(rm.resource.attributes, config);
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) for (const p of m.data.dataPoints) setAttribute(p.attributes, config.attribute, tenant);
    }
  }
}

function create<S extends Signal>(signal: S) {
  return (_settings: unknown, config: Config, next: Consumer<S>): Processor<S> => ({
    capabilities: { mutatesData: true },
    async start() {},
    async shutdown() {},
    async consume(data) {
      tag(signal, data, config);
      await next.consume(data);
    },
  });
}

export const factory: ProcessorFactory<Config> = {
  kind: 'processor',
  type: 'tag_tenant',
  description: 'Tags telemetry with the tenant owning its service.',
  configSchema,
  create: { traces: create('traces'), metrics: create('metrics'), logs: create('logs') },
};
