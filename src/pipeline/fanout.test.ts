import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer } from '../component/consumer.ts';
import { permanentError, retryableError } from '../component/errors.ts';
import type { LogsData } from '../pdata/logs.ts';
import { fanout } from './fanout.ts';

function logs(): LogsData {
  return { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [{ timeUnixNano: 1n, observedTimeUnixNano: 1n, attributes: [] }] }] }] };
}

function recorder(mutates: boolean, fail?: Error) {
  const seen: LogsData[] = [];
  const consumer: Consumer<'logs'> = {
    async consume(d) {
      seen.push(d);
      if (mutates) d.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.push({ key: 'touched', value: { boolValue: true } });
      if (fail) throw fail;
    },
  };
  return { seen, target: { consumer, capabilities: { mutatesData: mutates } } };
}

describe('fanout', () => {
  it('gives a mutating consumer its own copy; read-only ones share the original', async () => {
    const ro1 = recorder(false);
    const ro2 = recorder(false);
    const mut = recorder(true);
    const data = logs();
    await fanout([ro1.target, mut.target, ro2.target]).consumer.consume(data);
    assert.equal(ro1.seen[0], data);
    assert.equal(ro2.seen[0], data);
    assert.notEqual(mut.seen[0], data);
    assert.equal(data.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.length, 0, 'the original is untouched');
    assert.equal(mut.seen[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.length, 1);
  });

  it('when all mutate, each sees only its own change', async () => {
    const a = recorder(true);
    const b = recorder(true);
    await fanout([a.target, b.target]).consumer.consume(logs());
    assert.notEqual(a.seen[0], b.seen[0]);
    for (const r of [a, b]) assert.equal(r.seen[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.length, 1);
  });

  it('a single consumer is passed through as it is', () => {
    const a = recorder(true);
    assert.equal(fanout([a.target]), a.target);
  });

  it('delivers to every consumer even when one refuses, and reports the refusal', async () => {
    const ok = recorder(false);
    const bad = recorder(false, permanentError('bad data'));
    await assert.rejects(fanout([bad.target, ok.target]).consumer.consume(logs()), /bad data/);
    assert.equal(ok.seen.length, 1);
  });

  it('several refusals: retryable when any is retryable', async () => {
    const a = recorder(false, permanentError('a'));
    const b = recorder(false, retryableError('b'));
    await assert.rejects(fanout([a.target, b.target]).consumer.consume(logs()), (e: { retryable: boolean; message: string }) => e.retryable && e.message === 'a; b');
  });
});
