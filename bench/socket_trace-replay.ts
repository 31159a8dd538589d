// What does socket_trace's user-space side cost per request? Kernel records of HTTP/1.1 keep-alive
// exchanges (an open record, then a request and a response per exchange, as nginx's syscalls give
// them) are built once and replayed through the receiver in ring-sized batches: parse, pair, span,
// histogram, span queue (to a consumer that only counts). CPU µs per request, no kernel involved.
//
//   node bench/socket_trace-replay.ts [--requests 200000] [--connections 16]
import { parseArgs } from 'node:util';
import { RingBatch } from '../src/bpf/ringbuf.ts';
import { socketTraceConfigSchema } from '../receivers/socket_trace/config.ts';
import { SocketTraceReceiver } from '../receivers/socket_trace/receiver.ts';
import { testSettings } from '../test/support/component-harness.ts';
import type { MetricsData } from '../src/pdata/metrics.ts';
import type { TracesData } from '../src/pdata/traces.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200000' }, connections: { type: 'string', default: '16' }, rounds: { type: 'string', default: '5' } } });
const REQUESTS = Number(values.requests);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);

const REQUEST = Buffer.from('GET /api/orders/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk/4.1\r\nAccept: */*\r\n\r\n');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 27 Nov 2026 03:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n');

function record(parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len = body.length;
  const out = Buffer.alloc(8 + Math.ceil(len / 8) * 8);
  out.writeUInt32LE(len, 0);
  body.copy(out, 8);
  return out;
}

function open(conn: number, t: bigint): Buffer {
  const b = Buffer.alloc(224);
  b[0] = 1; // ST_EV_OPEN
  b[1] = 2; // server
  b[2] = 1; // HTTP/1
  b[3] = 2; // AF_INET
  b.writeUInt32LE(process.pid, 4);
  b.writeBigUInt64LE(BigInt(conn), 8);
  b.writeBigUInt64LE(t, 16);
  b.writeUInt32LE(10 + conn, 48);
  b.writeUInt16LE(8080, 52);
  b.writeUInt16LE(40000 + conn, 54);
  b.set([127, 0, 0, 1], 56);
  b.set([127, 0, 0, 1], 72);
  b.write('nginx', 88);
  return record([b]);
}

function data(conn: number, dir: number, position: number, payload: Buffer, t: bigint): Buffer {
  const h = Buffer.alloc(56);
  h[0] = 2; // ST_EV_DATA
  h[1] = dir;
  h.writeUInt32LE(process.pid, 4);
  h.writeBigUInt64LE(BigInt(conn), 8);
  h.writeBigUInt64LE(t, 16);
  h.writeBigUInt64LE(t + 2000n, 24);
  h.writeBigUInt64LE(BigInt(position), 32);
  h.writeUInt32LE(payload.length, 40);
  h.writeUInt32LE(payload.length, 44);
  return record([h, payload]);
}

let spans = 0;
let points = 0;
const receiver = new SocketTraceReceiver(testSettings('socket_trace', 'receiver', 'traces'), socketTraceConfigSchema.parse(JSON.parse(process.env.ST_REPLAY_CONFIG ?? '{}')));
receiver.tracesConsumer = {
  consume: async (d: TracesData) => {
    for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
  },
};
receiver.metricsConsumer = { consume: async (d: MetricsData) => void (points += d.resourceMetrics.length) };
receiver.startWithoutKernel();

// Build the batches once: ~1 MiB each, as the ring hands them over.
let t = process.hrtime.bigint();
const positions = new Map<number, [number, number]>();
const batches: { buf: Buffer; count: number }[] = [];
let parts: Buffer[] = [];
let count = 0;
const flush = () => {
  const buf = Buffer.concat(parts);
  batches.push({ buf, count });
  parts = [];
  count = 0;
};
for (let c = 0; c < CONNECTIONS; c++) {
  parts.push(open(c + 1, t));
  count++;
  positions.set(c + 1, [0, 0]);
}
let size = 0;
for (let i = 0; i < REQUESTS; i++) {
  const conn = (i % CONNECTIONS) + 1;
  const p = positions.get(conn)!;
  t += 10_000n;
  const a = data(conn, 1, p[1], REQUEST, t);
  const b = data(conn, 0, p[0], RESPONSE, t + 5000n);
  p[1] += REQUEST.length;
  p[0] += RESPONSE.length;
  parts.push(a, b);
  count += 2;
  size += a.length + b.length;
  if (size > 1 << 20) {
    flush();
    size = 0;
  }
}
flush();

const results: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const before = spans;
  const cpu0 = process.cpuUsage();
  for (const { buf, count: n } of batches) {
    receiver.handleBatch(new RingBatch(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), buf, buf.length, n));
    await new Promise((r) => setImmediate(r)); // let the span queue send, as between wake-ups
  }
  await new Promise((r) => setTimeout(r, 300));
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / REQUESTS;
  results.push(us);
  console.log(`round ${round + 1}: ${REQUESTS} requests, ${spans - before} spans, ${us.toFixed(2)} µs CPU per request`);
  // the next round replays the same bytes: new connections
  for (const [conn] of positions) positions.set(conn, [0, 0]);
}
results.sort((a, b) => a - b);
console.log(`socket_trace user space: ${results[Math.floor(results.length / 2)]!.toFixed(2)} µs CPU per request (median of ${ROUNDS} rounds; HTTP/1.1 keep-alive, spans + request metrics)`);
await receiver.shutdown();
process.exit(0);
