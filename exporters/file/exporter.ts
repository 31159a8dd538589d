// The file exporter for one signal: encodes each batch as one record and hands it to the
// writer shared by everything that writes to the same path.
import type { Component, Exporter, Host } from '../../src/component/component.ts';
import type { Capabilities } from '../../src/component/consumer.ts';
import { permanentError, retryableError } from '../../src/component/errors.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { Encoder } from './encode.ts';
import type { FileWriter } from './writer.ts';

export class FileExporter<S extends Signal> implements Exporter<S> {
  readonly capabilities: Capabilities = { mutatesData: false };
  private readonly signal: S;
  private readonly encode: Encoder<S>;
  private readonly writer: FileWriter;
  private readonly lifecycle: Component;

  constructor(signal: S, encode: Encoder<S>, writer: FileWriter, lifecycle: Component) {
    this.signal = signal;
    this.encode = encode;
    this.writer = writer;
    this.lifecycle = lifecycle;
  }

  start(host: Host): Promise<void> {
    return this.lifecycle.start(host);
  }

  shutdown(): Promise<void> {
    return this.lifecycle.shutdown();
  }

  async consume(data: SignalData[S]): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = this.encode(data);
    } catch (error) {
      throw permanentError(`cannot encode ${this.signal}: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    try {
      await this.writer.write(bytes);
    } catch (error) {
      throw retryableError(
        `writing to "${this.writer.path}" failed: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
  }
}
