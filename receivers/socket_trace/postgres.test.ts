// socket_trace against a real PostgreSQL: a cluster made with initdb in a temp dir and started
// with pg_ctl on a free port, psql (simple queries, an error) and pgbench in its three query
// modes (simple, extended, prepared). The postmaster accepts each connection and a forked
// backend serves it: the kernel side must follow the socket into the child.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { freePort } from '../../test/support/ports.ts';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../test/support/postgres.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: PostgreSQL with psql and pgbench', { timeout: 600_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let pg: PostgresServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-pg-');
    pg = startPostgres(await freePort());
    traced = await startTraced(dir.path, [pg.port]);
  });

  after(async () => {
    await traced?.stop();
    pg?.stop();
    dir?.cleanup();
  });

  const psql = (...commands: string[]) =>
    run('psql', ['-X', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=0', ...commands.flatMap((c) => ['-c', c])]).catch((e: Error) => ({ stdout: '', stderr: e.message }));

  it('psql: SERVER spans in the forked backend, CLIENT spans in psql, literals replaced, errors marked', async () => {
    const { startNs, endNs } = await bracket(() =>
      psql(
        'CREATE TABLE users (id int, email text)',
        "INSERT INTO users VALUES (1, 'alice@example.com'), (2, 'bob@example.com')",
        "SELECT email FROM users WHERE email LIKE '%example%'",
        'SELECT 1/0',
      ),
    );
    const names = ['CREATE users', 'INSERT users', 'SELECT users', 'SELECT'];
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && names.includes(s.span.name), 4);
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && names.includes(s.span.name) && resourceAttr(s.resource, 'service.name') === 'psql', 4);
    for (const side of [server, client]) {
      assert.deepEqual(side.map((s) => s.span.name), names);
      for (const { span } of side) {
        assert.equal(attr(span, 'db.system.name'), 'postgresql');
        assert.equal(attr(span, 'db.namespace'), 'postgres');
        assert.equal(attr(span, 'server.port'), BigInt(pg.port));
        assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
      }
    }
    for (const { resource } of server) assert.equal(resourceAttr(resource, 'service.name'), 'postgres');
    const insert = server[1]!.span;
    assert.equal(attr(insert, 'db.query.text'), 'INSERT INTO users VALUES (?, ?), (?, ?)');
    assert.equal(attr(insert, 'db.operation.name'), 'INSERT');
    assert.equal(attr(insert, 'db.collection.name'), 'users');
    const select = client[2]!.span;
    assert.equal(attr(select, 'db.query.text'), 'SELECT email FROM users WHERE email LIKE ?');
    assert.equal(attr(select, 'db.response.returned_rows'), 2n);
    const failed = server[3]!.span;
    assert.equal(failed.status.code, 2);
    assert.equal(attr(failed, 'error.type'), '22012', 'division_by_zero');
    assert.equal(attr(failed, 'db.response.status_code'), '22012');
    const text = JSON.stringify(traced.spans(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    assert.ok(!text.includes('alice@example.com') && !text.includes('%example%'), 'no literal leaves');
  });

  it('pgbench in simple, extended and prepared modes: one span per statement on each side', async () => {
    const pgbench = join(postgresBinDir(), 'pgbench');
    const conn = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres'];
    await run(pgbench, ['-i', '-s', '1', '-q', ...conn, 'postgres']);
    // pgbench -i COPYs 100,000 rows: megabytes of payload, which may fill the ring (counted); the
    // runs below must lose nothing. Counts reach bpfcol's metrics every 5 s.
    await new Promise((r) => setTimeout(r, 6000));
    const lostBefore = counterValue(await traced.selfMetrics(), 'bpfcol_receiver_socket_trace_kernel_lost_total');
    for (const mode of ['simple', 'extended', 'prepared']) {
      const since = BigInt(Date.now()) * 1_000_000n;
      const out = await run(pgbench, ['-M', mode, '-c', '2', '-t', '20', '-n', ...conn, 'postgres']);
      assert.match(out.stdout, /number of transactions actually processed: 40\/40/);
      const statements = ['UPDATE pgbench_accounts', 'SELECT pgbench_accounts', 'UPDATE pgbench_tellers', 'UPDATE pgbench_branches', 'INSERT pgbench_history'];
      for (const kind of [SERVER, CLIENT]) {
        const spans = await waitForSpans(traced, (s) => s.span.kind === kind && s.span.startTimeUnixNano >= since && statements.includes(s.span.name), 200, 60_000);
        for (const name of statements) assert.equal(spans.filter((s) => s.span.name === name).length, 40, `${mode} ${kind === SERVER ? 'server' : 'client'} ${name}`);
        const update = spans.find((s) => s.span.name === 'UPDATE pgbench_accounts')!.span;
        // pgbench's script: literals in simple mode, $n parameters otherwise
        assert.equal(attr(update, 'db.query.text'), mode === 'simple' ? 'UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?;' : 'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;');
        for (const { span } of spans) assert.equal(span.status.code, 0);
        const begins = traced.spans().filter((s) => s.span.kind === kind && s.span.startTimeUnixNano >= since && ['BEGIN', 'COMMIT'].includes(s.span.name));
        assert.equal(begins.length, 80, `${mode}: BEGIN and END of each transaction`);
      }
    }
    await new Promise((r) => setTimeout(r, 6000));
    const self = await traced.selfMetrics();
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total') - lostBefore, 0, self.split('\n').filter((l) => l.includes('socket_trace')).join('\n'));
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total', { protocol: 'postgresql' }), 0);
  });
});

describe('socket_trace: PostgreSQL over a Unix socket', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let pg: PostgresServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-pg-unix-');
    pg = startPostgres(await freePort());
    // Unix sockets have no port: select the processes instead
    traced = await startTraced(dir.path, [], 'filters: { ports: [], executables: [psql, postgres] }');
  });

  after(async () => {
    await traced?.stop();
    pg?.stop();
    dir?.cleanup();
  });

  it('psql through the socket file: spans with the socket path as server.address, network.transport unix', async () => {
    await run('psql', ['-X', '-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres', '-c', 'SELECT 42 AS answer']);
    const path = `${pg.socketDir}/.s.PGSQL.${pg.port}`;
    const spans = await waitForSpans(traced, (s) => attr(s.span, 'server.address') === path && s.span.name === 'SELECT', 2).catch((e: Error) => {
      // (listing what came, to tell a missing side from a mislabelled one)
      console.log(JSON.stringify(traced.spans().map((s) => [s.span.kind, s.span.name, s.span.attributes.map((a) => a.key + '=' + JSON.stringify(a.value, (_k, v) => (typeof v === 'bigint' ? String(v) : v)))])));
      throw e;
    });
    assert.deepEqual(spans.map((s) => s.span.kind).sort(), [2, 3]);
    for (const { span } of spans) {
      assert.equal(attr(span, 'network.transport'), 'unix');
      assert.equal(attr(span, 'server.port'), undefined);
      assert.equal(attr(span, 'db.query.text'), 'SELECT ? AS answer');
    }
  });
});
