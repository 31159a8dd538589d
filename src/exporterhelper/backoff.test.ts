// The backoff's waits: growth by multiplier, the max_interval cap, jitter bounds, max_elapsed_time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExponentialBackoff } from './backoff.ts';

const config = { enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5 };

describe('exponential backoff', () => {
  it('grows by the multiplier up to max_interval (no jitter at random 0.5)', () => {
    const b = new ExponentialBackoff(config, 0, () => 0.5);
    assert.deepEqual(Array.from({ length: 7 }, () => b.next(0)), [5000, 7500, 11250, 16875, 25313, 30000, 30000]);
  });

  it('randomizes each wait within ± randomization_factor', () => {
    const low = new ExponentialBackoff(config, 0, () => 0);
    const high = new ExponentialBackoff(config, 0, () => 0.999999);
    assert.equal(low.next(0), 2500);
    assert.equal(high.next(0), 7500);
  });

  it('stops after max_elapsed_time, never when it is 0', () => {
    const b = new ExponentialBackoff(config, 1000, () => 0.5);
    assert.equal(b.next(301_000), 5000);
    assert.equal(b.next(301_001), undefined);
    assert.equal(b.remaining(101_000), 200_000);
    const forever = new ExponentialBackoff({ ...config, max_elapsed_time: 0 }, 0, () => 0.5);
    assert.equal(typeof forever.next(10 ** 12), 'number');
    assert.equal(forever.remaining(0), Infinity);
  });
});
