// The kernel program's decisions, seen from its ring buffer: what it sends and what it never
// sends (ports, pids, executables, protocols), capture sizes and tails, and the loss counters.
// Real servers (python3 -m http.server) and curl; the test process itself is never traced.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForPort } from '../../test/support/ports.ts';
import { tempDir } from '../../test/support/cli.ts';
import { socketTraceConfigSchema } from './config.ts';
import { SocketTraceKernel } from './kernel.ts';
import { CloseEvent, DataEvent, EV_CLOSE, EV_DATA, EV_OPEN, LAYOUTS, OpenEvent, ROLE_CLIENT, ROLE_SERVER } from './layout.ts';
import { run } from './testing.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

interface Seen {
  opens: ReturnType<typeof OpenEvent.decode>[];
  data: (ReturnType<typeof DataEvent.decode> & { payload: Buffer })[];
  closes: ReturnType<typeof CloseEvent.decode>[];
}

async function traced(config: Record<string, unknown>, work: () => Promise<unknown>): Promise<{ seen: Seen; losses: ReturnType<SocketTraceKernel['losses']> }> {
  const kernel = SocketTraceKernel.open(socketTraceConfigSchema.parse(config));
  const seen: Seen = { opens: [], data: [], closes: [] };
  try {
    for (const [name, layout] of Object.entries(LAYOUTS)) kernel.object.checkLayout(name, layout);
    kernel.start((batch) => {
      for (const r of batch.records()) {
        if (r[0] === EV_OPEN) seen.opens.push(OpenEvent.decode(r));
        else if (r[0] === EV_DATA) {
          const d = DataEvent.decode(r);
          seen.data.push({ ...d, payload: Buffer.from(r.subarray(56, 56 + d.head_len + d.tail_len)) });
        } else if (r[0] === EV_CLOSE) seen.closes.push(CloseEvent.decode(r));
      }
    });
    await work();
    await sleep(300);
    kernel.drain();
    return { seen, losses: kernel.losses() };
  } finally {
    kernel.close();
  }
}

describe('socket_trace kernel program', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  const servers: ChildProcess[] = [];
  let portA: number;
  let portB: number;

  before(async () => {
    dir = tempDir('bpfcol-st-kernel-');
    writeFileSync(join(dir.path, 'big.txt'), 'x'.repeat(20_000));
    for (const p of [(portA = await freePort()), (portB = await freePort())]) {
      servers.push(spawn('python3', ['-m', 'http.server', String(p), '--bind', '127.0.0.1', '--directory', dir.path], { stdio: 'ignore' }));
      await waitForPort(p);
    }
  });

  after(() => {
    for (const s of servers) s.kill();
    dir?.cleanup();
  });

  const get = (port: number, path = '/') => run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}${path}`]);

  it('sends both sides of a matching connection: open, data with positions and times, close', async () => {
    const { seen } = await traced({ filters: { ports: [portA] } }, () => get(portA, '/big.txt'));
    const server = seen.opens.find((o) => o.role === ROLE_SERVER && o.lport === portA)!;
    const client = seen.opens.find((o) => o.role === ROLE_CLIENT && o.rport === portA)!;
    assert.ok(server && client, 'both ends opened');
    assert.equal(client.comm, 'curl');
    assert.equal(server.protocol, 1, 'HTTP/1');
    assert.deepEqual([...server.laddr.subarray(0, 4)], [127, 0, 0, 1]);
    const request = seen.data.find((d) => d.conn_id === server.conn_id && d.direction === 1)!;
    assert.match(request.payload.toString('latin1'), /^GET \/big\.txt HTTP\/1\.1\r\n/);
    assert.equal(request.position, 0n);
    assert.ok(request.ts_exit >= request.ts_enter);
    // the 20 KB response body is cut at 4096 bytes, with its last 64 bytes sent too
    const body = seen.data.filter((d) => d.conn_id === server.conn_id && d.direction === 0).find((d) => d.bytes > 4096)!;
    assert.equal(body.head_len, 4096);
    assert.equal(body.tail_len, 64);
    assert.equal(body.payload.subarray(4096).toString(), 'x'.repeat(64));
    // positions add up: each record starts where the last one of its direction ended
    const out = seen.data.filter((d) => d.conn_id === server.conn_id && d.direction === 0);
    for (let i = 1; i < out.length; i++) assert.equal(out[i]!.position, out[i - 1]!.position + BigInt(out[i - 1]!.bytes));
    assert.ok(seen.closes.some((c) => c.conn_id === server.conn_id), 'the server closed it');
    assert.ok(seen.data.every((d) => d.tgid !== process.pid), 'never this process');
  });

  it('leaves out other ports, other pids, unlisted executables and protocols not enabled; counts what it ignores', async () => {
    const byPort = await traced({ filters: { ports: [portA] } }, async () => {
      await get(portA);
      await get(portB);
    });
    assert.ok(byPort.seen.opens.every((o) => o.lport === portA || o.rport === portA));
    const serverPid = servers[1]!.pid!;
    const byPid = await traced({ filters: { pids: [serverPid] } }, async () => {
      await get(portA);
      await get(portB);
    });
    assert.ok(byPid.seen.opens.length > 0 && byPid.seen.opens.every((o) => o.tgid === serverPid));
    const byExe = await traced({ filters: { ports: [portA, portB], executables: ['curl'] } }, () => get(portB));
    assert.ok(byExe.seen.opens.length > 0 && byExe.seen.opens.every((o) => o.comm === 'curl'));
    const redisOnly = await traced({ protocols: ['redis'], filters: { ports: [portA] } }, () => get(portA));
    assert.equal(redisOnly.seen.opens.length, 0, 'HTTP connections are not sent when only redis is traced');
    assert.ok(redisOnly.losses.ignored >= 2n, 'and are counted as ignored');
  });

  it('capture_bytes bounds what is copied; truncations are counted', async () => {
    const { seen, losses } = await traced({ capture_bytes: 64, filters: { ports: [portA] } }, () => get(portA, '/big.txt'));
    assert.ok(seen.data.length > 0);
    assert.ok(seen.data.every((d) => d.head_len <= 64 && d.head_len === Math.min(d.bytes, 64)));
    assert.ok(losses.truncated > 0n);
    assert.equal(losses.ringFull, 0n);
    assert.equal(losses.connsFull, 0n);
  });
});
