import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { postgres } from './postgres.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';

/** A typed message: type byte, int32 length (itself included), body. */
export function msg(type: string, ...parts: (string | Buffer | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p + '\0') : Buffer.isBuffer(p) ? p : Buffer.from(p))));
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.writeUInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

const ready = (s = 'I') => msg('Z', Buffer.from(s));
const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const row = (...cols: string[]) => msg('D', int16(cols.length), ...cols.map((c) => Buffer.concat([Buffer.from([0, 0, 0, c.length]), Buffer.from(c)])));
const error = (code: string, message: string) => msg('E', Buffer.from(`SERROR\0C${code}\0M${message}\0\0`));

describe('postgres parser', () => {
  it('skips the startup and auth exchange, then pairs simple queries with literals replaced', () => {
    const c = connectionFor(postgres);
    c.send('request', startup({ user: 'app', database: 'shop' }));
    c.send('response', Buffer.concat([msg('R', [0, 0, 0, 3])]));
    c.send('request', msg('p', 'hunter2'));
    c.send('response', Buffer.concat([msg('R', [0, 0, 0, 0]), msg('S', 'server_version', '16'), msg('K', [0, 0, 0, 1, 0, 0, 0, 2]), ready()]));
    c.send('request', msg('Q', "SELECT name FROM users WHERE email = 'a@b.c'"));
    c.send('response', Buffer.concat([msg('T', int16(1)), row('alice'), row('bob'), msg('C', 'SELECT 2'), ready()]));
    assert.equal(c.exchanges.length, 1);
    const d = postgres.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(d.name, 'SELECT users');
    assert.equal(getAttribute(d.attributes, 'db.query.text'), 'SELECT name FROM users WHERE email = ?');
    assert.equal(getAttribute(d.attributes, 'db.namespace'), 'shop');
    assert.equal(getAttribute(d.attributes, 'db.collection.name'), 'users');
    assert.equal(getAttribute(d.attributes, 'db.response.returned_rows'), 2n);
    assert.ok(!JSON.stringify(c.exchanges, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('hunter2'));
    assert.equal(c.stats.unmatched, 0);
  });

  it('extended protocol: one request per Sync, prepared statements reused by name, errors', () => {
    const c = connectionFor(postgres, { role: 'client' });
    c.send('request', Buffer.concat([msg('P', 's1', 'SELECT * FROM t WHERE id = $1', int16(0)), msg('B', '', 's1', int16(0), int16(0), int16(0)), msg('D', Buffer.from('P\0')), msg('E', '', [0, 0, 0, 0]), msg('S')]));
    c.send('response', Buffer.concat([msg('1'), msg('2'), msg('T', int16(0)), row('x'), msg('C', 'SELECT 1'), ready()]));
    c.send('request', Buffer.concat([msg('B', '', 's1', int16(0), int16(0), int16(0)), msg('E', '', [0, 0, 0, 0]), msg('S')]));
    c.send('response', Buffer.concat([msg('2'), error('22P02', 'invalid input syntax for type integer: "secret"'), ready('E')]));
    assert.equal(c.exchanges.length, 2);
    const second = postgres.describe(c.exchanges[1]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(getAttribute(second.attributes, 'db.query.text'), 'SELECT * FROM t WHERE id = $1');
    assert.equal(second.error?.type, '22P02');
    assert.equal(second.error?.message, undefined);
    assert.equal(getAttribute(second.attributes, 'db.response.status_code'), '22P02');
    assert.equal(second.metric?.name, 'db.client.operation.duration');
  });

  it('big results skipped by length; a response cut where framing is lost ends at ReadyForQuery in the tail', () => {
    const c = connectionFor(postgres, { capture: 100, tail: 64 });
    c.send('request', msg('Q', 'SELECT * FROM big'));
    c.send('response', Buffer.concat([msg('T', int16(1)), ...Array.from({ length: 500 }, () => row('0123456789abcdef')), msg('C', 'SELECT 500'), ready()]));
    c.send('request', msg('Q', 'SELECT 1'));
    c.send('response', Buffer.concat([row('1'), msg('C', 'SELECT 1'), ready()]));
    assert.equal(c.exchanges.length, 2);
    assert.equal(c.stats.garbage, 0);
  });

  it('mid-connection: a response to an unseen query is dropped, not paired', () => {
    const c = connectionFor(postgres);
    c.send('response', Buffer.concat([row('old'), msg('C', 'SELECT 1'), ready()]));
    c.send('request', msg('Q', 'SELECT 2'));
    c.send('response', Buffer.concat([row('2'), msg('C', 'SELECT 1'), ready()]));
    assert.equal(c.exchanges.length, 1);
    assert.equal(c.exchanges[0]!.response!.message.tag, 'SELECT 1');
  });

  it('SSL accepted stops tracing; refused continues', () => {
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const a = connectionFor(postgres);
    a.send('request', ssl);
    a.send('response', 'S');
    assert.equal(a.connection.stopped, true);
    const b = connectionFor(postgres);
    b.send('request', ssl);
    b.send('response', 'N');
    b.send('request', startup({ user: 'u' }));
    b.send('response', Buffer.concat([msg('R', [0, 0, 0, 0]), ready()]));
    b.send('request', msg('Q', 'SELECT 1'));
    b.send('response', Buffer.concat([msg('C', 'SELECT 1'), ready()]));
    assert.equal(b.connection.stopped, false);
    assert.equal(b.exchanges.length, 1);
  });

  it('never throws on random, mutated and truncated input', () => {
    const rand = randomBytes(11);
    const samples = [msg('Q', 'SELECT 1'), Buffer.concat([row('a'), msg('C', 'SELECT 1'), ready()]), startup({ user: 'x' }), Buffer.concat([msg('P', '', 'SELECT $1', int16(0)), msg('S')])];
    for (let i = 0; i < 3000; i++) {
      const c = connectionFor(postgres, { capture: 1 + (i % 60), tail: i % 2 ? 64 : 0, role: i % 2 ? 'client' : 'server' });
      for (let k = 0; k < 4; k++) {
        const m = Buffer.from(samples[(i + k) % samples.length]!);
        m[(i * 3) % m.length] = rand(1)[0]!;
        c.send(k % 2 ? 'response' : 'request', i % 4 === 0 ? rand(1 + (i % 64)) : k % 3 ? m : m.subarray(0, 1 + (i % m.length)));
      }
      c.close();
    }
  });
});
