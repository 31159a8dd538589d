// The file exporter: OTLP JSON lines (or length-prefixed protobuf) in a local file, as the
// Collector's file exporter writes them, with size-based rotation.
import { resolve } from 'node:path';
import type { CreateSettings, ExporterFactory } from '../../src/component/component.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import type { Signal } from '../../src/pdata/signal.ts';
import { type FileConfig, fileConfigSchema, validateFileConfig } from './config.ts';
import { encoderFor } from './encode.ts';
import { FileExporter } from './exporter.ts';
import { FileWriter } from './writer.ts';

/** One writer per file path, whichever signals and exporter ids write there. */
const writers = new SharedComponents<FileWriter>();
/** Who opened each path, and with which settings, to refuse a second, different writer. */
const owners = new Map<string, { id: string; settings: string }>();

function writerSettings(c: FileConfig): string {
  return JSON.stringify({ append: c.append, rotation: c.rotation ?? null, flush_interval: c.flush_interval, format: c.format });
}

function create<S extends Signal>(signal: S) {
  return (settings: CreateSettings, config: FileConfig) => {
    const problems = validateFileConfig(config);
    if (problems.length) throw new Error(`${settings.id.text}: ${problems.join('; ')}`);
    const encode = encoderFor(signal, config.format);
    const path = resolve(settings.configDir, config.path);

    const mine = writerSettings(config);
    const owner = owners.get(path);
    if (owner && owner.settings !== mine) {
      throw new Error(
        `${settings.id.text} and ${owner.id} both write "${path}" with different format, append, rotation or flush_interval`,
      );
    }
    const { component, handle } = writers.getOrCreate(path, () => {
      owners.set(path, { id: settings.id.text, settings: mine });
      return new FileWriter({
        path,
        append: config.append,
        rotation: config.rotation,
        flushIntervalMs: config.flush_interval,
        createDirectory: config.create_directory,
        logger: settings.logger,
      });
    });
    const lifecycle = {
      start: handle.start,
      shutdown: async () => {
        owners.delete(path);
        await handle.shutdown();
      },
    };
    return new FileExporter(signal, encode, component, lifecycle);
  };
}

export const fileFactory: ExporterFactory<FileConfig> = {
  kind: 'exporter',
  type: 'file',
  description: 'Writes OTLP JSON lines (or length-prefixed protobuf) to a file, with rotation by size',
  configSchema: fileConfigSchema,
  validate: validateFileConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
