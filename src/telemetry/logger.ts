// Structured logs: one JSON object per line, or a console format for people. Levels as in the Collector.

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (the component id, say). */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: Level;
  encoding: 'json' | 'console';
  write?: (line: string) => void;
}

function render(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const min = LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: Level, message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < min) return;
    const all = { ...base, ...fields };
    const ts = new Date().toISOString();
    if (options.encoding === 'json') {
      write(JSON.stringify({ ts, level, msg: message, ...all }, (_k, v: unknown) => render(v)));
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof render(v) === 'string' ? render(v) : JSON.stringify(render(v))}`)
        .join(' ');
      write(`${ts}\t${level}\t${message}${extra ? '\t' + extra : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything, for tests and tools. */
export const nopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return nopLogger;
  },
};
