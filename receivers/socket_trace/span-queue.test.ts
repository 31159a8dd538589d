import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryableError, permanentError } from '../../src/component/errors.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import type { ProcessResource } from './processes.ts';
import { SpanQueue } from './span-queue.ts';

const resource: ProcessResource = { key: '1/0/app', serviceName: 'app', attributes: [{ key: 'service.name', value: { stringValue: 'app' } }] };
const span = (i: number) => ({ traceId: 'a'.repeat(32), spanId: i.toString(16).padStart(16, '0'), name: `s${i}`, kind: 2 as const, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: [], events: [], links: [], status: { code: 0 as const } });
const names = (batches: TracesData[]) => batches.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))));

describe('span queue', () => {
  it('keeps spans while the pipeline refuses them, drops the oldest beyond max_queued, counts them', async () => {
    const dropped: Record<string, number> = {};
    const received: TracesData[] = [];
    let refuse = true;
    const q = new SpanQueue({
      maxQueued: 10,
      batchSize: 4,
      retryDelayMs: 0,
      onDropped: (n, reason) => (dropped[reason] = (dropped[reason] ?? 0) + n),
      onError: () => undefined,
    });
    q.setConsumer({
      consume: async (d: TracesData) => {
        if (refuse) throw retryableError('memory limiter: over the limit');
        received.push(d);
      },
    });
    for (let i = 0; i < 25; i++) {
      q.push(resource, span(i));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(q.length, 10);
    assert.equal(dropped.queue_full, 15);
    refuse = false;
    await q.stop();
    assert.deepEqual(names(received), Array.from({ length: 10 }, (_, i) => `s${15 + i}`), 'the newest ten, in order');
    assert.equal(received[0]!.resourceSpans[0]!.resource.attributes[0]!.key, 'service.name');
  });

  it('counts batches refused for good', async () => {
    const dropped: Record<string, number> = {};
    const q = new SpanQueue({ maxQueued: 100, batchSize: 3, onDropped: (n, reason) => (dropped[reason] = (dropped[reason] ?? 0) + n), onError: () => undefined });
    q.setConsumer({ consume: async () => Promise.reject(permanentError('malformed')) });
    for (let i = 0; i < 3; i++) q.push(resource, span(i));
    await q.stop();
    assert.equal(dropped.refused, 3);
  });
});
