// The graph builder with small in-test components: connectors bridging pipelines, fan-in to one
// exporter per (id, signal), and the config checks connectors need.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { ConnectorFactory, ExporterFactory, Factories, ReceiverFactory } from '../component/component.ts';
import type { Consumer } from '../component/consumer.ts';
import { ConfigError } from '../config/errors.ts';
import { resolveConfig } from '../config/resolve.ts';
import type { MetricsData } from '../pdata/metrics.ts';
import { itemCount, type Signal, type SignalData } from '../pdata/signal.ts';
import type { TracesData } from '../pdata/traces.ts';
import { nopLogger } from '../telemetry/logger.ts';
import { nopTelemetry } from '../telemetry/self.ts';
import { buildGraph } from './graph.ts';
import { Service } from './service.ts';

const empty = z.strictObject({});
const traces = (n: number): TracesData => ({
  resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: Array.from({ length: n }, (_, i) => ({ traceId: 'a'.repeat(32), spanId: i.toString(16).padStart(16, '0'), name: 's', kind: 1 as const, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: [], events: [], links: [], status: { code: 0 as const } })) }] }],
});

function factories(received: { signal: Signal; id: string; data: unknown }[], starts: string[]): Factories {
  const gen: ReceiverFactory = {
    kind: 'receiver', type: 'gen', description: 'test', configSchema: empty,
    create: { traces: (s, _c, next: Consumer<'traces'>) => ({ async start() { starts.push(s.id.text); await next.consume(traces(3)); }, async shutdown() {} }) },
  };
  const sink = <S extends Signal>(signal: S) => (s: { id: { text: string } }) => ({
    async start() { starts.push(`${s.id.text}:${signal}`); }, async shutdown() {},
    async consume(data: SignalData[S]) { received.push({ signal, id: s.id.text, data }); },
  });
  const sinkFactory: ExporterFactory = { kind: 'exporter', type: 'sink', description: 'test', configSchema: empty, create: { traces: sink('traces'), metrics: sink('metrics') } };
  const count: ConnectorFactory = {
    kind: 'connector', type: 'count', description: 'test', configSchema: empty,
    create: {
      traces: {
        metrics: (s, _c, next: Consumer<'metrics'>) => ({
          async start() { starts.push(`${s.id.text}:traces->metrics`); }, async shutdown() {},
          async consume(data: SignalData['traces']) {
            const m: MetricsData = { resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [{ name: 'span.count', data: { type: 'sum', aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ attributes: [], timeUnixNano: 1n, asInt: BigInt(itemCount('traces', data)) }] } }] }] }] };
            await next.consume(m);
          },
        }),
      },
    },
  };
  return { receivers: [gen], processors: [], exporters: [sinkFactory], connectors: [count], extensions: [] };
}

describe('connectors', () => {
  it('bridge a traces pipeline into a metrics pipeline, started before the receivers that feed them', async () => {
    const received: { signal: Signal; id: string; data: unknown }[] = [];
    const starts: string[] = [];
    const config = resolveConfig({
      receivers: { gen: {} },
      exporters: { sink: {} },
      connectors: { count: {} },
      service: { pipelines: { traces: { receivers: ['gen'], exporters: ['sink', 'count'] }, metrics: { receivers: ['count'], exporters: ['sink'] } } },
    }, factories(received, starts));
    const service = new Service(buildGraph(config, { logger: nopLogger, telemetry: nopTelemetry, configDir: '.' }), nopLogger);
    await service.start();
    await service.shutdown();
    assert.deepEqual(received.map((r) => `${r.id}:${r.signal}`).sort(), ['sink:metrics', 'sink:traces']);
    const metric = (received.find((r) => r.signal === 'metrics')!.data as MetricsData).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    assert.equal(metric.data.type === 'sum' ? metric.data.dataPoints[0]!.asInt : undefined, 3n);
    assert.ok(starts.indexOf('count:traces->metrics') < starts.indexOf('gen'));
    assert.ok(starts.indexOf('sink:metrics') < starts.indexOf('count:traces->metrics'));
  });

  const messages = (raw: Record<string, unknown>) => {
    try {
      resolveConfig(raw, factories([], []));
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  };

  it('a connector used on one side only is an error naming it', () => {
    const issues = messages({ receivers: { gen: {} }, exporters: { sink: {} }, connectors: { count: {} }, service: { pipelines: { traces: { receivers: ['gen'], exporters: ['sink', 'count'] } } } });
    assert.ok(issues.includes('connectors.count: a connector must be used as an exporter in one pipeline and as a receiver in another'), issues.join('\n'));
    assert.ok(issues.some((m) => m.startsWith('service.pipelines.traces.exporters[1]: connector "count" exports from traces but no pipeline it supports receives from it')), issues.join('\n'));
  });

  it('a signal pair the connector does not support is an error', () => {
    const issues = messages({ receivers: { gen: {} }, exporters: { sink: {} }, connectors: { count: {} }, service: { pipelines: { traces: { receivers: ['gen'], exporters: ['count'] }, 'traces/2': { receivers: ['count'], exporters: ['sink'] } } } });
    assert.ok(issues.some((m) => m.startsWith('service.pipelines.traces/2.receivers[0]: connector "count" feeds traces but no pipeline it supports exports to it (it connects traces to metrics)')), issues.join('\n'));
  });

  it('a receiver and a connector with one id are ambiguous', () => {
    const f = factories([], []);
    f.receivers.push({ ...f.receivers[0]!, type: 'count' });
    assert.throws(() => resolveConfig({ receivers: { count: {}, gen: {} }, exporters: { sink: {} }, connectors: { count: {} }, service: { pipelines: { traces: { receivers: ['gen'], exporters: ['count'] }, metrics: { receivers: ['count'], exporters: ['sink'] } } } }, f), /"count" is both a receiver and a connector/);
  });
});
