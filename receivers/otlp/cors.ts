// CORS for browsers sending OTLP/HTTP, with the semantics of the Collector's confighttp (rs/cors
// with credentials allowed): origins may hold one `*` wildcard ("https://*.example.com") or be
// "*"; the CORS-safelisted headers are always allowed; nothing is enabled without origins.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsConfig } from './config.ts';

const ALWAYS_ALLOWED_HEADERS = ['accept', 'accept-language', 'content-language', 'content-type', 'x-requested-with', 'origin'];
const ALLOWED_METHODS = ['GET', 'POST', 'HEAD'];

export interface Cors {
  /**
   * Adds the CORS headers a request earns. Returns true when the request was a preflight and
   * has been answered (204), so the caller must not handle it further.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

function originMatcher(pattern: string): (origin: string) => boolean {
  const p = pattern.toLowerCase();
  if (p === '*') return () => true;
  const star = p.indexOf('*');
  if (star < 0) return (origin) => origin === p;
  const prefix = p.slice(0, star);
  const suffix = p.slice(star + 1);
  return (origin) => origin.length >= prefix.length + suffix.length && origin.startsWith(prefix) && origin.endsWith(suffix);
}

/** The CORS handling for a config, or undefined when CORS is off (no allowed origins). */
export function createCors(config: CorsConfig | undefined): Cors | undefined {
  if (!config || config.allowed_origins.length === 0) return undefined;
  const matchers = config.allowed_origins.map(originMatcher);
  const anyHeader = config.allowed_headers.includes('*');
  const headers = new Set([...ALWAYS_ALLOWED_HEADERS, ...config.allowed_headers.map((h) => h.toLowerCase())]);
  const originAllowed = (origin: string) => matchers.some((m) => m(origin.toLowerCase()));

  return {
    handle(req, res) {
      const origin = req.headers.origin;
      const requestedMethod = req.headers['access-control-request-method'];
      if (req.method === 'OPTIONS' && requestedMethod !== undefined) {
        res.appendHeader('Vary', ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers']);
        const requestedHeaders = (req.headers['access-control-request-headers'] ?? '')
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter((h) => h !== '');
        const allowed =
          origin !== undefined &&
          originAllowed(origin) &&
          ALLOWED_METHODS.includes(requestedMethod.toUpperCase()) &&
          (anyHeader || requestedHeaders.every((h) => headers.has(h)));
        if (allowed) {
          res.setHeader('Access-Control-Allow-Origin', origin);
          res.setHeader('Access-Control-Allow-Methods', requestedMethod.toUpperCase());
          if (requestedHeaders.length > 0) res.setHeader('Access-Control-Allow-Headers', requestedHeaders.join(', '));
          res.setHeader('Access-Control-Allow-Credentials', 'true');
          if (config.max_age > 0) res.setHeader('Access-Control-Max-Age', String(config.max_age));
        }
        res.writeHead(204).end();
        return true;
      }
      res.appendHeader('Vary', 'Origin');
      if (origin !== undefined && originAllowed(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      }
      return false;
    },
  };
}
