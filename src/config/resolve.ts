// Checks a raw config against the registry and each component's schema, and resolves it into
// what the pipeline graph is built from. Every problem is collected (not just the first), each
// with its path; nothing is created here.
import type { ConnectorFactory, Factories, Factory, Kind } from '../component/component.ts';
import { type ComponentId, parseComponentId } from '../component/id.ts';
import { isSignal, type Signal, SIGNALS } from '../pdata/signal.ts';
import { ConfigError, type ConfigIssue, joinPath } from './errors.ts';
import type { LoadedModule, ModuleSettings } from './modules.ts';
import { pipelineSchema, rootSchema, type TelemetryConfig } from './service-schema.ts';
import { zodIssues } from './zod-issues.ts';

export interface ResolvedComponent {
  id: ComponentId;
  kind: Kind;
  factory: Factory;
  /** The config after the schema: defaults filled in, durations in ms. */
  config: unknown;
  /** Set for a component loaded from a user's module. */
  module?: { path: string; settings: ModuleSettings };
}

export interface ResolvedPipeline {
  /** `traces` or `traces/name`. */
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface ResolvedConfig {
  receivers: Map<string, ResolvedComponent>;
  processors: Map<string, ResolvedComponent>;
  exporters: Map<string, ResolvedComponent>;
  connectors: Map<string, ResolvedComponent>;
  extensions: Map<string, ResolvedComponent>;
  pipelines: ResolvedPipeline[];
  serviceExtensions: string[];
  telemetry: TelemetryConfig;
}

const SECTIONS = [
  ['receivers', 'receiver'],
  ['processors', 'processor'],
  ['exporters', 'exporter'],
  ['connectors', 'connector'],
  ['extensions', 'extension'],
] as const;

function factoriesOf(factories: Factories, kind: Kind): Factory[] {
  return kind === 'receiver'
    ? factories.receivers
    : kind === 'processor'
      ? factories.processors
      : kind === 'exporter'
        ? factories.exporters
        : kind === 'connector'
          ? (factories.connectors ?? [])
          : factories.extensions;
}

/** The (from, to) signal pairs a connector factory supports. */
export function connectorPairs(factory: ConnectorFactory): [Signal, Signal][] {
  return SIGNALS.flatMap((from) => SIGNALS.filter((to) => factory.create[from]?.[to] !== undefined).map((to): [Signal, Signal] => [from, to]));
}

/** The signals a factory can create, in the usual order. */
export function supportedSignals(factory: Factory): Signal[] {
  if (factory.kind === 'extension') return [];
  if (factory.kind === 'connector') return SIGNALS.filter((s) => factory.create[s] !== undefined);
  return SIGNALS.filter((s) => factory.create[s] !== undefined);
}

function listOf(items: string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}

function resolveSection(
  raw: Record<string, unknown> | null,
  section: string,
  kind: Kind,
  factories: Factories,
  issues: ConfigIssue[],
  modules: Map<string, LoadedModule>,
): Map<string, ResolvedComponent> {
  const out = new Map<string, ResolvedComponent>();
  const available = factoriesOf(factories, kind);
  for (const [text, value] of Object.entries(raw ?? {})) {
    const path = joinPath(section, text);
    const id = parseComponentId(text);
    if (typeof id === 'string') {
      issues.push({ path, message: id });
      continue;
    }
    const loaded = modules.get(`${section}.${text}`);
    if (loaded) {
      const parsed = loaded.factory.configSchema.safeParse(loaded.settings.config ?? {}, { reportInput: true });
      if (!parsed.success) {
        issues.push(...zodIssues(parsed.error, joinPath(path, 'config')));
        continue;
      }
      for (const problem of loaded.factory.validate?.(parsed.data) ?? []) issues.push({ path: joinPath(path, 'config'), message: problem });
      out.set(text, { id, kind, factory: loaded.factory, config: parsed.data, module: { path: loaded.path, settings: loaded.settings } });
      continue;
    }
    const factory = available.find((f) => f.type === id.type);
    if (!factory) {
      issues.push({
        path,
        message: `unknown ${kind} type "${id.type}"; valid types: ${listOf(available.map((f) => f.type).sort())}`,
      });
      continue;
    }
    if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
      issues.push({ path, message: 'expected a mapping of settings (or nothing, for the defaults)' });
      continue;
    }
    const parsed = factory.configSchema.safeParse(value ?? {}, { reportInput: true });
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, path));
      continue;
    }
    for (const problem of factory.validate?.(parsed.data) ?? []) issues.push({ path, message: problem });
    out.set(text, { id, kind, factory, config: parsed.data });
  }
  return out;
}

type PipelineComponents = Record<'receiver' | 'processor' | 'exporter' | 'connector', Map<string, ResolvedComponent>>;

function resolvePipeline(
  name: string,
  value: unknown,
  components: PipelineComponents,
  issues: ConfigIssue[],
): ResolvedPipeline | undefined {
  const path = joinPath('service.pipelines', name);
  const slash = name.indexOf('/');
  const signalText = slash < 0 ? name : name.slice(0, slash);
  if (!isSignal(signalText)) {
    issues.push({ path, message: `unknown signal "${signalText}"; a pipeline is named traces, metrics, logs or profiles, optionally with /name` });
    return undefined;
  }
  if (slash >= 0 && slash === name.length - 1) {
    issues.push({ path, message: 'the name after "/" must not be empty' });
    return undefined;
  }
  const parsed = pipelineSchema.safeParse(value ?? {}, { reportInput: true });
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, path));
    return undefined;
  }
  const before = issues.length;
  const check = (list: string[], kind: 'receiver' | 'processor' | 'exporter', key: string) => {
    const seen = new Set<string>();
    list.forEach((id, i) => {
      const itemPath = joinPath(joinPath(path, key), i);
      if (seen.has(id)) {
        issues.push({ path: itemPath, message: `${kind} "${id}" is listed twice` });
        return;
      }
      seen.add(id);
      // Connectors stand where receivers and exporters do; their pairing is checked once all pipelines are known.
      if (kind !== 'processor' && components.connector.has(id)) {
        if (components[kind].has(id)) issues.push({ path: itemPath, message: `"${id}" is both a ${kind} and a connector; rename one` });
        return;
      }
      const component = components[kind].get(id);
      if (!component) {
        const configured = [...components[kind].keys()];
        const connectors = kind === 'processor' ? '' : components.connector.size > 0 ? ` or connectors (configured: ${listOf([...components.connector.keys()])})` : '';
        issues.push({
          path: itemPath,
          message: `references ${kind} "${id}", which is not configured in ${kind}s (configured: ${listOf(configured)})${connectors}`,
        });
        return;
      }
      const signals = supportedSignals(component.factory);
      if (!signals.includes(signalText)) {
        issues.push({ path: itemPath, message: `${kind} "${id}" does not support ${signalText}; it supports ${listOf(signals)}` });
      }
    });
  };
  check(parsed.data.receivers, 'receiver', 'receivers');
  check(parsed.data.processors, 'processor', 'processors');
  check(parsed.data.exporters, 'exporter', 'exporters');
  if (parsed.data.receivers.length === 0) issues.push({ path: joinPath(path, 'receivers'), message: 'a pipeline needs at least one receiver' });
  if (parsed.data.exporters.length === 0) issues.push({ path: joinPath(path, 'exporters'), message: 'a pipeline needs at least one exporter' });
  if (issues.length > before) return undefined;
  return { id: name, signal: signalText, ...parsed.data };
}

/**
 * `modules` holds the factories of module-backed entries, loaded beforehand (loadModules), keyed
 * by `section.id`; their problems are already in `moduleIssues`.
 */
export function resolveConfig(
  raw: Record<string, unknown>,
  factories: Factories,
  modules: Map<string, LoadedModule> = new Map(),
  moduleIssues: ConfigIssue[] = [],
): ResolvedConfig {
  const issues: ConfigIssue[] = [...moduleIssues];
  const root = rootSchema.safeParse(raw, { reportInput: true });
  if (!root.success) {
    // Component sections are checked below on their own; report the rest now.
    issues.push(...zodIssues(root.error, ''));
    throw new ConfigError(issues);
  }
  const cfg = root.data;
  const sections = {} as Record<(typeof SECTIONS)[number][1], Map<string, ResolvedComponent>>;
  for (const [section, kind] of SECTIONS) {
    // Entries whose module failed to load were reported already; don't report them again.
    const entries = Object.fromEntries(Object.entries(cfg[section] ?? {}).filter(([id, v]) => modules.has(`${section}.${id}`) || !(typeof v === 'object' && v !== null && 'module' in v)));
    sections[kind] = resolveSection(entries, section, kind, factories, issues, modules);
  }

  const pipelines: ResolvedPipeline[] = [];
  const pipelineEntries = Object.entries(cfg.service.pipelines);
  if (pipelineEntries.length === 0) issues.push({ path: 'service.pipelines', message: 'at least one pipeline is required' });
  for (const [name, value] of pipelineEntries) {
    const p = resolvePipeline(name, value, sections, issues);
    if (p) pipelines.push(p);
  }
  checkConnectors(pipelines, sections.connector, issues);
  cfg.service.extensions.forEach((id, i) => {
    if (!sections.extension.has(id)) {
      issues.push({
        path: joinPath('service.extensions', i),
        message: `references extension "${id}", which is not configured in extensions (configured: ${listOf([...sections.extension.keys()])})`,
      });
    }
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    receivers: sections.receiver,
    processors: sections.processor,
    exporters: sections.exporter,
    connectors: sections.connector,
    extensions: sections.extension,
    pipelines,
    serviceExtensions: cfg.service.extensions,
    telemetry: cfg.service.telemetry,
  };
}

/**
 * Each connector must be an exporter in some pipeline and a receiver in another, for a signal
 * pair its factory supports, and connectors must not close a loop of pipelines.
 */
function checkConnectors(pipelines: ResolvedPipeline[], connectors: Map<string, ResolvedComponent>, issues: ConfigIssue[]): void {
  for (const [id, c] of connectors) {
    const pairs = connectorPairs(c.factory as ConnectorFactory);
    const asExporter = pipelines.filter((p) => p.exporters.includes(id));
    const asReceiver = pipelines.filter((p) => p.receivers.includes(id));
    const path = joinPath('connectors', id);
    if (asExporter.length === 0 && asReceiver.length === 0) continue;
    for (const p of asExporter) {
      if (!asReceiver.some((q) => pairs.some(([from, to]) => from === p.signal && to === q.signal))) {
        issues.push({
          path: joinPath(joinPath(joinPath('service.pipelines', p.id), 'exporters'), p.exporters.indexOf(id)),
          message: `connector "${id}" exports from ${p.signal} but no pipeline it supports receives from it (it connects ${pairs.map(([f, t]) => `${f} to ${t}`).join(', ')})`,
        });
      }
    }
    for (const q of asReceiver) {
      if (!asExporter.some((p) => pairs.some(([from, to]) => from === p.signal && to === q.signal))) {
        issues.push({
          path: joinPath(joinPath(joinPath('service.pipelines', q.id), 'receivers'), q.receivers.indexOf(id)),
          message: `connector "${id}" feeds ${q.signal} but no pipeline it supports exports to it (it connects ${pairs.map(([f, t]) => `${f} to ${t}`).join(', ')})`,
        });
      }
    }
    if (asExporter.length === 0 || asReceiver.length === 0) {
      issues.push({ path, message: 'a connector must be used as an exporter in one pipeline and as a receiver in another' });
    }
  }
  // A loop through connectors would send data around forever.
  const next = (p: ResolvedPipeline) =>
    pipelines.filter((q) => q !== p && p.exporters.some((id) => connectors.has(id) && q.receivers.includes(id)));
  const state = new Map<ResolvedPipeline, 'visiting' | 'done'>();
  const visit = (p: ResolvedPipeline, trail: string[]): boolean => {
    if (state.get(p) === 'done') return false;
    if (state.get(p) === 'visiting') {
      issues.push({ path: 'service.pipelines', message: `connectors make a cycle: ${[...trail, p.id].join(' -> ')}` });
      return true;
    }
    state.set(p, 'visiting');
    for (const q of next(p)) if (visit(q, [...trail, p.id])) return true;
    state.set(p, 'done');
    return false;
  };
  for (const p of pipelines) if (visit(p, [])) break;
}
