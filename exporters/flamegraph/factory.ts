// The flamegraph exporter's factory: profiles only.
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { type FlamegraphConfig, flamegraphConfigSchema } from './config.ts';
import { FlamegraphExporter } from './exporter.ts';

export const flamegraphFactory: ExporterFactory<FlamegraphConfig> = {
  kind: 'exporter',
  type: 'flamegraph',
  description: 'Draws each window of profiles as an interactive SVG flame graph (search, zoom, tooltips) with its folded stacks beside it',
  configSchema: flamegraphConfigSchema,
  create: {
    profiles: (settings: CreateSettings, config: FlamegraphConfig) => new FlamegraphExporter(settings, config),
  },
};
