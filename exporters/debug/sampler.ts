// Log sampling as zap's sampler does it for the Collector's debug exporter: per one-second tick
// and per (level, message), the first `initial` messages pass, then every `thereafter`th.
import type { Level, LogFields, Logger } from '../../src/telemetry/logger.ts';

export function samplingLogger(
  logger: Logger,
  initial: number,
  thereafter: number,
  now: () => number = Date.now,
): Logger {
  let tick = -1;
  const counts = new Map<string, number>();
  const allow = (level: Level, message: string): boolean => {
    const t = Math.floor(now() / 1000);
    if (t !== tick) {
      tick = t;
      counts.clear();
    }
    const key = level + '\0' + message;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n <= initial || (n - initial) % thereafter === 0;
  };
  const at =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      if (allow(level, message)) logger[level](message, fields);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    with: (fields) => samplingLogger(logger.with(fields), initial, thereafter, now),
  };
}
