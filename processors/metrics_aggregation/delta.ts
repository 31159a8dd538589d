// Turns cumulative series into increments, one tracker entry per input series, as the
// Collector's cumulativetodelta processor does: a reset (a newer start time, or a monotonic value
// that went down) starts over from the new value; a point not newer than the last is ignored.
import { type Hist, histDelta, less, type Num, sub } from './values.ts';

/**
 * What the first point of a series counts for. `auto`: all of it when the series started after the
 * tracker did (its start time says so), otherwise nothing (it only sets the baseline); `keep`: all
 * of it; `drop`: nothing.
 */
export type InitialValue = 'auto' | 'keep' | 'drop';

interface Last<V> {
  start: bigint | undefined;
  time: bigint;
  value: V;
  seenMs: number;
}

export interface CumulativePoint<V> {
  start: bigint | undefined;
  time: bigint;
  value: V;
}

export type DeltaResult<V> = { delta: V } | { skipped: 'baseline' | 'out_of_order' };

export class DeltaTracker {
  readonly #sums = new Map<string, Last<Num>>();
  readonly #hists = new Map<string, Last<Hist>>();
  readonly #initial: InitialValue;
  readonly #startedNs: bigint;
  readonly #now: () => number;

  constructor(options: { initialValue: InitialValue; startedUnixNano: bigint; now?: () => number }) {
    this.#initial = options.initialValue;
    this.#startedNs = options.startedUnixNano;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#sums.size + this.#hists.size;
  }

  sum(key: string, p: CumulativePoint<Num>, monotonic: boolean): DeltaResult<Num> {
    return this.#step(this.#sums, key, p, (now, before) => (monotonic && less(now, before) ? undefined : sub(now, before)));
  }

  histogram(key: string, p: CumulativePoint<Hist>): DeltaResult<Hist> {
    return this.#step(this.#hists, key, p, (now, before) =>
      now.count < before.count || now.bounds.length !== before.bounds.length ? undefined : histDelta(now, before),
    );
  }

  /** Forgets series not seen for `maxAgeMs`. */
  expire(maxAgeMs: number): void {
    const oldest = this.#now() - maxAgeMs;
    for (const map of [this.#sums, this.#hists] as Map<string, Last<unknown>>[]) {
      for (const [k, v] of map) if (v.seenMs < oldest) map.delete(k);
    }
  }

  #step<V>(map: Map<string, Last<V>>, key: string, p: CumulativePoint<V>, diff: (now: V, before: V) => V | undefined): DeltaResult<V> {
    const last = map.get(key);
    const seenMs = this.#now();
    if (!last) {
      map.set(key, { start: p.start, time: p.time, value: p.value, seenMs });
      if (this.#initial === 'keep' || (this.#initial === 'auto' && p.start !== undefined && p.start >= this.#startedNs)) {
        return { delta: p.value };
      }
      return { skipped: 'baseline' };
    }
    if (p.time <= last.time) return { skipped: 'out_of_order' };
    const restarted = p.start !== undefined && last.start !== undefined && p.start > last.start;
    const d = restarted ? undefined : diff(p.value, last.value);
    map.set(key, { start: p.start, time: p.time, value: p.value, seenMs });
    // A reset: the series began again at its start time, so everything it holds is new.
    return { delta: d ?? p.value };
  }
}
