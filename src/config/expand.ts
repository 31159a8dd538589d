// ${env:VAR}, ${VAR}, ${env:VAR:-default} and $$ in string values, as the OpenTelemetry
// Collector expands them. A value that is one whole reference takes the type its text has in
// YAML (`${env:PORT}` with PORT=4317 is a number); a reference inside a longer string is text.
import { parse as parseYaml } from 'yaml';
import type { ConfigIssue } from './errors.ts';
import { joinPath } from './errors.ts';

const REFERENCE = /\$\$|\$\{([^}]*)\}/g;
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface ExpandResult {
  value: unknown;
  issues: ConfigIssue[];
  /** Variables referenced without a default that are not set (they expand to ""). */
  unset: string[];
}

export function expandEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): ExpandResult {
  const issues: ConfigIssue[] = [];
  const unset: string[] = [];

  const resolve = (inner: string, path: string): string | undefined => {
    let body = inner;
    if (body.startsWith('env:')) body = body.slice(4);
    else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(body) && !ENV_NAME.test(body.split(':-')[0] ?? '')) {
      issues.push({ path, message: `\${${inner}} uses the scheme "${body.split(':')[0]}"; bpfcol expands only env` });
      return undefined;
    }
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!ENV_NAME.test(name)) {
      issues.push({ path, message: `\${${inner}} is not a valid reference: expected \${env:NAME} or \${env:NAME:-default}` });
      return undefined;
    }
    const set = env[name];
    if (set !== undefined && set !== '') return set;
    if (sep >= 0) return body.slice(sep + 2);
    if (set === undefined) unset.push(name);
    return '';
  };

  const expandString = (text: string, path: string): unknown => {
    const whole = /^\$\{([^}]*)\}$/.exec(text);
    if (whole) {
      const resolved = resolve(whole[1]!, path);
      if (resolved === undefined) return text;
      if (resolved === '') return resolved;
      try {
        const typed: unknown = parseYaml(resolved);
        return typed === null || typeof typed === 'object' ? resolved : typed;
      } catch {
        return resolved;
      }
    }
    return text.replace(REFERENCE, (match, inner: string | undefined) => {
      if (match === '$$') return '$';
      return resolve(inner ?? '', path) ?? match;
    });
  };

  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return expandString(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, joinPath(path, i)));
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, joinPath(path, k));
      return out;
    }
    return node;
  };

  return { value: walk(value, ''), issues, unset };
}
