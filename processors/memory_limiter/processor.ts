// The per-signal face of a memory_limiter: passes data on untouched, or refuses it with a
// retryable error while the shared checker says memory is too high.
import type { Host, Processor } from '../../src/component/component.ts';
import type { Capabilities, Consumer } from '../../src/component/consumer.ts';
import type { Component } from '../../src/component/component.ts';
import { retryableError } from '../../src/component/errors.ts';
import { itemCount, type Signal, type SignalData } from '../../src/pdata/signal.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { MemoryChecker } from './checker.ts';

export const REFUSED_MESSAGE = 'data refused due to high memory usage';

export class MemoryLimiterProcessor<S extends Signal> implements Processor<S> {
  readonly capabilities: Capabilities = { mutatesData: false };
  private readonly signal: S;
  private readonly checker: MemoryChecker;
  private readonly lifecycle: Component;
  private readonly next: Consumer<S>;
  private readonly refused: Counter;

  constructor(signal: S, checker: MemoryChecker, lifecycle: Component, next: Consumer<S>, refused: Counter) {
    this.signal = signal;
    this.checker = checker;
    this.lifecycle = lifecycle;
    this.next = next;
    this.refused = refused;
  }

  start(host: Host): Promise<void> {
    return this.lifecycle.start(host);
  }

  shutdown(): Promise<void> {
    return this.lifecycle.shutdown();
  }

  async consume(data: SignalData[S]): Promise<void> {
    if (this.checker.refusing) {
      this.refused.add(itemCount(this.signal, data));
      throw retryableError(REFUSED_MESSAGE);
    }
    return this.next.consume(data);
  }
}
