// The HTTP/2 parser on real bytes: Node's HTTP/2 server and client, and @grpc/grpc-js, talk through
// a recording TCP relay; the chunks each side wrote are fed to the parser as the kernel's records
// would be (whole, cut to a capture size, from the middle of the connection, with lost records).
// Then a fuzz loop on mutations of those bytes: only ParseError may leave the parser.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { ByteStream } from '../stream.ts';
import { GRPC_STATUS, Http2Parser, http2 as module } from './http2.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';
import { type MessageSink, ParseError, type Side } from './types.ts';

type Chunk = { side: Side; data: Buffer };

/** A TCP relay to `port` that records what each side wrote, in order. */
async function relay(port: number): Promise<{ port: number; chunks: Chunk[]; close(): void }> {
  const chunks: Chunk[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (d: Buffer) => {
      chunks.push({ side: 'request', data: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      chunks.push({ side: 'response', data: Buffer.from(d) });
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    chunks,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const BIG = Buffer.alloc(40_000, 0x61);
const TRACED_ROUNDS = 80;

/** Plain HTTP/2: GET with a query, a POST with a 40 kB body, a 404, a HEAD; repeated so the tables get used. */
async function recordHttp(): Promise<Chunk[]> {
  const server = http2.createServer((req, res) => {
    if (req.url.startsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no');
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'text/plain', 'x-trace-me': 'yes' });
      if (req.method === 'HEAD') res.end();
      else res.end(BIG);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const r = await relay((server.address() as net.AddressInfo).port);
  const session = http2.connect(`http://127.0.0.1:${r.port}`);
  const request = (headers: http2.OutgoingHttpHeaders, body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const s = session.request(headers);
      s.on('response', () => {});
      s.resume();
      s.on('end', resolve);
      s.on('error', reject);
      s.end(body);
    });
  for (let round = 0; round < 3; round++) {
    await request({ ':method': 'GET', ':path': `/hello?round=${round}`, 'user-agent': 'h2-test/1.0', authorization: 'Bearer super-secret' });
    await request({ ':method': 'POST', ':path': '/items', 'content-type': 'application/octet-stream' }, BIG);
    await request({ ':method': 'GET', ':path': `/missing/${round}` });
    await request({ ':method': 'HEAD', ':path': '/hello' });
  }
  // requests carrying a trace context: each traceparent is a new table entry, so the table turns
  // over and a decoder that started late learns it
  for (let round = 0; round < TRACED_ROUNDS; round++) {
    await request({ ':method': 'GET', ':path': '/traced', 'user-agent': 'h2-test/1.0', traceparent: `00-${round.toString(16).padStart(32, 'a')}-00f067aa0ba902b7-01` });
  }
  session.close();
  await new Promise((res) => setTimeout(res, 50));
  r.close();
  server.close();
  return r.chunks;
}

/** gRPC through grpc-js without a .proto: raw bytes as messages; OK, NOT_FOUND, a server stream, a deadline. */
async function recordGrpc(): Promise<Chunk[]> {
  const id = (b: Buffer) => b;
  const service: grpc.ServiceDefinition = {
    Get: { path: '/demo.v1.Items/Get', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
    List: { path: '/demo.v1.Items/List', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  };
  const server = new grpc.Server();
  server.addService(service, {
    Get: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      if (call.request.toString() === 'missing') cb({ code: grpc.status.NOT_FOUND, details: 'no such item' });
      else cb(null, Buffer.from(`item ${call.request.toString()}`));
    },
    List: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      for (let i = 0; i < 5; i++) call.write(Buffer.alloc(3000, 0x30 + i));
      call.end();
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const r = await relay(port);
  const Client = grpc.makeGenericClientConstructor(service, 'Items');
  const client = new Client(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure()) as any;
  const unary = (m: string) => new Promise<void>((res) => client.Get(Buffer.from(m), () => res()));
  for (let i = 0; i < 4; i++) {
    await unary(`a${i}`);
    await unary('missing');
    await new Promise<void>((res) => {
      const s = client.List(Buffer.from('all'));
      s.on('data', () => {});
      s.on('end', res);
      s.on('error', res);
    });
  }
  client.close();
  await new Promise((res) => setTimeout(res, 50));
  r.close();
  server.forceShutdown();
  return r.chunks;
}

function feed(chunks: Chunk[], options: Parameters<typeof connectionFor>[1] = {}, from = 0) {
  const c = connectionFor(module, options);
  // what came before `from` was moved but never seen (bpfcol attached then)
  for (const { side, data } of chunks.slice(0, from)) c.lose(side, data.length);
  for (const { side, data } of chunks.slice(from)) c.send(side, data);
  return c;
}

const summary = (e: { request: { message: any }; response?: { message: any } }) => `${e.request.message.method} ${e.request.message.path} ${e.response?.message.status} ${e.response?.message.grpcStatus ?? ''}`.trim();

describe('HTTP/2 parser on recorded connections', () => {
  let httpChunks: Chunk[];
  let grpcChunks: Chunk[];
  before(async () => {
    httpChunks = await recordHttp();
    grpcChunks = await recordGrpc();
  });

  it('plain HTTP/2: every request paired by stream id, bodies skipped, headers decoded', () => {
    const c = feed(httpChunks);
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) expected.push(`GET /hello?round=${round} 200`, 'POST /items 201', `GET /missing/${round} 404`, 'HEAD /hello 200');
    for (let round = 0; round < TRACED_ROUNDS; round++) expected.push('GET /traced 200');
    assert.deepEqual(c.exchanges.map(summary), expected);
    assert.deepEqual(c.exchanges.map((e) => e.request.key), expected.map((_, i) => 2 * i + 1));
    const last = module.describe(c.exchanges.at(-1)!, c.connection.info, DEFAULT_PRIVACY);
    assert.deepEqual(last.traceContext, { traceId: (TRACED_ROUNDS - 1).toString(16).padStart(32, 'a'), spanId: '00f067aa0ba902b7', flags: 1 });
    assert.equal(c.stats.garbage + c.stats.errors + c.stats.skipped + c.stats.holes, 0);
    assert.equal((c.connection as any).protocol, module);
    const d = module.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(d.name, 'GET');
    const attr = (k: string) => getAttribute(d.attributes, k);
    assert.equal(attr('http.request.method'), 'GET');
    assert.equal(attr('url.path'), '/hello');
    assert.equal(attr('url.query'), undefined);
    assert.equal(attr('url.scheme'), 'http');
    assert.equal(attr('http.response.status_code'), 200n);
    assert.equal(attr('network.protocol.version'), '2');
    assert.equal(attr('user_agent.original'), 'h2-test/1.0');
    assert.equal(attr('server.address'), '127.0.0.1');
    assert.equal(d.metric?.name, 'http.server.request.duration');
    assert.ok(!JSON.stringify(c.exchanges.map((e) => e.request.message)).includes('super-secret'));
    const client = module.describe(c.exchanges[2]!, { ...c.connection.info, role: 'client' }, DEFAULT_PRIVACY);
    assert.equal(getAttribute(client.attributes, 'url.full'), `http://${c.exchanges[2]!.request.message.authority}/missing/0`);
    assert.equal(client.error?.type, '404');
  });

  it('privacy: listed headers kept, credentials never', () => {
    const privacy = { ...DEFAULT_PRIVACY, requestHeaders: new Set(['authorization', 'user-agent']), responseHeaders: new Set(['x-trace-me']) };
    const c = feed(httpChunks, { privacy });
    const d = module.describe(c.exchanges[0]!, c.connection.info, privacy);
    assert.deepEqual(getAttribute(d.attributes, 'http.request.header.user-agent'), ['h2-test/1.0']);
    assert.equal(getAttribute(d.attributes, 'http.request.header.authorization'), undefined);
    assert.deepEqual(getAttribute(d.attributes, 'http.response.header.x-trace-me'), ['yes']);
  });

  it('gRPC: service and method from :path, grpc-status from trailers and trailers-only responses', () => {
    const c = feed(grpcChunks);
    const expected: string[] = [];
    for (let i = 0; i < 4; i++) expected.push('POST /demo.v1.Items/Get 200 0', 'POST /demo.v1.Items/Get 200 5', 'POST /demo.v1.Items/List 200 0');
    assert.deepEqual(c.exchanges.map(summary), expected);
    assert.equal(c.stats.garbage + c.stats.errors + c.stats.skipped + c.stats.holes, 0);
    const ok = module.describe(c.exchanges[0]!, c.connection.info, DEFAULT_PRIVACY);
    const attr = (d: typeof ok, k: string) => getAttribute(d.attributes, k);
    assert.equal(ok.name, 'demo.v1.Items/Get');
    assert.equal(attr(ok, 'rpc.system'), 'grpc');
    assert.equal(attr(ok, 'rpc.service'), 'demo.v1.Items');
    assert.equal(attr(ok, 'rpc.method'), 'Get');
    assert.equal(attr(ok, 'rpc.grpc.status_code'), 0n);
    assert.equal(ok.error, undefined);
    assert.equal(ok.metric?.name, 'rpc.server.duration');
    const missing = module.describe(c.exchanges[1]!, c.connection.info, DEFAULT_PRIVACY);
    assert.equal(attr(missing, 'rpc.grpc.status_code'), 5n);
    assert.deepEqual(missing.error, { type: 'NOT_FOUND' });
    assert.equal(GRPC_STATUS[5], 'NOT_FOUND');
    const client = module.describe(c.exchanges[2]!, { ...c.connection.info, role: 'client' }, DEFAULT_PRIVACY);
    assert.equal(client.metric?.name, 'rpc.client.duration');
    assert.equal(client.name, 'demo.v1.Items/List');
  });

  it('captures cut short: DATA skipped by length; what cannot be read is skipped, never wrong', () => {
    for (const chunks of [httpChunks, grpcChunks]) {
      const full = new Map(feed(chunks).exchanges.map((e) => [e.request.key, summary(e)]));
      for (const capture of [64, 256, 4096]) {
        const c = feed(chunks, { capture });
        for (const e of c.exchanges) if (e.response) assert.equal(summary(e), full.get(e.request.key), `capture ${capture}`);
        assert.equal(c.stats.errors, 0);
        if (capture === 4096) assert.ok(c.exchanges.length > 0);
      }
    }
  });

  it('attached mid-connection: streams whose headers reference entries inserted before are skipped and counted; the rest exact', () => {
    for (const chunks of [httpChunks, grpcChunks]) {
      const full = new Map(feed(chunks).exchanges.map((e) => [e.request.key, summary(e)]));
      let skipped = 0;
      let decoded = 0;
      for (let from = 1; from < chunks.length; from++) {
        const c = feed(chunks, {}, from);
        for (const e of c.exchanges) {
          if (!e.response) continue;
          assert.equal(summary(e), full.get(e.request.key), `from chunk ${from}: stream ${String(e.request.key)}`);
          decoded++;
        }
        assert.equal(c.stats.errors, 0, `from chunk ${from}`);
        skipped += c.stats.skipped;
      }
      assert.ok(skipped > 0, 'some streams could not be decoded');
      if (chunks === httpChunks) assert.ok(decoded > 0, 'once the table turned over, streams decode again');
    }
  });

  it('a lost record: the table is no longer trusted on that side; later exchanges exact or skipped', () => {
    const full = new Map(feed(grpcChunks).exchanges.map((e) => [e.request.key, summary(e)]));
    for (let lost = 2; lost < grpcChunks.length; lost += 3) {
      const c = connectionFor(module);
      grpcChunks.forEach(({ side, data }, i) => (i === lost ? c.lose(side, data.length) : c.send(side, data)));
      for (const e of c.exchanges) if (e.response) assert.equal(summary(e), full.get(e.request.key));
      assert.equal(c.stats.errors, 0);
    }
  });

  it('fuzz: 120,000 random and mutated inputs; only ParseError leaves the parser, and it always returns', () => {
    const rnd = randomBytes(0xb2f);
    const samples = [...httpChunks, ...grpcChunks].map((c) => c.data);
    const sink: MessageSink<unknown, unknown> = { request() {}, response() {}, desync() {}, skipped() {} };
    let parseErrors = 0;
    let positions = { request: 0, response: 0 };
    let parser = new Http2Parser(DEFAULT_PRIVACY);
    let streams = { request: new ByteStream(), response: new ByteStream() };
    for (let i = 0; i < 120_000; i++) {
      if (i % 200 === 0) {
        parser = new Http2Parser(DEFAULT_PRIVACY);
        streams = { request: new ByteStream(), response: new ByteStream() };
        positions = { request: 0, response: 0 };
      }
      const r = rnd(8);
      let input: Buffer;
      if (r[0]! < 40) input = rnd(1 + (r[1]! % 64));
      else {
        input = Buffer.from(samples[(r[1]! * 256 + r[2]!) % samples.length]!);
        switch (r[3]! % 4) {
          case 0:
            input = input.subarray(0, 1 + (r[4]! * 64 + r[5]!) % input.length);
            break;
          case 1:
            for (let k = 0; k <= r[4]! % 6; k++) input[(r[5]! * 256 + r[6]! * (k + 1)) % input.length]! ^= 1 << (r[7]! % 8);
            break;
          case 2:
            input = Buffer.concat([input.subarray(0, r[4]! % input.length), samples[r[5]! % samples.length]!.subarray(r[6]! % 32)]);
            break;
        }
      }
      const side: Side = r[7]! & 1 ? 'request' : 'response';
      const stream = streams[side];
      const capture = r[6]! < 30 ? 1 + r[5]! : input.length;
      // now and then a record the kernel lost
      if (r[4]! < 8) positions[side] += 1 + r[5]!;
      if (stream.append({ position: positions[side], length: input.length, head: input.subarray(0, capture), enterNs: i, exitNs: i + 1 }) === 'gap') parser.reset(side);
      positions[side] += input.length;
      for (let guard = 0; ; guard++) {
        assert.ok(guard < 10_000, 'the parser keeps returning without progress');
        let result: string;
        try {
          result = parser.parse(side, stream, sink);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          parseErrors++;
          result = 'invalid';
        }
        if (result === 'need-more' || result === 'stop') break;
        parser.reset(side);
        if (!stream.skipToNextSegment()) break;
      }
    }
    assert.ok(parseErrors > 100, `${parseErrors} ParseErrors`);
  });
});
