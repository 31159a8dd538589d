// The debug exporter: writes what passes through a pipeline to bpfcol's log, for people.
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import type { Signal } from '../../src/pdata/signal.ts';
import { type DebugConfig, debugConfigSchema } from './config.ts';
import { DebugExporter } from './exporter.ts';

function create<S extends Signal>(signal: S) {
  return (settings: CreateSettings, config: DebugConfig) => new DebugExporter(signal, config, settings.logger);
}

export const debugFactory: ExporterFactory<DebugConfig> = {
  kind: 'exporter',
  type: 'debug',
  description: 'Logs a summary of every batch, or every item with verbosity normal or detailed',
  configSchema: debugConfigSchema,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
