// Config problems, each naming the path at fault: `exporters.otlp/jaeger.endpoint: expected host:port`.

export interface ConfigIssue {
  /** Dotted path with [i] for list items, e.g. `service.pipelines.traces.receivers[0]`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Appends a key or index to a path the way the messages print it. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}
