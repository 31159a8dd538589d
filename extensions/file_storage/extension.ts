// The file_storage extension: hands each component that asks (the persistent sending queue) a
// storage client of its own, a subdirectory of `directory` named as the Collector names its
// files: <kind>_<type>_<name>_<what>, e.g. exporter_otlp__traces.
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CreateSettings, Host } from '../../src/component/component.ts';
import type { ClientOwner, StorageClient, StorageExtension } from '../../src/exporterhelper/storage.ts';
import { FileClient } from './client.ts';
import type { FileStorageConfig } from './config.ts';

function part(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '_');
}

export function clientDirectoryName(owner: ClientOwner): string {
  const slash = owner.id.indexOf('/');
  const type = slash < 0 ? owner.id : owner.id.slice(0, slash);
  const name = slash < 0 ? '' : owner.id.slice(slash + 1);
  return [owner.kind, part(type), part(name), part(owner.name)].join('_');
}

export class FileStorage implements StorageExtension {
  private readonly settings: CreateSettings;
  private readonly config: FileStorageConfig;
  readonly directory: string;
  private readonly clients = new Set<StorageClient>();
  private started = false;

  constructor(settings: CreateSettings, config: FileStorageConfig) {
    this.settings = settings;
    this.config = config;
    this.directory = resolve(settings.configDir, config.directory);
  }

  async start(_host: Host): Promise<void> {
    if (this.started) return;
    const info = await stat(this.directory).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
    if (info === undefined) {
      if (!this.config.create_directory) {
        throw new Error(`directory ${this.directory} does not exist: create it, or set create_directory: true`);
      }
      await mkdir(this.directory, { recursive: true, mode: parseInt(this.config.directory_permissions, 8) });
    } else if (!info.isDirectory()) {
      throw new Error(`directory ${this.directory} is not a directory`);
    }
    this.started = true;
  }

  async getClient(owner: ClientOwner): Promise<StorageClient> {
    if (!this.started) throw new Error(`${this.settings.id.text} is not started`);
    const client = await FileClient.open(join(this.directory, clientDirectoryName(owner)), {
      fsync: this.config.fsync,
      timeoutMs: this.config.timeout,
      logger: this.settings.logger,
    });
    this.clients.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      this.clients.delete(client);
      await close();
    };
    return client;
  }

  async shutdown(): Promise<void> {
    this.started = false;
    await Promise.all([...this.clients].map((c) => c.close()));
  }
}
