// Components a user writes as modules: a config entry with a `module` key names a JavaScript or
// TypeScript file exporting a factory with the built-in contract (`export const factory` or a
// default export). Its own settings go under `config`, checked by the factory's schema.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Factory, Kind } from '../component/component.ts';
import { type ConfigIssue, joinPath } from './errors.ts';
import { zodIssues } from './zod-issues.ts';

export const moduleSettingsSchema = z.strictObject({
  /** Path of the module, relative to the first config file's directory. */
  module: z.string({ error: 'expected the path of a module' }).min(1, 'expected the path of a module'),
  /** The module's own settings, checked by the schema its factory exports. */
  config: z.unknown().optional(),
  /** When the module throws: `pass` the data on unchanged (default) or `drop` it; both are counted. */
  on_error: z.enum(['pass', 'drop']).default('pass'),
});
export type ModuleSettings = z.infer<typeof moduleSettingsSchema>;

export interface LoadedModule {
  factory: Factory;
  settings: ModuleSettings;
  path: string;
}

const SECTION_KIND: Record<string, Kind> = { receivers: 'receiver', processors: 'processor', exporters: 'exporter', connectors: 'connector' };

export function isModuleEntry(value: unknown): value is { module: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'module' in value;
}

function looksLikeFactory(value: unknown): value is Factory {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Partial<Factory>;
  return typeof f.type === 'string' && typeof f.kind === 'string' && typeof f.create === 'object' && typeof f.configSchema?.safeParse === 'function';
}

/** Imports every module-backed component of the config; keyed by `section.id`. */
export async function loadModules(raw: Record<string, unknown>, configDir: string, issues: ConfigIssue[]): Promise<Map<string, LoadedModule>> {
  const out = new Map<string, LoadedModule>();
  for (const [section, kind] of Object.entries(SECTION_KIND)) {
    const entries = raw[section];
    if (typeof entries !== 'object' || entries === null) continue;
    for (const [id, value] of Object.entries(entries)) {
      if (!isModuleEntry(value)) continue;
      const path = joinPath(section, id);
      const parsed = moduleSettingsSchema.safeParse(value, { reportInput: true });
      if (!parsed.success) {
        issues.push(...zodIssues(parsed.error, path));
        continue;
      }
      const file = isAbsolute(parsed.data.module) ? parsed.data.module : resolve(configDir, parsed.data.module);
      if (!existsSync(file)) {
        issues.push({ path: joinPath(path, 'module'), message: `no such file: ${file}` });
        continue;
      }
      let exports: Record<string, unknown>;
      try {
        exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (error) {
        issues.push({ path: joinPath(path, 'module'), message: `cannot load ${file}: ${error instanceof Error ? error.message : String(error)}` });
        continue;
      }
      const factory = [exports['factory'], exports['default']].find(looksLikeFactory);
      if (!factory) {
        issues.push({ path: joinPath(path, 'module'), message: `${file} exports no factory: expected \`export const factory\` (or a default export) with type, kind, configSchema and create` });
        continue;
      }
      if (factory.kind !== kind) {
        issues.push({ path: joinPath(path, 'module'), message: `${file} exports a ${factory.kind} factory, but it is configured under ${section}` });
        continue;
      }
      out.set(`${section}.${id}`, { factory, settings: parsed.data, path: file });
    }
  }
  return out;
}
