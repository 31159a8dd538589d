// socket_trace against a real Redis: redis-server with redis-cli (one command per connection, an
// error reply) and redis-benchmark (pipelines of 16 commands per write). Spans reach a file
// exporter through bpfcol's CLI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../test/support/cli.ts';
import { freePort } from '../../test/support/ports.ts';
import { type RedisServer, startRedis } from '../../test/support/redis.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: Redis with redis-cli and redis-benchmark', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let redis: RedisServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-redis-');
    redis = await startRedis(dir.path, await freePort());
    traced = await startTraced(dir.path, [redis.port]);
  });

  after(async () => {
    await traced?.stop();
    await redis?.stop();
    dir?.cleanup();
  });

  const cli = (...args: string[]) => run('redis-cli', ['-p', String(redis.port), ...args]);

  it('redis-cli: one span per command on each side, arguments replaced, errors marked', async () => {
    const { startNs, endNs } = await bracket(async () => {
      await cli('SET', 'user:1:token', 'super-secret-token');
      await cli('GET', 'user:1:token');
      await cli('INCR', 'user:1:token');
      await cli('SELECT', '3');
    });
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'db.system.name') === 'redis' && ['SET', 'GET', 'INCR', 'SELECT'].includes(s.span.name), 4);
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && attr(s.span, 'db.system.name') === 'redis' && ['SET', 'GET', 'INCR', 'SELECT'].includes(s.span.name), 4);
    assert.deepEqual(server.map((s) => s.span.name).sort(), ['GET', 'INCR', 'SELECT', 'SET']);
    assert.deepEqual(client.map((s) => s.span.name).sort(), ['GET', 'INCR', 'SELECT', 'SET']);
    for (const { span, resource } of server) {
      assert.equal(resourceAttr(resource, 'service.name'), 'redis-server', 'the name it was started as (a symlink to redis-check-rdb)');
      assert.equal(attr(span, 'db.operation.name'), span.name);
      assert.equal(attr(span, 'server.port'), BigInt(redis.port));
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
    }
    for (const { resource } of client) assert.equal(resourceAttr(resource, 'service.name'), 'redis-cli');
    const set = client.find((s) => s.span.name === 'SET')!.span;
    assert.equal(attr(set, 'db.query.text'), 'SET ? ?');
    assert.equal(attr(set, 'db.namespace'), '0');
    assert.equal(attr(set, 'server.address'), '127.0.0.1');
    const incr = server.find((s) => s.span.name === 'INCR')!.span;
    assert.equal(incr.status.code, 2);
    assert.equal(attr(incr, 'error.type'), 'ERR');
    assert.equal(attr(incr, 'db.response.status_code'), 'ERR');
    assert.equal(incr.status.message, undefined, 'error texts only with keep_literals');
    assert.ok(!JSON.stringify(traced.spans().map((s) => s.span.attributes), (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('super-secret-token'));
  });

  it('redis-benchmark with pipelines of 16: every command paired, nothing lost', async () => {
    await cli('CONFIG', 'RESETSTAT');
    const since = BigInt(Date.now()) * 1_000_000n;
    await run('redis-benchmark', ['-p', String(redis.port), '-n', '2000', '-P', '16', '-c', '4', '-t', 'set,get', '-q']);
    // what the server itself counted: the truth to compare with
    const stats = (await cli('INFO', 'commandstats')).stdout;
    const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1]);
    const expected: Record<string, number> = { SET: calls('set'), GET: calls('get') };
    assert.ok(expected.SET! >= 2000 && expected.GET! >= 2000, stats);
    const mine = (kind: number, name: string) => (s: { span: { kind: number; name: string; startTimeUnixNano: bigint }; resource: Parameters<typeof resourceAttr>[0] }) =>
      s.span.kind === kind && s.span.name === name && s.span.startTimeUnixNano >= since && resourceAttr(s.resource, 'service.name') === (kind === SERVER ? 'redis-server' : 'redis-benchmark');
    for (const kind of [SERVER, CLIENT]) {
      for (const name of ['SET', 'GET']) {
        const spans = await waitForSpans(traced, mine(kind, name), expected[name]!, 60_000);
        assert.equal(spans.length, expected[name], `${kind === SERVER ? 'server' : 'client'} ${name}: one span per command the server ran`);
        for (const { span } of spans) {
          assert.equal(span.status.code, 0);
          assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
        }
      }
    }
    const self = await traced.selfMetrics();
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total'), 0);
  });

  it('request metrics: db.client.operation.duration and db.server.operation.duration', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = traced.metrics();
      const client = m.filter((x) => x.metric.name === 'db.client.operation.duration' && resourceAttr(x.resource, 'service.name') === 'redis-benchmark').at(-1);
      const server = m.filter((x) => x.metric.name === 'db.server.operation.duration' && resourceAttr(x.resource, 'service.name') === 'redis-server').at(-1);
      if (client?.metric.data.type === 'histogram' && server?.metric.data.type === 'histogram') {
        const set = client.metric.data.dataPoints.find((p) => attr(p, 'db.operation.name') === 'SET');
        assert.ok(set && set.count >= 2000);
        assert.equal(attr(set, 'db.system.name'), 'redis');
        assert.equal(attr(set, 'db.query.text'), undefined, 'no query text on metrics');
        return;
      }
      if (Date.now() > deadline) throw new Error('no db metrics');
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
