// The contract every receiver, processor, exporter and extension keeps.
import type { z } from 'zod';
import type { Signal, SignalData } from '../pdata/signal.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { SelfTelemetry } from '../telemetry/self.ts';
import type { Capabilities, Consumer } from './consumer.ts';
import type { ComponentId } from './id.ts';

export type Kind = 'receiver' | 'processor' | 'exporter' | 'connector' | 'extension';

/** What a component may ask of the running collector. */
export interface Host {
  /** A started extension by id (`file_storage/queue`), for components that use one. */
  getExtension(id: string): Extension | undefined;
}

export interface Component {
  /** Called once before any data flows; may bind ports and attach programs. */
  start(host: Host): Promise<void>;
  /**
   * Flushes what it holds and releases everything. Safe without start and safe twice.
   */
  shutdown(): Promise<void>;
}

export type Receiver = Component;
/** Exporter in one pipeline and receiver in another, as the Collector's connectors. */
export interface Connector<S extends Signal = Signal> extends Component, Consumer<S> {
  readonly capabilities?: Capabilities;
}
export type Extension = Component;
export interface Processor<S extends Signal = Signal> extends Component, Consumer<S> {
  readonly capabilities?: Capabilities;
}
export interface Exporter<S extends Signal = Signal> extends Component, Consumer<S> {
  readonly capabilities?: Capabilities;
  /**
   * True when the exporter counts its sent and failed items itself (the exporter helper does,
   * once its queue and retries are done with a batch); the engine then does not count them.
   */
  readonly countsItems?: boolean;
}

export interface CreateSettings {
  id: ComponentId;
  kind: Kind;
  /** The signal this instance is for (absent for extensions; a connector's is the one it exports from). */
  signal?: Signal;
  logger: Logger;
  telemetry: SelfTelemetry;
  /** The directory relative paths in the config are resolved against. */
  configDir: string;
}

/** Per-signal create functions of a factory. A factory lists only the signals it supports. */
export type ReceiverCreators<C> = {
  [S in Signal]?: (settings: CreateSettings, config: C, next: Consumer<S>) => Receiver;
};
export type ProcessorCreators<C> = {
  [S in Signal]?: (settings: CreateSettings, config: C, next: Consumer<S>) => Processor<S>;
};
export type ExporterCreators<C> = {
  [S in Signal]?: (settings: CreateSettings, config: C) => Exporter<S>;
};

/** Per (from, to) signal pair create functions of a connector: from the pipeline it exports from, to the one it feeds. */
export type ConnectorCreators<C> = {
  [From in Signal]?: {
    [To in Signal]?: (settings: CreateSettings, config: C, next: Consumer<To>) => Connector<From>;
  };
};

interface FactoryBase<C> {
  type: string;
  /** One sentence for `bpfcol components`. */
  description: string;
  /** The config schema; `schema.parse({})` gives the documented defaults. */
  configSchema: z.ZodType<C>;
  /** Checks that need more than the schema (files, combinations of keys); returns problems. */
  validate?: (config: C) => string[];
  /**
   * For components that need kernel features (eBPF receivers): what this kernel lacks to run
   * with `config`, one sentence each; empty when it can run. bpfcol refuses to start, before
   * attaching anything, when a configured component lacks something, and `bpfcol probe` prints it.
   */
  missingKernelFeatures?: (config: C) => string[];
  /** The tracepoints such a component may attach with `config`, listed by `bpfcol probe`. */
  kernelTracepoints?: (config: C) => string[];
}

export interface ReceiverFactory<C = any> extends FactoryBase<C> {
  kind: 'receiver';
  create: ReceiverCreators<C>;
}
export interface ProcessorFactory<C = any> extends FactoryBase<C> {
  kind: 'processor';
  create: ProcessorCreators<C>;
}
export interface ExporterFactory<C = any> extends FactoryBase<C> {
  kind: 'exporter';
  create: ExporterCreators<C>;
}
export interface ConnectorFactory<C = any> extends FactoryBase<C> {
  kind: 'connector';
  create: ConnectorCreators<C>;
}
export interface ExtensionFactory<C = any> extends FactoryBase<C> {
  kind: 'extension';
  create: (settings: CreateSettings, config: C) => Extension;
}

export type Factory = ReceiverFactory | ProcessorFactory | ExporterFactory | ConnectorFactory | ExtensionFactory;

export interface Factories {
  receivers: ReceiverFactory[];
  processors: ProcessorFactory[];
  exporters: ExporterFactory[];
  /** Optional so a registry without connectors need not list them. */
  connectors?: ConnectorFactory[];
  extensions: ExtensionFactory[];
}

export function createDefaultConfig<C>(factory: FactoryBase<C>): C {
  return factory.configSchema.parse({});
}

export type { Signal, SignalData };
