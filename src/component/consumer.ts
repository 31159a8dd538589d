// What passes data along a pipeline: a receiver pushes into a Consumer, a processor is one
// and holds the next, an exporter is the last.
import type { Signal, SignalData } from '../pdata/signal.ts';

export interface Consumer<S extends Signal = Signal> {
  /**
   * Takes a batch. Resolves once the data is accepted (queued or sent); rejects with a
   * ConsumerError when it is refused. The caller must not touch `data` afterwards.
   */
  consume(data: SignalData[S]): Promise<void>;
}

export interface Capabilities {
  /** True when the consumer changes the data it is given; fan-outs then hand it a copy. */
  mutatesData: boolean;
}
