// What never leaves bpfcol, whatever the config says: credentials in headers. What leaves only
// when the config widens it (with a warning at start): other headers, url.query, SQL literals.

/** Headers whose values are credentials: never recorded, even when listed. */
const SENSITIVE_EXACT = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'cookie2',
  'set-cookie2',
  'www-authenticate',
  'proxy-authenticate',
]);

/** Names that look like they carry keys, tokens or passwords (x-api-key, x-auth-token, x-csrf-token...). */
const SENSITIVE_PATTERN = /api[-_]?key|token|secret|passw|credential|session|auth|signature|jwt|bearer|csrf|xsrf/i;

export function isSensitiveHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SENSITIVE_EXACT.has(n) || SENSITIVE_PATTERN.test(n);
}

/** Query string with every value replaced by '?': `a=?&b=?`. */
export function redactQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? part : `${part.slice(0, eq)}=?`;
    })
    .join('&');
}

/** What a config lets out beyond the defaults, one sentence each (logged as warnings at start). */
export function privacyWidenings(p: { http_request_headers: string[]; http_response_headers: string[]; url_query: string; keep_literals: boolean }): string[] {
  const out: string[] = [];
  if (p.http_request_headers.length) out.push(`privacy widened: request header values are recorded (${p.http_request_headers.join(', ')})`);
  if (p.http_response_headers.length) out.push(`privacy widened: response header values are recorded (${p.http_response_headers.join(', ')})`);
  if (p.url_query === 'redacted') out.push('privacy widened: url.query is recorded, parameter names only (values replaced by ?)');
  if (p.url_query === 'full') out.push('privacy widened: url.query is recorded as sent, values included');
  if (p.keep_literals) out.push('privacy widened: SQL literals, Redis arguments and database error messages are recorded as sent');
  return out;
}
