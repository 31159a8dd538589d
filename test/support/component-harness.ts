// What component unit tests need around a component: create settings, a logger whose lines a test
// reads, telemetry that remembers what was recorded, and a consumer that keeps what it is given.
import type { CreateSettings, Kind } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import { createLogger, type Level, type Logger } from '../../src/telemetry/logger.ts';
import type { Observation, SelfTelemetry } from '../../src/telemetry/self.ts';
import { parseComponentId } from '../../src/component/id.ts';
import { nopLogger } from '../../src/telemetry/logger.ts';

/** Telemetry that sums counters and keeps histogram records by metric name (without the bpfcol_ prefix). */
export interface RecordingTelemetry extends SelfTelemetry {
  counters: Map<string, number>;
  histograms: Map<string, number[]>;
  gauges: Map<string, () => Observation>;
}

export function recordingTelemetry(): RecordingTelemetry {
  const counters = new Map<string, number>();
  const histograms = new Map<string, number[]>();
  const gauges = new Map<string, () => Observation>();
  const t: RecordingTelemetry = {
    counters,
    histograms,
    gauges,
    counter: (name) => ({ add: (v) => counters.set(name, (counters.get(name) ?? 0) + v) }),
    upDownCounter: (name) => ({ add: (v) => counters.set(name, (counters.get(name) ?? 0) + v) }),
    histogram: (name) => ({
      record: (v) => {
        const list = histograms.get(name) ?? [];
        list.push(v);
        histograms.set(name, list);
      },
    }),
    gauge: (name, _d, read) => void gauges.set(name, read),
    with: () => t,
  };
  return t;
}

/** A console logger whose lines land in `lines`. */
export function captureLogger(level: Level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level, encoding: 'console', write: (l) => lines.push(l) }), lines };
}

export function testSettings(
  idText: string,
  kind: Kind,
  signal: Signal,
  extra: { logger?: Logger; telemetry?: SelfTelemetry; configDir?: string } = {},
): CreateSettings {
  const id = parseComponentId(idText);
  if (typeof id === 'string') throw new Error(id);
  return {
    id,
    kind,
    signal,
    logger: extra.logger ?? nopLogger,
    telemetry: extra.telemetry ?? recordingTelemetry(),
    configDir: extra.configDir ?? process.cwd(),
  };
}

/** A consumer that keeps every batch it is given, and can be told to fail. */
export class SinkConsumer<S extends Signal> implements Consumer<S> {
  readonly received: SignalData[S][] = [];
  fail?: Error;
  /** Resolves each consume only after this many ms, to act like a slow backend. */
  delayMs = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  async consume(data: SignalData[S]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw this.fail;
    this.received.push(data);
    this.waiters = this.waiters.filter((w) => {
      if (this.received.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once at least `count` batches arrived. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
