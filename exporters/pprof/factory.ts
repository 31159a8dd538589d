// The pprof exporter's factory: profiles only.
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { type PprofConfig, pprofConfigSchema } from './config.ts';
import { PprofExporter } from './exporter.ts';

export const pprofFactory: ExporterFactory<PprofConfig> = {
  kind: 'exporter',
  type: 'pprof',
  description: 'Writes profiles as gzipped pprof profile.proto files (one per process per window) and serves the latest over HTTP, for go tool pprof',
  configSchema: pprofConfigSchema,
  create: {
    profiles: (settings: CreateSettings, config: PprofConfig) => new PprofExporter(settings, config),
  },
};
