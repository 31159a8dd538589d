// The file_storage extension: local directories where components keep what must survive a
// restart (the exporters' persistent sending queues), as the Collector's file_storage.
import type { ExtensionFactory } from '../../src/component/component.ts';
import { type FileStorageConfig, fileStorageConfigSchema } from './config.ts';
import { FileStorage } from './extension.ts';

export const fileStorageFactory: ExtensionFactory<FileStorageConfig> = {
  kind: 'extension',
  type: 'file_storage',
  description: 'Keeps data that must survive a restart (persistent sending queues) in a local directory, as the Collector\'s file_storage',
  configSchema: fileStorageConfigSchema,
  validate: (config) => (config.timeout <= 0 ? ['timeout must be greater than zero: expected a duration like 1s'] : []),
  create: (settings, config) => new FileStorage(settings, config),
};
