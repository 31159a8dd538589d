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
