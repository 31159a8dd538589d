// What the otlp and otlp_http exporters share: one request per batch through a transport,
// partial success logged and counted, and a shutdown that waits for requests in flight. The
// factories wrap it in the exporter helper (queue, retries), which calls send() per attempt.
import type { CreateSettings, Exporter, Host } from '../../src/component/component.ts';
import { permanentError } from '../../src/component/errors.ts';
import type { ExporterHelperConfig } from '../../src/exporterhelper/config.ts';
import { newExporter } from '../../src/exporterhelper/exporter.ts';
import type { PartialSuccess } from '../../src/pdata/otlp/proto.ts';
import { ITEM_NAME, type SignalData } from '../../src/pdata/signal.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { ExportSignal } from './export-signal.ts';

/** Sends one export request; resolves with the partial success the peer reported, rejects with a ConsumerError. */
export interface OtlpTransport<S extends ExportSignal> {
  /** `signal` cancels the request (the exporter helper stops). */
  send(data: SignalData[S], signal?: AbortSignal): Promise<PartialSuccess | undefined>;
  /** Releases connections; called once no request is in flight. */
  close(): void;
}

export class OtlpExporter<S extends ExportSignal> implements Exporter<S> {
  private readonly signal: S;
  private readonly settings: CreateSettings;
  private readonly connect: () => Promise<OtlpTransport<S>>;
  private readonly rejected: Counter;
  private readonly inFlight = new Set<Promise<unknown>>();
  private transport: OtlpTransport<S> | undefined;
  private state: 'new' | 'started' | 'stopped' = 'new';

  /** `connect` builds the transport at start (it may read TLS files, so it can fail there). */
  constructor(signal: S, settings: CreateSettings, connect: () => Promise<OtlpTransport<S>>) {
    this.signal = signal;
    this.settings = settings;
    this.connect = connect;
    this.rejected = settings.telemetry.counter(
      'exporter_partial_success_rejected_items',
      'Items the peer rejected in an otherwise successful export (OTLP partial success).',
      '{item}',
    );
  }

  async start(_host: Host): Promise<void> {
    if (this.state !== 'new') return;
    this.transport = await this.connect();
    this.state = 'started';
  }

  async consume(data: SignalData[S]): Promise<void> {
    return this.send(data);
  }

  /** One export request: the exporter helper's attempt. */
  async send(data: SignalData[S], signal?: AbortSignal): Promise<void> {
    if (!this.transport || this.state !== 'started') {
      throw permanentError(`the ${this.settings.id.text} exporter is ${this.state === 'stopped' ? 'shut down' : 'not started'}`);
    }
    const sending = this.transport.send(data, signal);
    this.inFlight.add(sending);
    try {
      const partial = await sending;
      if (partial) this.reportPartialSuccess(partial);
    } finally {
      this.inFlight.delete(sending);
    }
  }

  /** As the Collector: the request succeeded, so no error, but say what the peer dropped. */
  private reportPartialSuccess(partial: PartialSuccess): void {
    this.settings.logger.warn('Partial success response', {
      message: partial.message,
      [`dropped_${ITEM_NAME[this.signal]}`]: partial.rejected,
    });
    if (partial.rejected > 0) this.rejected.add(partial.rejected, { signal: this.signal });
  }

  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    // Requests already sent finish (each within its timeout) before connections close.
    await Promise.allSettled([...this.inFlight]);
    this.transport?.close();
    this.transport = undefined;
  }
}

/**
 * The exporter in the exporter helper: queue and retries as `config` says. The transport applies
 * `timeout` to each attempt itself (as the Collector's gRPC/HTTP clients take the timeout
 * sender's deadline), so the helper adds no timer of its own.
 */
export function otlpWithHelper<S extends ExportSignal>(
  signal: S,
  settings: CreateSettings,
  config: Pick<ExporterHelperConfig, 'sending_queue' | 'retry_on_failure'>,
  connect: () => Promise<OtlpTransport<S>>,
): Exporter<S> {
  const helper = { sending_queue: config.sending_queue, retry_on_failure: config.retry_on_failure, timeout: 0 };
  return newExporter(signal, settings, helper, new OtlpExporter(signal, settings, connect));
}
