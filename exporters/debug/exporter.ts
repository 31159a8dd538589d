// The debug exporter for one signal: logs a summary of every batch and, at normal or detailed
// verbosity, the batch itself, through the component's logger at info, sampled as configured.
import type { Exporter } from '../../src/component/component.ts';
import type { Capabilities } from '../../src/component/consumer.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { DebugConfig } from './config.ts';
import { detailedText } from './detailed.ts';
import { normalText } from './normal.ts';
import { samplingLogger } from './sampler.ts';
import { SUMMARY_MESSAGE, summaryFields } from './summary.ts';

export class DebugExporter<S extends Signal> implements Exporter<S> {
  readonly capabilities: Capabilities = { mutatesData: false };
  private readonly signal: S;
  private readonly verbosity: DebugConfig['verbosity'];
  private readonly logger: Logger;

  constructor(signal: S, config: DebugConfig, logger: Logger) {
    this.signal = signal;
    this.verbosity = config.verbosity;
    this.logger = samplingLogger(logger, config.sampling_initial, config.sampling_thereafter);
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}

  async consume(data: SignalData[S]): Promise<void> {
    this.logger.info(SUMMARY_MESSAGE[this.signal], summaryFields(this.signal, data));
    if (this.verbosity === 'basic') return;
    const text = this.verbosity === 'detailed' ? detailedText(this.signal, data) : normalText(this.signal, data);
    if (text) this.logger.info(text);
  }
}
