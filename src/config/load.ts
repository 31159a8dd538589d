// Reads one or more YAML config files into one raw object: later files are merged over earlier
// ones (maps recursively, lists replaced), then environment references are expanded.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { expandEnv } from './expand.ts';

export interface LoadedConfig {
  raw: Record<string, unknown>;
  /** Env variables referenced but not set, to warn about. */
  unsetEnv: string[];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergeConfigs(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isMap(prev) && isMap(v) ? mergeConfigs(prev, v) : v;
  }
  return out;
}

/** Parses YAML text; `source` names it in messages. */
export function parseConfigText(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: `${source}: invalid YAML: ${e.message.split('\n')[0]}` })),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (!isMap(value)) throw new ConfigError([{ path: '', message: `${source}: expected a YAML mapping at the top level` }]);
  return value;
}

export function loadConfigFiles(paths: string[], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  if (paths.length === 0) throw new ConfigError([{ path: '', message: 'no config given: use --config FILE' }]);
  let merged: Record<string, unknown> = {};
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError([{ path: '', message: `cannot read config file ${path}: ${code === 'ENOENT' ? 'no such file' : String(error)}` }]);
    }
    merged = mergeConfigs(merged, parseConfigText(text, path));
  }
  const expanded = expandEnv(merged, env);
  if (expanded.issues.length > 0) throw new ConfigError(expanded.issues);
  return { raw: expanded.value as Record<string, unknown>, unsetEnv: [...new Set(expanded.unset)] };
}

export type { ConfigIssue };
