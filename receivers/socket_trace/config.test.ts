import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { socketTraceConfigSchema } from './config.ts';
import { isSensitiveHeader, privacyWidenings, redactQuery } from './privacy.ts';
import { analyzeSql } from './protocols/sql.ts';

const errors = (input: unknown) => {
  const r = socketTraceConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('socket_trace config', () => {
  it('has a default for every key: everything traced, privacy by default', () => {
    const c = socketTraceConfigSchema.parse({});
    assert.deepEqual(c.protocols, ['http', 'postgresql', 'mysql', 'redis', 'http2', 'kafka', 'dns']);
    assert.deepEqual(c.dns, { ports: [53] });
    assert.equal(c.capture_bytes, 4096);
    assert.deepEqual(c.filters, { ports: [], pids: [], executables: [] });
    assert.deepEqual(c.spans, { enabled: true, max_queued: 20000, sampling_ratio: 1 });
    assert.deepEqual(c.metrics, { enabled: true, collection_interval: 10_000, max_series: 2000 });
    assert.deepEqual(c.privacy, { http_request_headers: [], http_response_headers: [], url_query: 'none', keep_literals: false });
    assert.equal(c.request_timeout, 120_000);
    assert.deepEqual(c.kernel, { ring_buffer_bytes: 8 << 20, max_connections: 65536, wakeup_bytes: 65536 });
    assert.deepEqual(c.tls, { enabled: true, attach_wait: 3000, rescan_interval: 30_000 });
    assert.deepEqual(privacyWidenings(c.privacy), []);
  });

  it('says what was expected', () => {
    assert.deepEqual(errors({ protocols: ['http', 'grpc'] }), ['protocols.1: expected one of http, postgresql, mysql, redis, http2, kafka, dns']);
    assert.deepEqual(errors({ capture_bytes: 100000 }), ['capture_bytes: expected at most 8192 bytes (the kernel program\'s bound)']);
    assert.deepEqual(errors({ filters: { ports: [0] } }), ['filters.ports.0: expected a port number between 1 and 65535']);
    assert.deepEqual(errors({ filters: { executables: ['/usr/sbin/nginx'] } }), ['filters.executables.0: expected the base name of an executable (nginx), not a path']);
    assert.deepEqual(errors({ filters: { pids: Array.from({ length: 17 }, (_, i) => i + 1) } }), ['filters.pids: at most 16 pids (the kernel filter\'s size)']);
    assert.deepEqual(errors({ kernel: { ring_buffer_bytes: 100000 } }), ['kernel.ring_buffer_bytes: expected a power of two of at least 65536 bytes']);
    assert.deepEqual(errors({ privacy: { url_query: 'some' } }), ['privacy.url_query: expected none, redacted or full']);
    assert.deepEqual(errors({ unknown: 1 }).length, 1);
    assert.deepEqual(errors({ dns: { ports: [] } }), ['dns.ports: expected at least one port (remove dns from protocols to trace no DNS)']);
    assert.deepEqual(errors({ dns: { ports: [53, 70000] } }), ['dns.ports.1: expected a port number between 1 and 65535']);
    assert.deepEqual(socketTraceConfigSchema.parse({ dns: { ports: [53, 5353] } }).dns, { ports: [53, 5353] });
    assert.deepEqual(errors({ spans: { sampling_ratio: 1.5 } }), ['spans.sampling_ratio: expected a number between 0 and 1']);
    assert.deepEqual(errors({ spans: { sampling_ratio: '10%' } }), ['spans.sampling_ratio: expected a number between 0 and 1']);
    assert.equal(socketTraceConfigSchema.parse({ spans: { sampling_ratio: 0.1 } }).spans.sampling_ratio, 0.1);
  });

  it('never lets credentials out, even when listed', () => {
    for (const h of ['Authorization', 'cookie', 'Set-Cookie', 'X-Api-Key', 'x-auth-token', 'Proxy-Authorization', 'X-CSRF-Token']) {
      assert.ok(isSensitiveHeader(h), h);
      assert.match(errors({ privacy: { http_request_headers: [h] } })[0]!, /carries credentials/);
    }
    for (const h of ['content-type', 'x-request-id', 'accept', 'user-agent']) assert.ok(!isSensitiveHeader(h), h);
    const c = socketTraceConfigSchema.parse({ privacy: { http_request_headers: ['X-Request-Id'] } });
    assert.deepEqual(c.privacy.http_request_headers, ['x-request-id']);
  });

  it('widening privacy is never silent', () => {
    const c = socketTraceConfigSchema.parse({ privacy: { http_request_headers: ['x-request-id'], http_response_headers: ['content-type'], url_query: 'full', keep_literals: true } });
    const w = privacyWidenings(c.privacy);
    assert.equal(w.length, 4);
    assert.ok(w.every((x) => x.startsWith('privacy widened')));
  });

  it('redacts query values and SQL literals', () => {
    assert.equal(redactQuery('a=1&token=secret&flag'), 'a=?&token=?&flag');
    assert.equal(analyzeSql("SELECT * FROM t WHERE a = 'x' AND b = 1.5e3 AND c = E'it\\'s' AND d = $$dollar$$", 'postgresql').text, 'SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ?');
    assert.equal(analyzeSql('SELECT "col" FROM t WHERE x = "str" -- note', 'mysql').text, 'SELECT ? FROM t WHERE x = ?');
    assert.equal(analyzeSql("SELECT 'x'", 'postgresql', true).text, "SELECT 'x'");
  });
});
