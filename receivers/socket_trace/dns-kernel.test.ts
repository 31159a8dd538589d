// The kernel program's datagram path, seen from its ring buffer: which UDP datagrams it sends (a
// DNS port at either end, a DNS-looking header), with which peer (one unconnected socket asking
// two servers), and what it gives up on. Peers are python3 scripts; the test process itself is
// never traced.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { socketTraceConfigSchema } from './config.ts';
import { SocketTraceKernel } from './kernel.ts';
import { DATA_PEER, DataEvent, EV_CLOSE, EV_DATA, EV_OPEN, KernelProtocol, OpenEvent, PeerRecord, ROLE_CLIENT, ROLE_SERVER } from './layout.ts';
import { run } from './testing.ts';
import { freePort } from '../../test/support/ports.ts';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

// A query for web.bpfcol.test A (dig's, without EDNS).
const QUERY = Buffer.from('423e010000010000000000000377656206627066636f6c0474657374000001000001', 'hex');

/** Answers every datagram on the given ports by echoing it with the QR bit set; prints "ready". */
const SERVER_PY = `
import socket, select, sys
socks = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', int(p)))
    socks.append(s)
print('ready', flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, addr = s.recvfrom(4096)
        if len(data) >= 3:
            s.sendto(data[:2] + bytes([data[2] | 0x80]) + data[3:], addr)
`;

/** One unconnected socket: the query to each DNS port (answers read), then to the other port; then a socket sending garbage to a DNS port. */
const CLIENT_PY = `
import socket, sys
q = bytes.fromhex(sys.argv[1]); dns = [int(sys.argv[2]), int(sys.argv[3])]; other = int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for p in dns:
    s.sendto(q, ('127.0.0.1', p))
    s.recvfrom(4096)
s.sendto(q, ('127.0.0.1', other))
s.recvfrom(4096)
g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
g.settimeout(5)
for i in range(5):
    g.sendto(b'not a dns message at all', ('127.0.0.1', dns[0]))
    g.recvfrom(4096)
print(s.getsockname()[1], g.getsockname()[1])
`;

interface Seen {
  opens: ReturnType<typeof OpenEvent.decode>[];
  data: (ReturnType<typeof DataEvent.decode> & { payload: Buffer; peer?: ReturnType<typeof PeerRecord.decode> })[];
  closes: number;
}

describe('socket_trace kernel program: UDP datagrams (DNS)', { timeout: 120_000 }, () => {
  let server: ChildProcess;
  let dnsA: number;
  let dnsB: number;
  let other: number;

  before(async () => {
    [dnsA, dnsB, other] = [await freePort(), await freePort(), await freePort()];
    server = spawn('python3', ['-c', SERVER_PY, String(dnsA), String(dnsB), String(other)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`the UDP server exited (${code})`)));
    });
  });

  after(() => {
    server?.kill();
  });

  it('sends the datagrams to or from a DNS port, each with its own peer; gives up on the rest', async () => {
    const kernel = SocketTraceKernel.open(socketTraceConfigSchema.parse({ protocols: ['dns'], dns: { ports: [dnsA, dnsB] }, filters: { ports: [dnsA, dnsB, other] } }));
    const seen: Seen = { opens: [], data: [], closes: 0 };
    let ports: number[];
    try {
      kernel.start((batch) => {
        for (const r of batch.records()) {
          if (r[0] === EV_OPEN) seen.opens.push(OpenEvent.decode(r));
          else if (r[0] === EV_CLOSE) seen.closes++;
          else if (r[0] === EV_DATA) {
            const d = DataEvent.decode(r);
            const payload = Buffer.from(r.subarray(56, 56 + d.head_len));
            seen.data.push({ ...d, payload, ...(d.flags & DATA_PEER ? { peer: PeerRecord.decode(r.subarray(56 + d.head_len, 56 + d.head_len + PeerRecord.size)) } : {}) });
          }
        }
      });
      ports = (await run('python3', ['-c', CLIENT_PY, QUERY.toString('hex'), String(dnsA), String(dnsB), String(other)])).stdout.trim().split(' ').map(Number);
      await sleep(300);
      kernel.drain();
      const losses = kernel.losses();
      const [clientPort, garbagePort] = ports;
      const client = seen.opens.find((o) => o.lport === clientPort)!;
      assert.ok(client, 'the client socket was opened');
      assert.equal(client.protocol, KernelProtocol.DNS);
      assert.equal(client.role, ROLE_CLIENT, 'it sent a query: a client');
      assert.equal(client.rport, 0, 'unconnected');
      assert.equal(client.comm, 'python3');
      const servers = seen.opens.filter((o) => o.tgid === server.pid);
      assert.deepEqual(servers.map((o) => o.lport).sort(), [dnsA, dnsB].sort(), 'the two DNS ports\' sockets, not the other one');
      assert.ok(servers.every((o) => o.role === ROLE_SERVER && o.protocol === KernelProtocol.DNS));
      // the client's four datagrams with DNS peers, each with its own
      const mine = seen.data.filter((d) => d.conn_id === client.conn_id);
      assert.deepEqual(mine.map((d) => [d.direction, d.peer?.port]), [[0, dnsA], [1, dnsA], [0, dnsB], [1, dnsB]]);
      for (const d of mine) {
        assert.ok(d.flags & DATA_PEER);
        assert.equal(d.tail_len, 0);
        assert.equal(d.bytes, QUERY.length);
        assert.equal(d.peer!.family, 2);
        assert.deepEqual([...d.peer!.addr.subarray(0, 4)], [127, 0, 0, 1]);
        assert.equal(d.payload.length, QUERY.length);
        assert.equal(d.payload[2]! & 0x80, d.direction === 0 ? 0 : 0x80);
      }
      assert.deepEqual(mine[0]!.payload, QUERY);
      // the servers' side: query in, answer out, the peer being the client
      for (const o of servers) {
        // (the garbage socket's datagrams reach the DNS port too: a socket known as DNS sends
        // them, and user space counts them as parse errors)
        const theirs = seen.data.filter((d) => d.conn_id === o.conn_id && d.peer?.port === clientPort);
        assert.deepEqual(theirs.map((d) => [d.direction, d.peer?.port]), [[1, clientPort], [0, clientPort]]);
      }
      assert.ok(!seen.data.some((d) => d.peer?.port === other), 'nothing to or from a port that is not a DNS port');
      // the socket sending what is no DNS message to a DNS port: never opened, given up, counted
      assert.ok(!seen.opens.some((o) => o.lport === garbagePort));
      assert.ok(losses.ignored >= 1n);
      assert.equal(losses.ringFull, 0n);
      assert.equal(losses.mmsgUncaptured, 0n);
      assert.ok(seen.closes >= 1, 'the client socket\'s close');
      assert.ok(seen.data.every((d) => d.tgid !== process.pid), 'never this process');
    } finally {
      kernel.close();
    }
  });
});
