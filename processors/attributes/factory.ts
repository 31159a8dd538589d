// The attributes processor: inserts, updates, deletes or hashes attributes of spans, log
// records, metric data points and profile samples, as the Collector's attributesprocessor.
import type { Processor, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import { applyActions } from './actions.ts';
import { type AttributesConfig, configSchema } from './config.ts';

type Visit<S extends Signal> = (data: SignalData[S], actions: AttributesConfig['actions']) => void;

const visitors: { [S in Signal]: Visit<S> } = {
  traces: (d, a) => {
    for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) applyActions(s.attributes, a);
  },
  logs: (d, a) => {
    for (const rl of d.resourceLogs) for (const sl of rl.scopeLogs) for (const r of sl.logRecords) applyActions(r.attributes, a);
  },
  metrics: (d, a) => {
    for (const rm of d.resourceMetrics)
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) for (const p of m.data.dataPoints) applyActions(p.attributes, a);
  },
  profiles: (d, a) => {
    for (const rp of d.resourceProfiles)
      for (const sp of rp.scopeProfiles) for (const p of sp.profiles) for (const s of p.samples) applyActions(s.attributes, a);
  },
};

function create<S extends Signal>(signal: S) {
  return (_settings: unknown, config: AttributesConfig, next: Consumer<S>): Processor<S> => ({
    capabilities: { mutatesData: true },
    async start() {},
    async shutdown() {},
    async consume(data: SignalData[S]) {
      (visitors[signal] as Visit<S>)(data, config.actions);
      await next.consume(data);
    },
  });
}

export const attributesFactory: ProcessorFactory<AttributesConfig> = {
  kind: 'processor',
  type: 'attributes',
  description: 'Inserts, updates, deletes or hashes attributes of spans, log records, data points and samples.',
  configSchema,
  create: { traces: create('traces'), metrics: create('metrics'), logs: create('logs'), profiles: create('profiles') },
};
