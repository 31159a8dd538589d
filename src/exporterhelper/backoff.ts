// Exponential backoff as the Collector's retry sender uses it (cenkalti/backoff): each wait is the
// current interval randomized by ± randomization_factor, the interval grows by `multiplier` up to
// max_interval, and there is no next wait once max_elapsed_time has passed since the start.
import type { RetryConfig } from './config.ts';

export class ExponentialBackoff {
  private readonly config: RetryConfig;
  private readonly random: () => number;
  private readonly startedAt: number;
  private interval: number;

  constructor(config: RetryConfig, now = Date.now(), random: () => number = Math.random) {
    this.config = config;
    this.random = random;
    this.startedAt = now;
    this.interval = config.initial_interval;
  }

  /** The next wait in ms, or undefined when retrying should stop. */
  next(now = Date.now()): number | undefined {
    const { max_elapsed_time: maxElapsed, randomization_factor: factor, multiplier, max_interval: maxInterval } = this.config;
    if (maxElapsed > 0 && now - this.startedAt > maxElapsed) return undefined;
    const delta = factor * this.interval;
    const wait = this.interval - delta + this.random() * (2 * delta);
    this.interval = Math.min(this.interval * multiplier, maxInterval);
    return Math.round(wait);
  }

  /** Milliseconds left before max_elapsed_time (Infinity when it is 0). */
  remaining(now = Date.now()): number {
    return this.config.max_elapsed_time > 0 ? this.startedAt + this.config.max_elapsed_time - now : Infinity;
  }
}
