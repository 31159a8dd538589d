import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute } from '../../src/pdata/common.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { itemCount } from '../../src/pdata/signal.ts';
import type { Span, TracesData } from '../../src/pdata/traces.ts';
import { captureLogger, recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { batchConfigSchema } from './config.ts';
import { batchFactory } from './factory.ts';

let spanSeq = 0;
function span(name: string): Span {
  spanSeq++;
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: spanSeq.toString(16).padStart(16, '0'),
    name,
    kind: 2,
    startTimeUnixNano: 1_700_000_000_000_000_001n,
    endTimeUnixNano: 1_700_000_000_000_000_999n,
    attributes: attributes({ seq: spanSeq }),
    events: [],
    links: [],
    status: { code: 0 },
  };
}

/** One resource (service.name=`service`) with one scope holding `count` spans named `${service}-i`. */
function traces(service: string, count: number): TracesData {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': service }) },
        scopeSpans: [
          { scope: { name: 'scope-' + service }, spans: Array.from({ length: count }, (_, i) => span(`${service}-${i}`)) },
        ],
      },
    ],
  };
}

function spanNames(batches: TracesData[]): string[] {
  return batches.flatMap((b) => b.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))));
}

function makeBatch(config: Record<string, unknown>) {
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger();
  const sink = new SinkConsumer<'traces'>();
  const cfg = batchConfigSchema.parse(config);
  const processor = batchFactory.create.traces!(testSettings('batch', 'processor', 'traces', { telemetry, logger }), cfg, sink);
  return { processor, sink, telemetry, lines };
}

describe('batch processor', () => {
  it('has the Collector defaults', () => {
    assert.deepEqual(batchConfigSchema.parse({}), { send_batch_size: 8192, send_batch_max_size: 0, timeout: 200 });
  });

  it('rejects send_batch_max_size below send_batch_size with a clear message', () => {
    const result = batchConfigSchema.safeParse({ send_batch_size: 100, send_batch_max_size: 50 });
    assert.equal(result.success, false);
    const issue = result.error!.issues[0]!;
    assert.deepEqual(issue.path, ['send_batch_max_size']);
    assert.match(issue.message, /at least send_batch_size \(100\), got 50/);
    assert.equal(batchConfigSchema.safeParse({ send_batch_size: 100, send_batch_max_size: 100 }).success, true);
    assert.equal(batchConfigSchema.safeParse({ send_batch_size: 0 }).success, false);
    assert.equal(batchConfigSchema.safeParse({ timeout: 'soon' }).success, false);
    assert.equal(batchConfigSchema.safeParse({ metadata_keys: [] }).success, false);
  });

  it('sends when the batch reaches send_batch_size, across consume calls', async () => {
    const { processor, sink, telemetry } = makeBatch({ send_batch_size: 5, timeout: '1h' });
    await processor.start({ getExtension: () => undefined });
    await processor.consume(traces('a', 3));
    assert.equal(sink.received.length, 0, 'three spans stay in the batch');
    await processor.consume(traces('b', 3));
    await sink.waitFor(1);
    assert.equal(sink.received.length, 1);
    // Without a max size the whole batch goes, as in the Collector.
    assert.equal(itemCount('traces', sink.received[0]!), 6);
    assert.deepEqual(
      sink.received[0]!.resourceSpans.map((rs) => getAttribute(rs.resource.attributes, 'service.name')),
      ['a', 'b'],
    );
    assert.equal(telemetry.counters.get('processor_batch_batch_size_trigger_send'), 1);
    assert.deepEqual(telemetry.histograms.get('processor_batch_batch_send_size'), [6]);
    await processor.shutdown();
  });

  it('sends a partial batch after the timeout', async () => {
    const { processor, sink, telemetry } = makeBatch({ send_batch_size: 1000, timeout: '50ms' });
    await processor.start({ getExtension: () => undefined });
    await processor.consume(traces('a', 2));
    await processor.consume(traces('b', 1));
    assert.equal(sink.received.length, 0);
    await sink.waitFor(1);
    assert.deepEqual(spanNames(sink.received), ['a-0', 'a-1', 'b-0']);
    assert.equal(telemetry.counters.get('processor_batch_timeout_trigger_send'), 1);
    assert.equal(telemetry.counters.get('processor_batch_batch_size_trigger_send'), undefined);
    await processor.shutdown();
  });

  it('splits batches above send_batch_max_size keeping resources and scopes', async () => {
    const { processor, sink } = makeBatch({ send_batch_size: 4, send_batch_max_size: 4, timeout: '1h' });
    await processor.start({ getExtension: () => undefined });
    const input: TracesData = {
      resourceSpans: [
        ...traces('a', 3).resourceSpans,
        {
          resource: { attributes: attributes({ 'service.name': 'b' }) },
          scopeSpans: [
            { scope: { name: 'b1', version: '1' }, spans: [span('b1-0'), span('b1-1'), span('b1-2')] },
            { scope: { name: 'b2' }, spans: [span('b2-0'), span('b2-1'), span('b2-2')] },
          ],
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        },
      ],
    };
    await processor.consume(input);
    await processor.shutdown();
    assert.deepEqual(
      sink.received.map((b) => itemCount('traces', b)),
      [4, 4, 1],
    );
    assert.deepEqual(spanNames(sink.received), ['a-0', 'a-1', 'a-2', 'b1-0', 'b1-1', 'b1-2', 'b2-0', 'b2-1', 'b2-2']);
    // Every part of a cut resource still carries its resource, scope and schema URL.
    const shape = sink.received.map((b) =>
      b.resourceSpans.map((rs) => ({
        service: getAttribute(rs.resource.attributes, 'service.name'),
        schemaUrl: rs.schemaUrl,
        scopes: rs.scopeSpans.map((ss) => `${ss.scope?.name}:${ss.spans.length}`),
      })),
    );
    assert.deepEqual(shape, [
      [
        { service: 'a', schemaUrl: undefined, scopes: ['scope-a:3'] },
        { service: 'b', schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scopes: ['b1:1'] },
      ],
      [{ service: 'b', schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scopes: ['b1:2', 'b2:2'] }],
      [{ service: 'b', schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scopes: ['b2:1'] }],
    ]);
    // The parts share no resource object: changing one does not change the other.
    const first = sink.received[0]!.resourceSpans[1]!;
    const second = sink.received[1]!.resourceSpans[0]!;
    assert.notEqual(first.resource, second.resource);
    assert.notEqual(first.scopeSpans[0]!.scope, second.scopeSpans[0]!.scope);
  });

  it('splits metrics by data point, copying the metric into both parts', async () => {
    const sink = new SinkConsumer<'metrics'>();
    const cfg = batchConfigSchema.parse({ send_batch_size: 2, send_batch_max_size: 2, timeout: '1h' });
    const processor = batchFactory.create.metrics!(testSettings('batch', 'processor', 'metrics'), cfg, sink);
    const points = [1n, 2n, 3n].map((v) => ({ attributes: attributes({ n: v }), timeUnixNano: 5n, asInt: v }));
    const data: MetricsData = {
      resourceMetrics: [
        {
          resource: { attributes: attributes({ 'service.name': 'm' }) },
          scopeMetrics: [
            {
              scope: { name: 's' },
              metrics: [
                {
                  name: 'requests',
                  unit: '{request}',
                  data: { type: 'sum', aggregationTemporality: 2, isMonotonic: true, dataPoints: points },
                },
              ],
            },
          ],
        },
      ],
    };
    await processor.consume(data);
    await processor.shutdown();
    assert.deepEqual(
      sink.received.map((b) => itemCount('metrics', b)),
      [2, 1],
    );
    for (const b of sink.received) {
      const m = b.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
      assert.equal(m.name, 'requests');
      assert.equal(m.unit, '{request}');
      assert.equal(m.data.type, 'sum');
    }
    const values = sink.received.flatMap((b) =>
      b.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data.dataPoints.map((p) => ('asInt' in p ? p.asInt : undefined)),
    );
    assert.deepEqual(values, [1n, 2n, 3n]);
  });

  it('flushes what it holds on shutdown and waits until it was consumed', async () => {
    const { processor, sink, telemetry } = makeBatch({ send_batch_size: 1000, timeout: '1h' });
    sink.delayMs = 30;
    await processor.start({ getExtension: () => undefined });
    await processor.consume(traces('a', 7));
    assert.equal(sink.received.length, 0);
    await processor.shutdown();
    assert.equal(sink.received.length, 1, 'shutdown resolved only after the last batch was consumed');
    assert.equal(itemCount('traces', sink.received[0]!), 7);
    assert.equal(telemetry.counters.get('processor_batch_timeout_trigger_send'), 1);
    await processor.shutdown(); // safe twice
    assert.equal(sink.received.length, 1);
  });

  it('shutdown without start is safe', async () => {
    const { processor, sink } = makeBatch({});
    await processor.shutdown();
    assert.equal(sink.received.length, 0);
  });

  it('keeps the order of items across batches, with a slow next consumer', async () => {
    const { processor, sink } = makeBatch({ send_batch_size: 3, send_batch_max_size: 3, timeout: '20ms' });
    sink.delayMs = 5;
    await processor.start({ getExtension: () => undefined });
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      const count = (i % 4) + 1;
      await processor.consume(traces(`r${i}`, count));
      for (let j = 0; j < count; j++) expected.push(`r${i}-${j}`);
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 30)); // let some timeouts fire in between
    }
    await processor.shutdown();
    assert.deepEqual(spanNames(sink.received), expected);
    assert.ok(sink.received.every((b) => itemCount('traces', b) <= 3));
  });

  it('with timeout 0 sends every consume at once', async () => {
    const { processor, sink } = makeBatch({ send_batch_size: 100, timeout: '0' });
    await processor.consume(traces('a', 2));
    await sink.waitFor(1);
    assert.deepEqual(spanNames(sink.received), ['a-0', 'a-1']);
    await processor.shutdown();
  });

  it('logs and counts a batch the next consumer refuses, and consume still resolves', async () => {
    const { processor, sink, telemetry, lines } = makeBatch({ send_batch_size: 2, timeout: '1h' });
    sink.fail = new Error('backend down');
    await processor.consume(traces('a', 2));
    await processor.shutdown();
    assert.equal(telemetry.counters.get('processor_batch_send_failed_spans'), 2);
    assert.ok(lines.some((l) => l.includes('Sender failed') && l.includes('backend down')), lines.join('\n'));
  });
});
