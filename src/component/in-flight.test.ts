import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlight } from './in-flight.ts';

describe('InFlight', () => {
  it('settled() waits for every tracked send; refusals go to onError, not to the caller', async () => {
    const inFlight = new InFlight();
    const done: string[] = [];
    const errors: unknown[] = [];
    inFlight.track(new Promise((r) => setTimeout(() => r(done.push('slow')), 30)), (e) => errors.push(e));
    inFlight.track(Promise.reject(new Error('refused')), (e) => errors.push(e));
    await inFlight.settled();
    assert.deepEqual(done, ['slow']);
    assert.equal((errors[0] as Error).message, 'refused');
    await inFlight.settled(); // nothing left: resolves at once
  });
});
