// Turns zod's issues into config issues that name the full path and say what was expected.
import type { z } from 'zod';
import { type ConfigIssue, joinPath } from './errors.ts';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

function message(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return `is required (expected ${issue.expected})`;
      // A custom message from the schema wins over the generic one.
      if (!issue.message.startsWith('Invalid input')) return `${issue.message}, got ${describe(issue.input)}`;
      return `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected}, got ${describe(issue.input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`;
    default:
      return issue.message;
  }
}

export function zodIssues(error: z.ZodError, basePath: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    let path = basePath;
    for (const key of issue.path) path = joinPath(path, typeof key === 'number' ? key : String(key));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath(path, key), message: 'unknown key' });
      continue;
    }
    out.push({ path, message: message(issue) });
  }
  return out;
}
