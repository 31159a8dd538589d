// Builds the running components from a resolved config: one exporter per (id, signal) shared by
// the pipelines of that signal (fan-in), processors per pipeline, and one receiver per
// (id, signal) feeding a fan-out to every pipeline that lists it.
import type {
  Component,
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
import { countExported, countProcessed, countReceived } from './obsreport.ts';

export interface Node {
  /** `exporter otlp/jaeger (traces)`, for logs and errors. */
  label: string;
  component: Component;
}

export interface Graph {
  extensions: Node[];
  exporters: Node[];
  /** Per pipeline, first processor first: the order shutdown drains them in. */
  processors: Node[][];
  receivers: Node[];
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

function label(kind: Kind, id: string, signal?: Signal, pipeline?: string): string {
  return `${kind} ${id}${pipeline ? ` in pipeline ${pipeline}` : signal ? ` (${signal})` : ''}`;
}

export function buildGraph(config: ResolvedConfig, ctx: BuildContext): Graph {
  const graph: Graph = { extensions: [], exporters: [], processors: [], receivers: [], extensionsById: new Map() };

  for (const id of config.serviceExtensions) {
    const c = config.extensions.get(id)!;
    const factory = c.factory as ExtensionFactory;
    const component: Extension = factory.create(settingsFor(ctx, c), c.config);
    graph.extensions.push({ label: label('extension', id), component });
    graph.extensionsById.set(id, component);
  }

  const exporters = new Map<string, Downstream<Signal>>();
  const exporterFor = <S extends Signal>(id: string, signal: S): Downstream<S> => {
    const key = `${id}\u0000${signal}`;
    let built = exporters.get(key) as Downstream<S> | undefined;
    if (!built) {
      const c = config.exporters.get(id)!;
      const create = (c.factory as ExporterFactory).create[signal]!;
      const exporter = create(settingsFor(ctx, c, signal), c.config) as Exporter<S>;
      graph.exporters.push({ label: label('exporter', id, signal), component: exporter });
      built = {
        consumer: countExported(signal, id, ctx.telemetry, exporter),
        capabilities: exporter.capabilities ?? { mutatesData: false },
      };
      exporters.set(key, built as Downstream<Signal>);
    }
    return built;
  };

  const entries = new Map<string, Downstream<Signal>>();
  for (const pipeline of config.pipelines) {
    entries.set(pipeline.id, buildPipeline(pipeline, config, ctx, graph, exporterFor));
  }

  const receiverSignals = new Map<string, Map<Signal, ResolvedPipeline[]>>();
  for (const p of config.pipelines) {
    for (const id of p.receivers) {
      const bySignal = receiverSignals.get(id) ?? new Map<Signal, ResolvedPipeline[]>();
      bySignal.set(p.signal, [...(bySignal.get(p.signal) ?? []), p]);
      receiverSignals.set(id, bySignal);
    }
  }
  for (const [id, bySignal] of receiverSignals) {
    const c = config.receivers.get(id)!;
    for (const [signal, pipelines] of bySignal) {
      const next = fanout(pipelines.map((p) => entries.get(p.id)!));
      const counted = countReceived(signal, id, ctx.telemetry, next.consumer);
      const create = (c.factory as ReceiverFactory).create[signal]!;
      const receiver: Receiver = create(settingsFor(ctx, c, signal), c.config, counted as Consumer<never>);
      graph.receivers.push({ label: label('receiver', id, signal), component: receiver });
    }
  }
  return graph;
}

function buildPipeline<S extends Signal>(
  pipeline: ResolvedPipeline & { signal: S },
  config: ResolvedConfig,
  ctx: BuildContext,
  graph: Graph,
  exporterFor: <T extends Signal>(id: string, signal: T) => Downstream<T>,
): Downstream<S> {
  const signal = pipeline.signal;
  let next: Downstream<S> = fanout(pipeline.exporters.map((id) => exporterFor(id, signal)));
  const processors: Node[] = [];
  for (const id of [...pipeline.processors].reverse()) {
    const c = config.processors.get(id)!;
    const create = (c.factory as ProcessorFactory).create[signal]!;
    const outgoing = countProcessed(signal, id, pipeline.id, ctx.telemetry, next.consumer, 'outgoing');
    const processor = create(settingsFor(ctx, c, signal, pipeline.id), c.config, outgoing as Consumer<never>) as Processor<S>;
    processors.unshift({ label: label('processor', id, signal, pipeline.id), component: processor });
    const mutates = (processor.capabilities?.mutatesData ?? false) || next.capabilities.mutatesData;
    next = {
      consumer: countProcessed(signal, id, pipeline.id, ctx.telemetry, processor, 'incoming'),
      capabilities: { mutatesData: mutates },
    };
  }
  graph.processors.push(processors);
  return next;
}
