import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { http1, parseTraceparent } from './http1.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';

const GET = 'GET /users/42?token=secret HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nAuthorization: Bearer abc\r\n\r\n';
const OK = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nSet-Cookie: s=1\r\n\r\n${body}`;

describe('http1 parser', () => {
  it('pairs a request and its response, with semconv attributes and no credentials', () => {
    const c = connectionFor(http1);
    c.send('request', GET);
    c.send('response', OK('hello'));
    assert.equal(c.exchanges.length, 1);
    const e = c.exchanges[0]!;
    assert.equal(e.request.message.method, 'GET');
    assert.equal(e.response!.message.status, 200);
    const d = http1.describe(e, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(d.name, 'GET');
    assert.equal(getAttribute(d.attributes, 'url.path'), '/users/42');
    assert.equal(getAttribute(d.attributes, 'url.query'), undefined);
    assert.equal(getAttribute(d.attributes, 'server.address'), 'example.com');
    assert.equal(getAttribute(d.attributes, 'server.port'), 8080n);
    assert.equal(getAttribute(d.attributes, 'http.response.status_code'), 200n);
    assert.equal(getAttribute(d.attributes, 'user_agent.original'), 'curl/8');
    assert.equal(d.metric?.name, 'http.server.request.duration');
    assert.ok(!JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('abc'));
    assert.ok(!JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('secret'));
  });

  it('handles requests split over several syscalls, several per syscall, and pipelining', () => {
    const c = connectionFor(http1);
    const raw = GET + 'POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello' + 'HEAD /h HTTP/1.1\r\n\r\n';
    for (let i = 0; i < raw.length; i += 7) c.send('request', raw.slice(i, i + 7));
    c.send('response', OK('a') + 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
    assert.deepEqual(c.exchanges.map((e) => [e.request.message.method, e.response?.message.status]), [['GET', 200], ['POST', 201], ['HEAD', 200]]);
    assert.equal(c.stats.garbage, 0);
  });

  it('skips bodies it did not capture by their length, and finds chunked ends in tails', () => {
    const c = connectionFor(http1, { capture: 64, tail: 16 });
    c.send('request', GET);
    c.send('response', OK('x'.repeat(10_000)));
    c.send('request', GET);
    const chunks = Array.from({ length: 50 }, () => '40\r\n' + 'y'.repeat(64) + '\r\n').join('');
    c.send('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + chunks + '0\r\n\r\n');
    c.send('request', GET);
    c.send('response', OK('z'));
    assert.equal(c.exchanges.length, 3);
    assert.equal(c.stats.garbage, 0);
  });

  it('1xx interim responses, 204 and 304 without bodies, HTTP/1.0 bodies read until close', () => {
    const c = connectionFor(http1);
    c.send('request', 'PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
    c.send('response', 'HTTP/1.1 100 Continue\r\n\r\n');
    c.send('request', 'ab');
    c.send('response', 'HTTP/1.1 204 No Content\r\n\r\n');
    c.send('request', 'GET /b HTTP/1.0\r\n\r\n');
    c.send('response', 'HTTP/1.0 200 OK\r\n\r\nbody until close...');
    c.send('response', 'more');
    assert.equal(c.exchanges.length, 1);
    c.close();
    assert.deepEqual(c.exchanges.map((e) => e.response?.message.status), [204, 200]);
  });

  it('client spans carry url.full and 4xx errors; traceparent joins the trace', () => {
    const c = connectionFor(http1, { role: 'client' });
    c.send('request', 'GET /missing HTTP/1.1\r\nHost: api:9000\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n');
    c.send('response', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    const d = http1.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(getAttribute(d.attributes, 'url.full'), 'http://api:9000/missing');
    assert.equal(d.error?.type, '404');
    assert.equal(d.traceContext?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(d.traceContext?.spanId, 'b7ad6b7169203331');
    assert.equal(d.metric?.name, 'http.client.request.duration');
  });

  it('records allow-listed headers, never credentials even when listed; redacts the query', () => {
    const privacy = { ...DEFAULT_PRIVACY, requestHeaders: new Set(['x-request-id', 'authorization']), urlQuery: 'redacted' as const };
    const c = connectionFor(http1, { privacy });
    c.send('request', 'GET /q?a=1&token=s3cr3t HTTP/1.1\r\nX-Request-Id: r1\r\nAuthorization: Basic c2VjcmV0\r\n\r\n');
    c.send('response', OK(''));
    const d = http1.describe(c.exchanges[0]!, c.connection.info, privacy);
    assert.deepEqual(getAttribute(d.attributes, 'http.request.header.x-request-id'), ['r1']);
    assert.equal(getAttribute(d.attributes, 'http.request.header.authorization'), undefined);
    assert.equal(getAttribute(d.attributes, 'url.query'), 'a=?&token=?');
  });

  it('resynchronises after garbage and after lost records, and stops at an upgrade', () => {
    const c = connectionFor(http1);
    c.send('request', '\x00\x01garbage\r\n\r\n');
    c.send('request', GET);
    c.send('response', OK('a'));
    c.lose('request', 500);
    c.send('request', GET);
    c.send('response', OK('b'));
    assert.equal(c.exchanges.length, 2);
    assert.ok(c.stats.garbage >= 1);
    assert.equal(c.stats.gaps, 1);
    c.send('request', 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n');
    c.send('response', 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
    assert.equal(c.connection.stopped, true);
  });

  it('parses traceparent strictly', () => {
    assert.equal(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined);
    assert.equal(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra'), undefined);
    assert.equal(parseTraceparent('zz'), undefined);
    assert.equal(parseTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra')?.flags, 1);
  });

  it('never throws on random, mutated and truncated input', () => {
    const rand = randomBytes(42);
    const samples = [GET, OK('hello'), 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'];
    for (let i = 0; i < 3000; i++) {
      const c = connectionFor(http1, { capture: 1 + (i % 80), tail: i % 3 === 0 ? 16 : 0, role: i % 2 ? 'client' : 'server' });
      for (let k = 0; k < 4; k++) {
        const base = Buffer.from(samples[(i + k) % samples.length]!, 'latin1');
        const noise = rand(1 + (i % 40));
        const mutated = Buffer.from(base);
        if (k % 2) mutated[(i * 7) % mutated.length] = noise[0]!;
        const payload = i % 5 === 0 ? noise : k % 3 === 0 ? mutated.subarray(0, (i % mutated.length) + 1) : mutated;
        c.send(k % 2 ? 'response' : 'request', payload);
      }
      c.close();
    }
  });
});
