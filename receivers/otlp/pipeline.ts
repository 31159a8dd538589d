// What both transports share: the next consumer of each signal (one per pipeline signal the
// receiver feeds), and pushing decoded data into it with the outcome a transport maps to a
// status. The receiver never answers "partial success": a Consumer accepts or refuses a
// whole batch, so there is nothing partial to report.
import type { Consumer } from '../../src/component/consumer.ts';
import { isRetryable } from '../../src/component/errors.ts';
import { OTLP_SIGNALS, type OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';

export { OTLP_SIGNALS, type OtlpSignal };

export type PushOutcome = { ok: true } | { ok: false; retryable: boolean; message: string };

export class SignalConsumers {
  private readonly consumers: { [S in OtlpSignal]?: Consumer<S> } = {};

  register<S extends OtlpSignal>(signal: S, consumer: Consumer<S>): void {
    (this.consumers as Record<OtlpSignal, Consumer<S> | undefined>)[signal] = consumer;
  }

  get<S extends OtlpSignal>(signal: S): Consumer<S> | undefined {
    return this.consumers[signal] as Consumer<S> | undefined;
  }

  has(signal: OtlpSignal): boolean {
    return this.consumers[signal] !== undefined;
  }
}

/** Hands `data` to the signal's consumer; a refusal says whether the sender should retry. */
export async function pushToPipeline<S extends OtlpSignal>(consumer: Consumer<S>, data: SignalData[S]): Promise<PushOutcome> {
  try {
    await consumer.consume(data);
    return { ok: true };
  } catch (error) {
    return { ok: false, retryable: isRetryable(error), message: error instanceof Error ? error.message : String(error) };
  }
}

/** Counts requests being served, so shutdown can wait for them (up to a bound). */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  enter(): () => void {
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Resolves true once nothing is in flight, or false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }
}
