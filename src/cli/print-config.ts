// Prints the config as bpfcol reads it (files merged, env expanded), with secrets masked so the
// output can be pasted into an issue.
import { stringify } from 'yaml';
import type { Factories } from '../component/component.ts';
import { loadResolvedConfig } from '../collector.ts';

const SECRET_KEY = /(password|passwd|secret|token|api[_-]?key|authorization|credential|private[_-]?key|bearer)/i;
export const MASK = '[REDACTED]';

export function maskSecrets(value: unknown, key = '', underHeaders = false): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key, underHeaders));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskSecrets(v, k, k === 'headers');
    return out;
  }
  if (value === null || value === undefined || value === '') return value;
  return underHeaders || SECRET_KEY.test(key) ? MASK : value;
}

export async function printConfig(configPaths: string[], factories: Factories, out: (line: string) => void): Promise<number> {
  const { raw } = await loadResolvedConfig({ configPaths, factories });
  out(stringify(maskSecrets(raw)).trimEnd());
  return 0;
}
