// socket_trace against a real MariaDB: mariadb-install-db into a temp dir, mariadbd on a free
// port, the mysql command-line client (text queries, an error) and the mysql2 client library
// (prepared statements: the binary protocol). Spans reach a file exporter through bpfcol's CLI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { type MariadbServer, startMariadb } from '../../test/support/mariadb.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: MariaDB with the mysql client and mysql2', { timeout: 600_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let db: MariadbServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-mysql-');
    db = await startMariadb(dir.path, await freePort());
    db.admin("CREATE DATABASE shop; CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-password'; GRANT ALL ON shop.* TO 'app'@'127.0.0.1'; CREATE TABLE shop.orders (id INT PRIMARY KEY, customer TEXT)");
    traced = await startTraced(dir.path, [db.port]);
  });

  after(async () => {
    await traced?.stop();
    await db?.stop();
    dir?.cleanup();
  });

  it('mysql client: the handshake makes no span, queries do on both sides, literals replaced, errors marked', async () => {
    const { startNs, endNs } = await bracket(() =>
      run('mysql', ['--no-defaults', '-h', '127.0.0.1', '-P', String(db.port), '-u', 'app', '-papp-password', '--force', 'shop', '-e', "INSERT INTO orders VALUES (1, 'alice@example.com'); SELECT customer FROM orders WHERE id = 1; SELEC broken"]).catch(
        (e: Error) => ({ stdout: '', stderr: e.message }),
      ),
    );
    const names = ['INSERT orders', 'SELECT orders'];
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && (names.includes(s.span.name) || s.span.status.code === 2), 3);
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && (names.includes(s.span.name) || s.span.status.code === 2), 3);
    for (const side of [server, client]) {
      assert.deepEqual(side.map((s) => s.span.name).slice(0, 2), names);
      for (const { span } of side) {
        assert.equal(attr(span, 'db.system.name'), 'mariadb');
        assert.equal(attr(span, 'db.namespace'), 'shop');
        assert.equal(attr(span, 'server.port'), BigInt(db.port));
        assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
      }
      const broken = side[2]!.span;
      assert.equal(broken.status.code, 2);
      assert.equal(attr(broken, 'error.type'), '1064', 'ER_PARSE_ERROR');
      assert.equal(attr(broken, 'db.response.status_code'), '1064');
    }
    assert.equal(resourceAttr(server[0]!.resource, 'service.name'), 'mariadbd');
    assert.equal(attr(server[0]!.span, 'db.query.text'), 'INSERT INTO orders VALUES (?, ?)');
    assert.equal(attr(client[1]!.span, 'db.query.text'), 'SELECT customer FROM orders WHERE id = ?');
    assert.equal(attr(client[1]!.span, 'db.response.returned_rows'), 1n);
    assert.equal(attr(client[1]!.span, 'db.collection.name'), 'orders');
  });

  it('mysql2 prepared statements: PREPARE, EXECUTE with the statement text, CLOSE without an answer', async () => {
    const since = BigInt(Date.now()) * 1_000_000n;
    const out = await run(process.execPath, [join(import.meta.dirname, 'fixtures/mysql2-client.ts'), String(db.port), 'app', 'app-password', 'shop']);
    const result = JSON.parse(out.stdout) as { rows: number[]; error: string };
    assert.deepEqual(result, { rows: [1, 0], error: '1146' });
    for (const kind of [SERVER, CLIENT]) {
      const spans = await waitForSpans(traced, (s) => s.span.kind === kind && s.span.startTimeUnixNano >= since && attr(s.span, 'db.system.name') === 'mariadb', 7);
      const names = spans.map((s) => s.span.name);
      assert.deepEqual(names, ['INSERT orders', 'PREPARE SELECT orders', 'SELECT orders', 'SELECT orders', 'CLOSE_STMT', 'SELECT missing_table', 'QUIT'], `${kind === SERVER ? 'server' : 'client'} spans`);
      const [, prepare, exec1, exec2, close, missing] = spans.map((s) => s.span);
      assert.equal(attr(prepare!, 'db.operation.name'), 'PREPARE');
      for (const e of [exec1!, exec2!]) {
        assert.equal(attr(e, 'db.query.text'), 'SELECT customer FROM orders WHERE id = ?');
        assert.equal(attr(e, 'db.operation.name'), 'SELECT');
      }
      assert.equal(attr(exec1!, 'db.response.returned_rows'), 1n);
      assert.equal(close!.endTimeUnixNano - close!.startTimeUnixNano < 1_000_000_000n, true);
      assert.equal(attr(missing!, 'error.type'), '1146');
    }
    const text = JSON.stringify(traced.spans(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    assert.ok(!text.includes('carol@example.com') && !text.includes('app-password'), 'no literal or password leaves');
    const self = await traced.selfMetrics();
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total', { protocol: 'mysql' }), 0);
  });
});
