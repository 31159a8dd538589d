import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { redis } from './redis.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';

const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

describe('redis parser', () => {
  it('pairs commands and replies of every type, pipelined, split and coalesced', () => {
    const c = connectionFor(redis);
    const requests = cmd('SET', 'k', 'secret-value') + cmd('GET', 'k') + cmd('HGETALL', 'h') + cmd('INCR', 'n') + cmd('CLIENT', 'SETNAME', 'x') + 'PING\r\n';
    for (let i = 0; i < requests.length; i += 5) c.send('request', requests.slice(i, i + 5));
    c.send('response', '+OK\r\n$12\r\nsecret-value\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n:1\r\n+OK\r\n');
    c.send('response', '+PONG\r\n');
    assert.deepEqual(c.exchanges.map((e) => e.request.message.name), ['SET', 'GET', 'HGETALL', 'INCR', 'CLIENT SETNAME', 'PING']);
    assert.equal(c.stats.garbage, 0);
    const d = redis.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(d.name, 'SET');
    assert.equal(getAttribute(d.attributes, 'db.query.text'), 'SET ? ?');
    assert.equal(getAttribute(d.attributes, 'db.system.name'), 'redis');
    assert.equal(getAttribute(d.attributes, 'db.namespace'), '0');
  });

  it('errors, SELECT, RESP3 pushes and attributes, nulls', () => {
    const c = connectionFor(redis, { role: 'client' });
    c.send('request', cmd('SELECT', '2') + cmd('LPUSH', 'k', 'v') + cmd('GET', 'none'));
    c.send('response', '+OK\r\n>2\r\n$7\r\nmessage\r\n$1\r\nx\r\n-WRONGTYPE Operation against a key\r\n|1\r\n+a\r\n+b\r\n$-1\r\n');
    assert.equal(c.exchanges.length, 3);
    const d = redis.describe(c.exchanges[1]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(d.error?.type, 'WRONGTYPE');
    assert.equal(getAttribute(d.attributes, 'db.namespace'), '2');
    assert.equal(d.metric?.name, 'db.client.operation.duration');
  });

  it('skips big values it did not capture, and resyncs a reply whose framing was lost', () => {
    const c = connectionFor(redis, { capture: 32 });
    c.send('request', cmd('SET', 'big', 'v'.repeat(5000)));
    c.send('response', '+OK\r\n');
    c.send('request', cmd('GET', 'big'));
    c.send('response', `$5000\r\n${'v'.repeat(5000)}\r\n`);
    c.send('request', cmd('LRANGE', 'l', '0', '-1'));
    c.send('response', `*100\r\n${Array.from({ length: 100 }, () => '$10\r\n0123456789\r\n').join('')}`);
    c.send('request', cmd('PING'));
    c.send('response', '+PONG\r\n');
    assert.deepEqual(c.exchanges.map((e) => e.request.message.name), ['SET', 'GET', 'LRANGE', 'PING']);
  });

  it('stops at SUBSCRIBE', () => {
    const c = connectionFor(redis);
    c.send('request', cmd('SUBSCRIBE', 'ch'));
    c.send('response', '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n');
    assert.equal(c.exchanges.length, 1);
    assert.equal(c.connection.stopped, true);
  });

  it('never throws on random, mutated and truncated input', () => {
    const rand = randomBytes(7);
    const samples = [cmd('SET', 'a', 'b'), '*2\r\n$3\r\nfoo\r\n:12\r\n', '%2\r\n+a\r\n:1\r\n+b\r\n*-1\r\n', '$-1\r\n-ERR x\r\n'];
    for (let i = 0; i < 3000; i++) {
      const c = connectionFor(redis, { capture: 1 + (i % 50), role: i % 2 ? 'client' : 'server' });
      for (let k = 0; k < 4; k++) {
        const base = Buffer.from(samples[(i + k) % samples.length]!, 'latin1');
        const m = Buffer.from(base);
        m[(i * 13) % m.length] = rand(1)[0]!;
        c.send(k % 2 ? 'response' : 'request', i % 4 === 0 ? rand(1 + (i % 64)) : k % 2 ? m : m.subarray(0, 1 + (i % m.length)));
      }
      c.close();
    }
  });
});
