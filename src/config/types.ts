// Zod building blocks for component configs, so every component says the same thing
// about the same kind of value.
import { z } from 'zod';

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`10s`, `1m30s`, `250ms`) to milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** A duration written as `10s`, `500ms`, `1m30s`; parsed to milliseconds. */
export function duration(defaultValue: string) {
  return z
    .string({ error: 'expected a duration like 10s' })
    .default(defaultValue)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 10s, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });
}

/** A listening or target address `host:port` (host may be empty, a name, IPv4 or [IPv6]). */
export function endpoint(defaultValue?: string) {
  const base = z.string({ error: 'expected host:port' }).regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s/]*):\d{1,5}$/, {
    error: (issue) => `expected host:port, got "${String(issue.input)}"`,
  });
  return defaultValue === undefined ? base : base.default(defaultValue);
}

/** A URL with an http or https scheme. */
export function httpUrl() {
  return z.string({ error: 'expected a URL like http://host:port/path' }).refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected a URL like http://host:port/path');
}

/** Splits `host:port` into its parts (brackets removed from IPv6 hosts). */
export function splitHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(text.slice(colon + 1)) };
}

/** A positive whole number. */
export function positiveInt(defaultValue: number) {
  return z.number({ error: 'expected a whole number' }).int('expected a whole number').positive('expected a number above 0').default(defaultValue);
}

/** A non-negative whole number. */
export function nonNegativeInt(defaultValue: number) {
  return z.number({ error: 'expected a whole number' }).int('expected a whole number').min(0, 'expected 0 or more').default(defaultValue);
}

/** TLS settings shared by clients, as in the Collector's configtls. */
export const clientTlsSchema = z
  .strictObject({
    insecure: z.boolean().default(false),
    insecure_skip_verify: z.boolean().default(false),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    server_name_override: z.string().optional(),
  })
  .default({ insecure: false, insecure_skip_verify: false });
export type ClientTls = z.infer<typeof clientTlsSchema>;

/** TLS settings for servers; absent means plain text. */
export const serverTlsSchema = z
  .strictObject({
    cert_file: z.string(),
    key_file: z.string(),
    ca_file: z.string().optional(),
    client_ca_file: z.string().optional(),
  })
  .optional();
export type ServerTls = z.infer<typeof serverTlsSchema>;
