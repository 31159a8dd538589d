// The exporter helper with a scripted sender: queueing semantics, permanent and retryable errors,
// Retry-After hints, timeouts, a full queue, blocking, sizers, draining shutdown, counters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { Host } from '../component/component.ts';
import { ConsumerError, permanentError, retryableError } from '../component/errors.ts';
import type { TracesData } from '../pdata/traces.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { numberedSpans, spanIds } from '../../test/support/spans.ts';
import { exporterHelperSchema, validateExporterHelper } from './config.ts';
import { newExporter, type Sender } from './exporter.ts';
import { encodeBatch } from './codec.ts';

const host: Host = { getExtension: () => undefined };
const schema = z.strictObject(exporterHelperSchema);
const FAST_RETRY = { initial_interval: '5ms', max_interval: '20ms', max_elapsed_time: '5s', randomization_factor: 0 };

type Behaviour = (attempt: number, data: TracesData, signal: AbortSignal) => Promise<void>;

class ScriptedSender implements Sender<'traces'> {
  attempts = 0;
  readonly sent: TracesData[] = [];
  behaviour: Behaviour = async () => {};
  started = 0;
  stopped = 0;
  async start(): Promise<void> {
    this.started++;
  }
  async send(data: TracesData, signal: AbortSignal): Promise<void> {
    const n = ++this.attempts;
    await this.behaviour(n, data, signal);
    this.sent.push(data);
  }
  async shutdown(): Promise<void> {
    this.stopped++;
  }
}

function setup(config: Record<string, unknown>, options: { drainTimeoutMs?: number } = {}) {
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger();
  const sender = new ScriptedSender();
  const exporter = newExporter('traces', testSettings('otlp/test', 'exporter', 'traces', { telemetry, logger }), schema.parse(config), sender, {
    random: () => 0.5,
    ...options,
  });
  return { exporter, sender, telemetry, lines, counter: (name: string) => telemetry.counters.get(name) ?? 0 };
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('exporter helper config', () => {
  it('has the Collector defaults', () => {
    assert.deepEqual(schema.parse({}), {
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000, sizer: 'requests', block_on_overflow: false },
      retry_on_failure: { enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5 },
      timeout: 5000,
    });
  });

  it('names what is wrong', () => {
    const bad = schema.safeParse({ sending_queue: { sizer: 'pages', queue_size: 0 }, retry_on_failure: { multiplier: 0.5, initial_interval: 'soon' } });
    assert.equal(bad.success, false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort();
    assert.deepEqual(messages, [
      'retry_on_failure.initial_interval: expected a duration like 10s, got "soon"',
      'retry_on_failure.multiplier: expected 1 or more',
      'sending_queue.queue_size: expected a number above 0',
      'sending_queue.sizer: expected requests, items or bytes, got "pages"',
    ]);
    assert.deepEqual(validateExporterHelper(schema.parse({ sending_queue: { enabled: false, storage: 'file_storage' }, retry_on_failure: { initial_interval: '10s', max_interval: '1s' } })), [
      'retry_on_failure.max_interval must not be shorter than initial_interval: expected a duration like 30s',
      'sending_queue.storage needs sending_queue.enabled: true',
    ]);
  });
});

describe('exporter helper', () => {
  it('resolves consume once the batch is queued, then sends it and counts it sent', async () => {
    const { exporter, sender, counter } = setup({});
    const held = gate();
    sender.behaviour = () => held.promise;
    await exporter.start(host);
    assert.equal(sender.started, 1);
    await exporter.consume(numberedSpans(1, 0, 3));
    assert.equal(sender.sent.length, 0, 'consume resolved before the backend answered');
    assert.equal(counter('exporter_sent_spans'), 0);
    held.open();
    await until(() => sender.sent.length === 1, 'the send');
    await until(() => counter('exporter_sent_spans') === 3, 'the sent count');
    await exporter.shutdown();
    assert.equal(sender.stopped, 1);
    assert.equal(exporter.countsItems, true);
  });

  it('drops a batch at once on a permanent error and counts it failed', async () => {
    const { exporter, sender, counter, lines } = setup({ retry_on_failure: FAST_RETRY });
    sender.behaviour = async () => {
      throw permanentError('HTTP 400 Bad Request');
    };
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 4));
    await until(() => counter('exporter_send_failed_spans') === 4, 'the failed count');
    assert.equal(sender.attempts, 1);
    assert.equal(counter('exporter_retries'), 0);
    assert.ok(lines.some((l) => l.includes('The error is not retryable. Dropping data.') && l.includes('HTTP 400')), lines.join('\n'));
    await exporter.shutdown();
  });

  it('retries retryable errors with backoff, then succeeds', async () => {
    const { exporter, sender, counter, lines } = setup({ retry_on_failure: { ...FAST_RETRY, initial_interval: '10ms', max_interval: '1s', multiplier: 2 } });
    sender.behaviour = async (n) => {
      if (n <= 3) throw retryableError('HTTP 503 Service Unavailable');
    };
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 2));
    await until(() => counter('exporter_sent_spans') === 2, 'the send');
    assert.equal(sender.attempts, 4);
    assert.equal(counter('exporter_retries'), 3);
    assert.equal(counter('exporter_send_failed_spans'), 0);
    // randomization_factor 0: the waits double from initial_interval.
    const waits = lines.filter((l) => l.includes('Will retry the request after interval')).map((l) => /interval=(\d+ms)/.exec(l)?.[1]);
    assert.deepEqual(waits, ['10ms', '20ms', '40ms']);
    await exporter.shutdown();
  });

  it('waits at least as long as the Retry-After hint', async () => {
    const { exporter, sender, counter, lines } = setup({ retry_on_failure: FAST_RETRY });
    sender.behaviour = async (n) => {
      if (n === 1) throw retryableError('HTTP 429 Too Many Requests', undefined, 120);
    };
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 1));
    await until(() => counter('exporter_sent_spans') === 1, 'the send');
    assert.ok(lines.some((l) => l.includes('Will retry') && l.includes('interval=120ms')), lines.join('\n'));
    await exporter.shutdown();
  });

  it('gives up after max_elapsed_time and counts the batch failed', async () => {
    const { exporter, sender, counter, lines } = setup({ retry_on_failure: { ...FAST_RETRY, max_elapsed_time: '40ms' } });
    sender.behaviour = async () => {
      throw retryableError('connection refused');
    };
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 5));
    await until(() => counter('exporter_send_failed_spans') === 5, 'the failure');
    assert.ok(sender.attempts >= 2);
    assert.ok(lines.some((l) => l.includes('No more retries left. Dropping data.')), lines.join('\n'));
    await exporter.shutdown();
  });

  it('aborts an attempt that outlives timeout and tries again', async () => {
    const { exporter, sender, counter } = setup({ timeout: '50ms', retry_on_failure: FAST_RETRY });
    let abortedReason: unknown;
    sender.behaviour = (n, _data, signal) =>
      n === 1
        ? new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              abortedReason = signal.reason;
              reject(signal.reason);
            }),
          )
        : Promise.resolve();
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 1));
    await until(() => counter('exporter_sent_spans') === 1, 'the second attempt');
    assert.ok(abortedReason instanceof ConsumerError && abortedReason.retryable);
    assert.match((abortedReason as Error).message, /timed out after 50 ms/);
    await exporter.shutdown();
  });

  it('refuses with a retryable error and counts the items when the queue is full', async () => {
    const { exporter, sender, counter, lines } = setup({ sending_queue: { queue_size: 2, num_consumers: 1 } });
    const held = gate();
    sender.behaviour = () => held.promise;
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 1)); // taken by the consumer, still counted until sent
    await exporter.consume(numberedSpans(1, 1, 1));
    const error = await exporter.consume(numberedSpans(1, 2, 7)).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConsumerError && error.retryable, String(error));
    assert.match((error as Error).message, /sending queue is full \(2 of 2 used\)/);
    assert.equal(counter('exporter_enqueue_failed_spans'), 7);
    assert.ok(lines.some((l) => l.includes('Rejecting data')));
    held.open();
    await until(() => counter('exporter_sent_spans') === 2, 'both sends');
    await exporter.shutdown();
  });

  it('with block_on_overflow, waits for room instead of refusing', async () => {
    const { exporter, sender, counter } = setup({ sending_queue: { queue_size: 1, num_consumers: 1, block_on_overflow: true } });
    const held = gate();
    sender.behaviour = (n) => (n === 1 ? held.promise : Promise.resolve());
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 1));
    let second = false;
    const pending = exporter.consume(numberedSpans(1, 1, 1)).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(second, false, 'the second batch waits for room');
    held.open();
    await pending;
    await until(() => counter('exporter_sent_spans') === 2, 'both sends');
    assert.equal(counter('exporter_enqueue_failed_spans'), 0);
    await exporter.shutdown();
  });

  it('counts capacity in items or bytes as the sizer says, and reports size and capacity', async () => {
    for (const [sizer, queueSize, expectedSize] of [
      ['items', 10, 4],
      ['bytes', 100_000, encodeBatch('traces', numberedSpans(1, 0, 4)).length],
    ] as const) {
      const { exporter, sender, telemetry } = setup({ sending_queue: { sizer, queue_size: queueSize, num_consumers: 1 } });
      const held = gate();
      sender.behaviour = () => held.promise;
      await exporter.start(host);
      await exporter.consume(numberedSpans(1, 0, 4));
      assert.equal(telemetry.gauges.get('exporter_queue_size')!(), expectedSize, sizer);
      assert.equal(telemetry.gauges.get('exporter_queue_capacity')!(), queueSize, sizer);
      const tooBig = await exporter.consume(numberedSpans(1, 1, sizer === 'items' ? 11 : 3000)).catch((e: unknown) => e);
      assert.ok(tooBig instanceof ConsumerError && !tooBig.retryable, `a batch larger than the queue is refused for good (${sizer})`);
      held.open();
      await exporter.shutdown();
      assert.equal(telemetry.gauges.get('exporter_queue_size')!(), 0);
    }
  });

  it('without a queue, consume resolves once sent and rejects with the final error', async () => {
    const { exporter, sender, counter } = setup({ sending_queue: { enabled: false }, retry_on_failure: { enabled: false } });
    await exporter.start(host);
    await exporter.consume(numberedSpans(1, 0, 2));
    assert.equal(sender.sent.length, 1);
    assert.equal(counter('exporter_sent_spans'), 2);
    sender.behaviour = async () => {
      throw retryableError('HTTP 503');
    };
    await assert.rejects(exporter.consume(numberedSpans(1, 1, 3)), (e: unknown) => e instanceof ConsumerError && e.retryable && /HTTP 503/.test(e.message));
    assert.equal(sender.attempts, 2, 'retry_on_failure disabled: one attempt');
    assert.equal(counter('exporter_send_failed_spans'), 3);
    await exporter.shutdown();
  });

  it('drains the queue on shutdown', async () => {
    const { exporter, sender, counter } = setup({ sending_queue: { num_consumers: 2 } });
    sender.behaviour = () => new Promise((r) => setTimeout(r, 5));
    await exporter.start(host);
    const batches = Array.from({ length: 20 }, (_, b) => numberedSpans(1, b, 3));
    for (const b of batches) await exporter.consume(b);
    await exporter.shutdown();
    assert.deepEqual(spanIds(sender.sent).sort(), spanIds(batches).sort());
    assert.equal(counter('exporter_sent_spans'), 60);
    await assert.rejects(exporter.consume(numberedSpans(1, 99, 1)), (e: unknown) => e instanceof ConsumerError && e.retryable);
  });

  it('stops draining after the bound and counts what it drops', async () => {
    const { exporter, sender, counter, lines } = setup({ sending_queue: { num_consumers: 1 }, retry_on_failure: FAST_RETRY }, { drainTimeoutMs: 100 });
    sender.behaviour = async () => {
      throw retryableError('connection refused');
    };
    await exporter.start(host);
    for (let b = 0; b < 3; b++) await exporter.consume(numberedSpans(1, b, 2));
    await exporter.shutdown();
    assert.equal(counter('exporter_send_failed_spans'), 6, 'one batch interrupted while retrying, two never taken');
    assert.equal(counter('exporter_sent_spans'), 0);
    assert.ok(lines.some((l) => l.includes('shut down with batches still queued')), lines.join('\n'));
  });

  it('is safe to shut down without start, and twice', async () => {
    const { exporter, sender } = setup({});
    await exporter.shutdown();
    await exporter.shutdown();
    assert.equal(sender.stopped, 0);
    await assert.rejects(exporter.consume(numberedSpans(1, 0, 1)), ConsumerError);
  });
});
