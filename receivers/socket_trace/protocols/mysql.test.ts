import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { COM, mysql } from './mysql.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';

function packet(seq: number, ...parts: (string | number[] | Buffer)[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.isBuffer(p) ? p : Buffer.from(p))));
  const head = Buffer.alloc(4);
  head.writeUIntLE(body.length, 0, 3);
  head[3] = seq;
  return Buffer.concat([head, body]);
}

const greeting = () => packet(0, [0x0a], '11.4.2-MariaDB\0', Buffer.alloc(40, 1));
function handshakeResponse(caps: number, user: string, db?: string): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(caps, 0);
  return packet(1, b, user + '\0', [20], Buffer.alloc(20, 7), db ? db + '\0' : '');
}
const ok = (seq: number, status = 2) => packet(seq, [0, 0, 0, status & 0xff, status >> 8, 0, 0]);
const eof = (seq: number, status = 2) => packet(seq, [0xfe, 0, 0, status & 0xff, status >> 8]);
const okEof = (seq: number, status = 2) => packet(seq, [0xfe, 0, 0, status & 0xff, status >> 8, 0, 0]);
const err = (seq: number, code: number, state: string, message: string) => packet(seq, [0xff, code & 0xff, code >> 8], '#' + state + message);
const columnDef = (seq: number) => packet(seq, [3], 'def', [0, 0, 0, 1], 'c', [0, 0x0c, 0x21, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0]);
const textRow = (seq: number, ...cols: string[]) => packet(seq, ...cols.flatMap((c) => [Buffer.from([c.length]), Buffer.from(c)]));
const query = (text: string) => packet(0, [COM.QUERY], text);

describe('mysql parser', () => {
  it('skips the handshake, learns the database, pairs queries and result sets (EOF and deprecate-EOF)', () => {
    for (const deprecate of [false, true]) {
      const c = connectionFor(mysql);
      c.send('response', greeting());
      c.send('request', handshakeResponse(0x8 | 0x8000 | 0x80000 | (deprecate ? 0x1000000 : 0), 'app', 'shop'));
      c.send('response', ok(2));
      c.send('request', query("SELECT name FROM users WHERE pw = 'secret'"));
      const rows = [columnDef(2), ...(deprecate ? [] : [eof(3)]), textRow(deprecate ? 3 : 4, 'alice'), textRow(deprecate ? 4 : 5, 'bob')];
      c.send('response', Buffer.concat([packet(1, [1]), ...rows, deprecate ? okEof(5) : eof(6)]));
      c.send('request', query('UPDATE t SET a = 1'));
      c.send('response', packet(1, [0, 3, 0, 2, 0, 0, 0]));
      assert.equal(c.exchanges.length, 2, `deprecate ${deprecate}`);
      const d = mysql.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
      assert.equal(d.name, 'SELECT users');
      assert.equal(getAttribute(d.attributes, 'db.system.name'), 'mariadb');
      assert.equal(getAttribute(d.attributes, 'db.namespace'), 'shop');
      assert.equal(getAttribute(d.attributes, 'db.query.text'), 'SELECT name FROM users WHERE pw = ?');
      assert.equal(getAttribute(d.attributes, 'db.response.returned_rows'), 2n);
      assert.equal(c.exchanges[1]!.response!.message.affectedRows, 3);
    }
  });

  it('prepared statements: prepare learns the id, execute runs its text, close gets no answer; errors', () => {
    const c = connectionFor(mysql, { role: 'client' });
    c.send('request', packet(0, [COM.STMT_PREPARE], 'SELECT * FROM t WHERE id = ?'));
    c.send('response', Buffer.concat([packet(1, [0, 7, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]), columnDef(2), eof(3), columnDef(4), eof(5)]));
    c.send('request', packet(0, [COM.STMT_EXECUTE, 7, 0, 0, 0, 0, 1, 0, 0, 0]));
    c.send('response', Buffer.concat([packet(1, [1]), columnDef(2), eof(3), packet(4, [0, 0, 1, 0x78]), eof(5)]));
    c.send('request', packet(0, [COM.STMT_CLOSE, 7, 0, 0, 0]));
    c.send('request', query('SELEC oops'));
    c.send('response', err(1, 1064, '42000', "You have an error near 'oops'"));
    assert.deepEqual(c.exchanges.map((e) => [e.request.message.command, e.response === undefined]), [[COM.STMT_PREPARE, false], [COM.STMT_EXECUTE, false], [COM.STMT_CLOSE, true], [COM.QUERY, false]]);
    const exec = mysql.describe(c.exchanges[1]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(getAttribute(exec.attributes, 'db.query.text'), 'SELECT * FROM t WHERE id = ?');
    assert.equal(getAttribute(exec.attributes, 'db.operation.name'), 'SELECT');
    const bad = mysql.describe(c.exchanges[3]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(bad.error?.type, '1064');
    assert.equal(bad.error?.message, undefined);
  });

  it('mid-connection, multi-result sets, rows skipped by length, lost framing ended by the tail', () => {
    const c = connectionFor(mysql, { capture: 80, tail: 64 });
    c.send('response', Buffer.concat([textRow(5, 'old'), eof(6)])); // answers a query never seen
    c.send('request', query('CALL p()'));
    c.send('response', Buffer.concat([packet(1, [1]), columnDef(2), eof(3), textRow(4, 'a'), eof(5, 2 | 8), packet(6, [0, 0, 0, 2, 0, 0, 0])]));
    c.send('request', query('SELECT * FROM big'));
    c.send('response', Buffer.concat([packet(1, [1]), columnDef(2), eof(3), ...Array.from({ length: 200 }, (_, i) => textRow((4 + i) & 0xff, '0123456789')), eof(204 & 0xff)]));
    c.send('request', packet(0, [COM.PING]));
    c.send('response', ok(1));
    assert.deepEqual(c.exchanges.map((e) => e.request.message.command), [COM.QUERY, COM.QUERY, COM.PING]);
  });

  it('an SSL request stops tracing', () => {
    const c = connectionFor(mysql);
    c.send('response', greeting());
    const b = Buffer.alloc(32);
    b.writeUInt32LE(0x800 | 0x8000, 0);
    c.send('request', packet(1, b));
    assert.equal(c.connection.stopped, true);
  });

  it('never throws on random, mutated and truncated input', () => {
    const rand = randomBytes(5);
    const samples = [greeting(), query('SELECT 1'), Buffer.concat([packet(1, [1]), columnDef(2), eof(3), textRow(4, 'x'), eof(5)]), err(1, 1, 'HY000', 'x')];
    for (let i = 0; i < 3000; i++) {
      const c = connectionFor(mysql, { capture: 1 + (i % 70), tail: i % 2 ? 64 : 0, role: i % 2 ? 'client' : 'server' });
      for (let k = 0; k < 4; k++) {
        const m = Buffer.from(samples[(i + k) % samples.length]!);
        m[(i * 5) % m.length] = rand(1)[0]!;
        c.send(k % 2 ? 'response' : 'request', i % 4 === 0 ? rand(1 + (i % 64)) : k % 3 ? m : m.subarray(0, 1 + (i % m.length)));
      }
      c.close();
    }
  });
});
