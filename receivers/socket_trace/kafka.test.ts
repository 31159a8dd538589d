// socket_trace against a real Kafka broker (Apache Kafka from Maven Central in KRaft mode, on
// OpenJDK 17: test/peers/kafka.sh) with two real clients: kafkajs (non-flexible protocol
// versions) and the Java client (flexible versions, topics by id, fetch sessions). Spans and
// metrics of both sides: the clients' (CLIENT) and the broker's (SERVER). Reach a file exporter
// through bpfcol's CLI.
import assert from 'node:assert/strict';
import { type Server, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../src/pdata/common.ts';
import type { Span } from '../../src/pdata/traces.ts';
import { tempDir } from '../../test/support/cli.ts';
import { type KafkaBroker, startKafka } from '../../test/support/kafka.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

type Found = { span: Span; resource: Resource };

describe('socket_trace: Kafka with kafkajs and the Java client against a real broker', { timeout: 600_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let broker: KafkaBroker;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-kafka-');
    broker = await startKafka(await freePort(), { OTEL_SERVICE_NAME: 'kafka-broker' });
    traced = await startTraced(dir.path, [broker.port]);
  });

  after(async () => {
    await traced?.stop();
    await broker?.stop();
    dir?.cleanup();
  });

  const of = (service: string, kind: number, name?: string) => (s: Found) =>
    s.span.kind === kind && resourceAttr(s.resource, 'service.name') === service && attr(s.span, 'messaging.system') === 'kafka' && (name === undefined || s.span.name === name);

  it('kafkajs: produce, fetch and metadata spans on the client and the broker, field by field', async () => {
    const { value: out, startNs, endNs } = await bracket(() =>
      run(process.execPath, [join(import.meta.dirname, 'fixtures/kafkajs-client.ts'), String(broker.port)], { env: { OTEL_SERVICE_NAME: 'shop-app' } }),
    );
    const result = JSON.parse(out.stdout);
    assert.deepEqual(result, { partitions: 1, offset: '0', bigOffset: '2', error: 'MESSAGE_TOO_LARGE', consumed: ['order-1', 'order-2', 200_000] });

    for (const [kind, service] of [
      [CLIENT, 'shop-app'],
      [SERVER, 'kafka-broker'],
    ] as const) {
      const side = kind === CLIENT ? 'client' : 'broker';
      const produces = await waitForSpans(traced, of(service, kind, 'produce shop.orders'), 2);
      assert.equal(produces.length, 2, side);
      const s = produces.find((p) => attr(p.span, 'messaging.kafka.offset') === 0n)!.span;
      assert.equal(s.status.code, 0, side);
      assert.ok(s.startTimeUnixNano >= startNs && s.endTimeUnixNano <= endNs && s.endTimeUnixNano >= s.startTimeUnixNano, side);
      assert.equal(attr(s, 'messaging.system'), 'kafka');
      assert.equal(attr(s, 'messaging.operation.name'), 'produce');
      assert.equal(attr(s, 'messaging.operation.type'), 'send');
      assert.equal(attr(s, 'messaging.destination.name'), 'shop.orders');
      assert.equal(attr(s, 'messaging.destination.partition.id'), '0');
      assert.equal(attr(s, 'messaging.batch.message_count'), 2n);
      assert.equal(attr(s, 'messaging.kafka.offset'), 0n);
      assert.equal(attr(s, 'messaging.client.id'), 'shop-app');
      assert.equal(attr(s, 'server.address'), '127.0.0.1');
      assert.equal(attr(s, 'server.port'), BigInt(broker.port));
      assert.equal(attr(s, 'network.peer.address'), '127.0.0.1');
      assert.equal(attr(s, 'error.type'), undefined);
      if (kind === SERVER) {
        assert.equal(attr(s, 'client.address'), '127.0.0.1');
        assert.equal(typeof attr(s, 'client.port'), 'bigint');
      }

      // the 200 kB message: its request and the broker's answer framed by their sizes
      const big = produces.find((p) => attr(p.span, 'messaging.kafka.offset') === 2n)!.span;
      assert.equal(attr(big, 'messaging.batch.message_count'), 1n, side);
      assert.equal(big.status.code, 0);

      const [tooLarge] = await waitForSpans(traced, of(service, kind, 'produce tiny'), 1);
      assert.equal(tooLarge!.span.status.code, ERROR, side);
      assert.equal(attr(tooLarge!.span, 'error.type'), 'MESSAGE_TOO_LARGE');
      assert.equal(attr(tooLarge!.span, 'messaging.batch.message_count'), 1n);
      assert.equal(attr(tooLarge!.span, 'messaging.kafka.offset'), undefined);

      const fetches = await waitForSpans(traced, of(service, kind, 'fetch shop.orders'), 1);
      for (const { span } of fetches) {
        assert.equal(attr(span, 'messaging.operation.name'), 'fetch');
        assert.equal(attr(span, 'messaging.operation.type'), 'receive');
        assert.equal(attr(span, 'messaging.destination.partition.id'), '0');
        assert.equal(attr(span, 'messaging.client.id'), 'shop-app');
        assert.equal(span.status.code, 0);
      }

      const metadata = await waitForSpans(traced, of(service, kind, 'metadata shop.orders'), 1);
      for (const { span } of metadata) {
        assert.equal(attr(span, 'messaging.operation.name'), 'metadata');
        assert.equal(attr(span, 'messaging.operation.type'), undefined, 'metadata is neither send nor receive');
      }
      // the group's requests: spans naming their operation
      const ops = new Set(traced.spans().filter(of(service, kind)).map((x) => attr(x.span, 'messaging.operation.name')));
      for (const op of ['api_versions', 'create_topics', 'find_coordinator', 'join_group', 'sync_group', 'offset_fetch', 'list_offsets', 'leave_group']) assert.ok(ops.has(op), `${side}: ${op} in ${[...ops]}`);
    }
    // every client request answered: the broker saw as many produce requests as the client sent
    const count = (kind: number, service: string) => traced.spans().filter(of(service, kind)).filter((x) => attr(x.span, 'messaging.operation.name') === 'produce').length;
    assert.equal(count(SERVER, 'kafka-broker'), count(CLIENT, 'shop-app'));
  });

  it('the Java client: flexible versions, Produce and Fetch by topic id named through Metadata', async () => {
    const { value: out, startNs, endNs } = await bracket(() =>
      run('java', ['-cp', broker.classpath, join(import.meta.dirname, 'fixtures/KafkaJavaClient.java'), String(broker.port)], { env: { OTEL_SERVICE_NAME: 'java-shop' }, timeoutMs: 180_000 }),
    );
    assert.deepEqual(JSON.parse(out.stdout.trim().split('\n').at(-1)!), { offset: 0, consumed: 2 });
    const produces = await waitForSpans(traced, of('java-shop', CLIENT, 'produce java.orders'), 2);
    assert.equal(produces.length, 2);
    assert.deepEqual(produces.map((p) => attr(p.span, 'messaging.kafka.offset')).sort(), [0n, 1n]);
    for (const { span } of produces) {
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
      assert.equal(attr(span, 'messaging.client.id'), 'java-shop');
      assert.equal(attr(span, 'messaging.operation.type'), 'send');
      assert.equal(attr(span, 'messaging.batch.message_count'), 1n);
      assert.equal(attr(span, 'server.port'), BigInt(broker.port));
    }
    const fetches = await waitForSpans(traced, of('java-shop', CLIENT, 'fetch java.orders'), 1);
    for (const { span } of fetches) assert.equal(attr(span, 'messaging.client.id'), 'java-billing');
    // the broker's side of the same
    const served = await waitForSpans(traced, (s) => of('kafka-broker', SERVER, 'produce java.orders')(s), 2);
    for (const { span } of served) assert.equal(attr(span, 'messaging.client.id'), 'java-shop');
  });

  it('messaging.client.operation.duration and messaging.server.operation.duration; nothing unparsed', async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const m = traced.metrics();
      const client = m.filter((x) => x.metric.name === 'messaging.client.operation.duration' && resourceAttr(x.resource, 'service.name') === 'shop-app').at(-1);
      const server = m.filter((x) => x.metric.name === 'messaging.server.operation.duration' && resourceAttr(x.resource, 'service.name') === 'kafka-broker').at(-1);
      if (client?.metric.data.type === 'histogram' && server?.metric.data.type === 'histogram') {
        assert.equal(client.metric.unit, 's');
        for (const [points, side] of [
          [client.metric.data.dataPoints, 'client'],
          [server.metric.data.dataPoints, 'broker'],
        ] as const) {
          const produce = points.find((p) => attr(p, 'messaging.operation.name') === 'produce' && attr(p, 'messaging.destination.name') === 'shop.orders' && attr(p, 'error.type') === undefined);
          assert.ok(produce, side);
          assert.equal(produce.count, 2, `${side}: the batch of two and the 200 kB message`);
          assert.deepEqual(
            Object.fromEntries(produce.attributes.map((a) => [a.key, attr(produce, a.key)])),
            { 'messaging.system': 'kafka', 'messaging.operation.name': 'produce', 'messaging.operation.type': 'send', 'messaging.destination.name': 'shop.orders', 'server.address': '127.0.0.1', 'server.port': BigInt(broker.port) },
            side,
          );
          const failed = points.find((p) => attr(p, 'messaging.destination.name') === 'tiny');
          assert.equal(failed && attr(failed, 'error.type'), 'MESSAGE_TOO_LARGE', side);
          assert.ok(points.some((p) => attr(p, 'messaging.operation.name') === 'fetch' && (p.count ?? 0) >= 1), side);
        }
        break;
      }
      if (Date.now() > deadline) throw new Error('no messaging metrics');
      await new Promise((r) => setTimeout(r, 500));
    }
    const self = await traced.selfMetrics();
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total'), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0);
  });
});

// The kernel's sniff is conservative: with Kafka the only protocol, a request header is traced and
// other binary first bytes (PostgreSQL's startup message, which reads like Metadata v0; a framed
// Thrift call, size-prefixed as Kafka is; random bytes) are not. A small real TCP server on loopback, both ends traced.
describe('socket_trace: the Kafka sniff in the kernel', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let traced: TracedRun;
  let server: Server;
  let port: number;

  before(async () => {
    dir = tempDir('bpfcol-st-kafka-sniff-');
    port = await freePort();
    // answers an ApiVersions request with an ApiVersions v0 response (error 0, no api), anything else with 16 bytes
    server = createServer((socket) => {
      socket.once('data', (d: Buffer) => {
        if (d.length >= 12 && d.readInt32BE(0) === d.length - 4 && d.readInt16BE(4) === 18) {
          const res = Buffer.alloc(14);
          res.writeInt32BE(10, 0);
          res.writeInt32BE(d.readInt32BE(8), 4); // the correlation id
          socket.end(res);
        } else socket.end(Buffer.alloc(16, 0x2a));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    traced = await startTraced(dir.path, [port], 'protocols: [kafka]');
  });

  after(async () => {
    await traced?.stop();
    await new Promise((r) => server?.close(r));
    dir?.cleanup();
  });

  /** Connects, writes `payload`, reads the answer until the server closes. */
  const exchange = (payload: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => socket.write(payload));
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('end', () => {
        socket.end();
        resolve(Buffer.concat(chunks));
      });
      socket.on('error', reject);
    });

  it('traces a request header, not PostgreSQL, Thrift or random bytes; counts what it ignored', async () => {
    const before = counterValue(await traced.selfMetrics(), 'bpfcol_receiver_socket_trace_connections_ignored_total');
    const clientId = Buffer.from('probe');
    const request = Buffer.alloc(14 + clientId.length);
    request.writeInt32BE(request.length - 4, 0);
    request.writeInt16BE(18, 4); // ApiVersions
    request.writeInt16BE(0, 6);
    request.writeInt32BE(4242, 8);
    request.writeInt16BE(clientId.length, 12);
    clientId.copy(request, 14);
    const startup = Buffer.concat([Buffer.alloc(8), Buffer.from('user\0app\0database\0shop\0\0')]);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    // a framed Thrift call (size, then version 0x8001, message type 1, name 'ping', sequence id): size-prefixed like Kafka
    const thrift = Buffer.from('00000010800100010000000470696e6700000001', 'hex');
    thrift.writeInt32BE(thrift.length - 4, 0);
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff));
    for (const payload of [startup, thrift, random]) assert.equal((await exchange(payload)).length, 16);
    assert.equal((await exchange(request)).readInt32BE(4), 4242);
    const spans = await waitForSpans(traced, (s) => attr(s.span, 'messaging.system') === 'kafka', 2);
    assert.deepEqual(spans.map((s) => [s.span.kind, s.span.name, attr(s.span, 'messaging.client.id')]).sort(), [
      [SERVER, 'api_versions', 'probe'],
      [CLIENT, 'api_versions', 'probe'],
    ]);
    // three connections, both ends each, matched nothing
    const deadline = Date.now() + 20_000;
    let ignored = 0;
    while (Date.now() < deadline) {
      ignored = counterValue(await traced.selfMetrics(), 'bpfcol_receiver_socket_trace_connections_ignored_total') - before;
      if (ignored >= 6) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(ignored, 6);
    assert.equal(traced.spans().length, 2, 'nothing else traced');
  });
});
