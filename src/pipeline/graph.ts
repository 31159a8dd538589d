// Builds the running components from a resolved config: one exporter per (id, signal) shared by
// the pipelines of that signal (fan-in), processors per pipeline, one receiver per (id, signal)
// feeding a fan-out to every pipeline that lists it, and one connector per (id, from, to)
// signal pair bridging pipelines. Components are recorded downstream first, so starting them
// in that order and stopping them in the reverse lets what is in flight drain downstream.
import type {
  Component,
  Connector,
  ConnectorFactory,
  CreateSettings,
  Exporter,
  ExporterFactory,
  Extension,
  ExtensionFactory,
  Kind,
  Processor,
  ProcessorFactory,
  Receiver,
  ReceiverFactory,
} from '../component/component.ts';
import type { Consumer } from '../component/consumer.ts';
import type { ResolvedComponent, ResolvedConfig, ResolvedPipeline } from '../config/resolve.ts';
import type { Signal } from '../pdata/signal.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { SelfTelemetry } from '../telemetry/self.ts';
import { type Downstream, fanout } from './fanout.ts';
import { isolate, markDownstream } from './isolate.ts';
import { countExported, countProcessed, countReceived } from './obsreport.ts';

export interface Node {
  /** `exporter otlp/jaeger (traces)`, for logs and errors. */
  label: string;
  component: Component;
}

export interface Graph {
  extensions: Node[];
  /** Exporters, connectors, processors and receivers, downstream first: the start order. */
  nodes: Node[];
  extensionsById: Map<string, Extension>;
}

export interface BuildContext {
  logger: Logger;
  telemetry: SelfTelemetry;
  configDir: string;
}

function settingsFor(ctx: BuildContext, c: ResolvedComponent, signal?: Signal, pipeline?: string): CreateSettings {
  const fields: Record<string, string> = { kind: c.kind, name: c.id.text };
  if (signal) fields['signal'] = signal;
  if (pipeline) fields['pipeline'] = pipeline;
  return {
    id: c.id,
    kind: c.kind,
    ...(signal ? { signal } : {}),
    logger: ctx.logger.with(fields),
    telemetry: ctx.telemetry.with({ [c.kind]: c.id.text }),
    configDir: ctx.configDir,
  };
}

function label(kind: Kind, id: string, detail?: string): string {
  return `${kind} ${id}${detail ? ` ${detail}` : ''}`;
}

class GraphBuilder {
  readonly graph: Graph = { extensions: [], nodes: [], extensionsById: new Map() };
  private readonly exporters = new Map<string, Downstream<Signal>>();
  private readonly connectors = new Map<string, Downstream<Signal>>();
  private readonly entries = new Map<string, Downstream<Signal>>();
  private readonly config: ResolvedConfig;
  private readonly ctx: BuildContext;

  constructor(config: ResolvedConfig, ctx: BuildContext) {
    this.config = config;
    this.ctx = ctx;
  }

  build(): Graph {
    for (const id of this.config.serviceExtensions) {
      const c = this.config.extensions.get(id)!;
      const component: Extension = (c.factory as ExtensionFactory).create(settingsFor(this.ctx, c), c.config);
      this.graph.extensions.push({ label: label('extension', id), component });
      this.graph.extensionsById.set(id, component);
    }
    for (const p of this.config.pipelines) this.pipelineEntry(p);
    this.buildReceivers();
    return this.graph;
  }

  /** What data entering pipeline `p` goes into, building the pipeline on first use. */
  private pipelineEntry(p: ResolvedPipeline): Downstream<Signal> {
    let entry = this.entries.get(p.id);
    if (!entry) {
      entry = this.buildPipeline(p);
      this.entries.set(p.id, entry);
    }
    return entry;
  }

  private buildPipeline<S extends Signal>(pipeline: ResolvedPipeline & { signal: S }): Downstream<S> {
    const signal = pipeline.signal;
    const targets = pipeline.exporters.map((id) =>
      this.config.connectors.has(id) ? this.connectorFor(id, signal) : this.exporterFor(id, signal),
    );
    let next: Downstream<S> = fanout(targets);
    for (const id of [...pipeline.processors].reverse()) {
      const c = this.config.processors.get(id)!;
      const create = (c.factory as ProcessorFactory).create[signal]!;
      const outgoing = countProcessed(signal, id, pipeline.id, this.ctx.telemetry, next.consumer, 'outgoing');
      const settings = settingsFor(this.ctx, c, signal, pipeline.id);
      let processor: Processor<S>;
      if (c.module) {
        const downstreamErrors = new WeakSet<object>();
        const made = create(settings, c.config, markDownstream(outgoing, downstreamErrors) as Consumer<never>) as Processor<S>;
        processor = isolate(made, outgoing, downstreamErrors, {
          onError: c.module.settings.on_error,
          processorId: id,
          logger: settings.logger,
          telemetry: this.ctx.telemetry,
        });
      } else {
        processor = create(settings, c.config, outgoing as Consumer<never>) as Processor<S>;
      }
      this.graph.nodes.push({ label: label('processor', id, `in pipeline ${pipeline.id}`), component: processor });
      next = {
        consumer: countProcessed(signal, id, pipeline.id, this.ctx.telemetry, processor, 'incoming'),
        capabilities: { mutatesData: (processor.capabilities?.mutatesData ?? false) || next.capabilities.mutatesData },
      };
    }
    return next;
  }

  private exporterFor<S extends Signal>(id: string, signal: S): Downstream<S> {
    const key = `${id}\u0000${signal}`;
    let built = this.exporters.get(key) as Downstream<S> | undefined;
    if (!built) {
      const c = this.config.exporters.get(id)!;
      const create = (c.factory as ExporterFactory).create[signal]!;
      const exporter = create(settingsFor(this.ctx, c, signal), c.config) as Exporter<S>;
      this.graph.nodes.push({ label: label('exporter', id, `(${signal})`), component: exporter });
      const consumer = exporter.countsItems ? exporter : countExported(signal, id, this.ctx.telemetry, exporter);
      built = { consumer, capabilities: exporter.capabilities ?? { mutatesData: false } };
      this.exporters.set(key, built as Downstream<Signal>);
    }
    return built;
  }

  /** A connector as the exporter of a `from` pipeline: one instance per pipeline signal it feeds. */
  private connectorFor<S extends Signal>(id: string, from: S): Downstream<S> {
    const key = `${id}\u0000${from}`;
    let built = this.connectors.get(key) as Downstream<S> | undefined;
    if (!built) {
      const c = this.config.connectors.get(id)!;
      type Create = (settings: CreateSettings, config: unknown, next: Consumer<never>) => Connector<S>;
      const creators = ((c.factory as ConnectorFactory).create[from] ?? {}) as Partial<Record<Signal, Create>>;
      const receiving = this.config.pipelines.filter((q) => q.receivers.includes(id) && creators[q.signal] !== undefined);
      const toSignals = [...new Set(receiving.map((q) => q.signal))];
      const instances = toSignals.map((to): Downstream<S> => {
        const next = fanout(receiving.filter((q) => q.signal === to).map((q) => this.pipelineEntry(q)));
        const counted = countReceived(to, id, this.ctx.telemetry, next.consumer);
        const connector = creators[to]!(settingsFor(this.ctx, c, from), c.config, counted as Consumer<never>);
        this.graph.nodes.push({ label: label('connector', id, `(${from} to ${to})`), component: connector });
        return { consumer: countExported(from, id, this.ctx.telemetry, connector), capabilities: connector.capabilities ?? { mutatesData: false } };
      });
      built = fanout(instances);
      this.connectors.set(key, built as Downstream<Signal>);
    }
    return built;
  }

  private buildReceivers(): void {
    const bySignalById = new Map<string, Map<Signal, ResolvedPipeline[]>>();
    for (const p of this.config.pipelines) {
      for (const id of p.receivers) {
        if (this.config.connectors.has(id)) continue;
        const bySignal = bySignalById.get(id) ?? new Map<Signal, ResolvedPipeline[]>();
        bySignal.set(p.signal, [...(bySignal.get(p.signal) ?? []), p]);
        bySignalById.set(id, bySignal);
      }
    }
    for (const [id, bySignal] of bySignalById) {
      const c = this.config.receivers.get(id)!;
      for (const [signal, pipelines] of bySignal) {
        const next = fanout(pipelines.map((p) => this.pipelineEntry(p)));
        const counted = countReceived(signal, id, this.ctx.telemetry, next.consumer);
        const create = (c.factory as ReceiverFactory).create[signal]!;
        const receiver: Receiver = create(settingsFor(this.ctx, c, signal), c.config, counted as Consumer<never>);
        this.graph.nodes.push({ label: label('receiver', id, `(${signal})`), component: receiver });
      }
    }
  }
}

export function buildGraph(config: ResolvedConfig, ctx: BuildContext): Graph {
  return new GraphBuilder(config, ctx).build();
}
