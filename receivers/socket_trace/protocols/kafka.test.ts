import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { ByteStream, type Segment } from '../stream.ts';
import { KafkaParser, type KafkaRequest, type KafkaResponse, decodeResponse, errorName, kafka, operationName } from './kafka.ts';
import { DEFAULT_PRIVACY, connectionFor, randomBytes } from './testing.ts';
import { type Framed, ParseError, type SpanDescription } from './types.ts';

// Bytes recorded once through a TCP proxy between real clients and a real broker (Apache Kafka
// 4.1.1 in KRaft mode, test/peers/kafka.sh): kafkajs 2.2.4 (non-flexible versions: Produce v7,
// Fetch v11, Metadata v6) and the Java client 4.1.1 (flexible: Produce v13 by topic id, Fetch v18
// with a fetch session, Metadata v13). One entry per proxy read; reads over 4 KiB keep their first
// 4 KiB (the rest was record data, zeros here, skipped by length like the uncaptured bytes it is).
interface Chunk {
  conn: number;
  dir: 'request' | 'response';
  length: number;
  hex: string;
}
const load = (name: string): Chunk[] => JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));
const KAFKAJS = load('kafka-kafkajs.json');
const JAVA = load('kafka-java.json');

function bytesOf(c: Chunk): Buffer {
  const b = Buffer.alloc(c.length);
  Buffer.from(c.hex, 'hex').copy(b);
  return b;
}

/** Replays a recording, one connection per recorded one, as the client's side (or the broker's). */
function replay(chunks: Chunk[], options: { role?: 'client' | 'server'; capture?: number; tail?: number } = {}) {
  const conns = new Map<number, ReturnType<typeof connectionFor>>();
  for (const c of chunks) {
    let fed = conns.get(c.conn);
    if (!fed) conns.set(c.conn, (fed = connectionFor(kafka, { role: options.role ?? 'client', capture: options.capture, tail: options.tail })));
    fed.send(c.dir, bytesOf(c));
  }
  return [...conns.values()];
}

const spanOf = (fed: ReturnType<typeof connectionFor>, i: number): SpanDescription => kafka.describe(fed.exchanges[i]!, fed.connection.info, DEFAULT_PRIVACY);
const attr = (d: SpanDescription, key: string) => getAttribute(d.attributes, key);
const ops = (fed: ReturnType<typeof connectionFor>) => fed.exchanges.map((e) => `${operationName(e.request.message.apiKey)}#${e.request.message.correlationId}${e.response ? '' : '!'}`);

/** Splits a direction of a recording into Kafka frames (by their size fields). */
function frames(chunks: Chunk[], dir: 'request' | 'response'): Buffer[] {
  const out: Buffer[] = [];
  for (const conn of new Set(chunks.map((c) => c.conn))) {
    const all = Buffer.concat(chunks.filter((c) => c.conn === conn && c.dir === dir).map(bytesOf));
    for (let at = 0; at + 4 <= all.length; ) {
      const total = 4 + all.readInt32BE(at);
      out.push(all.subarray(at, at + total));
      at += total;
    }
  }
  return out;
}

const require = createRequire(import.meta.url);
/** A request encoded by kafkajs's own protocol encoders (header and size included). */
async function kafkajsRequest(api: string, version: number, correlationId: number, args: Record<string, unknown>): Promise<Buffer> {
  const encodeRequest = require('kafkajs/src/protocol/request.js');
  const build = require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`);
  const encoder = await encodeRequest({ correlationId, clientId: 'shop-app', request: build(args) });
  return encoder.buffer as Buffer;
}

describe('kafka parser', () => {
  it('kafkajs against a real broker: every request paired by correlation id, produce, fetch and metadata described', () => {
    const [admin, producer, consumer, fetcher] = replay(KAFKAJS);
    for (const fed of [admin, producer, consumer, fetcher]) {
      assert.deepEqual(fed!.stats, { garbage: 0, holes: 0, errors: 0, gaps: 0, stale: 0, skipped: 0, unanswered: 0, unmatched: 0 });
    }
    assert.deepEqual(ops(admin!), ['api_versions#0', 'metadata#1', 'create_topics#2', 'metadata#3', 'metadata#4', 'metadata#5']);
    assert.deepEqual(ops(producer!), ['api_versions#0', 'metadata#1', 'produce#2', 'produce#3', 'metadata#4', 'produce#5']);
    assert.deepEqual(ops(consumer!), ['api_versions#0', 'metadata#1', 'find_coordinator#2', 'join_group#3', 'join_group#4', 'metadata#5', 'sync_group#6', 'offset_fetch#7', 'list_offsets#8', 'offset_commit#9', 'leave_group#10']);
    assert.deepEqual(ops(fetcher!), ['fetch#0']);

    const produce = spanOf(producer!, 2);
    assert.equal(produce.name, 'produce shop.orders');
    assert.equal(attr(produce, 'messaging.system'), 'kafka');
    assert.equal(attr(produce, 'messaging.operation.name'), 'produce');
    assert.equal(attr(produce, 'messaging.operation.type'), 'send');
    assert.equal(attr(produce, 'messaging.destination.name'), 'shop.orders');
    assert.equal(attr(produce, 'messaging.destination.partition.id'), '0');
    assert.equal(attr(produce, 'messaging.batch.message_count'), 2n);
    assert.equal(attr(produce, 'messaging.kafka.offset'), 0n);
    assert.equal(attr(produce, 'messaging.client.id'), 'shop-app');
    assert.equal(attr(produce, 'server.address'), '127.0.0.1');
    assert.equal(attr(produce, 'server.port'), 8080n);
    assert.equal(attr(produce, 'error.type'), undefined);
    assert.equal(produce.error, undefined);
    assert.equal(produce.metric?.name, 'messaging.client.operation.duration');
    const m = produce.metric!.attributes();
    assert.deepEqual(Object.fromEntries(m.map((a) => [a.key, getAttribute([a], a.key)])), {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'produce',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'shop.orders',
      'server.address': '127.0.0.1',
      'server.port': 8080n,
    });

    // 100 kB in one message: the frame is skipped by its size
    const big = spanOf(producer!, 3);
    assert.equal(attr(big, 'messaging.batch.message_count'), 1n);
    assert.equal(attr(big, 'messaging.kafka.offset'), 2n);

    const tooLarge = spanOf(producer!, 5);
    assert.equal(tooLarge.name, 'produce tiny');
    assert.equal(attr(tooLarge, 'error.type'), 'MESSAGE_TOO_LARGE');
    assert.deepEqual(tooLarge.error, { type: 'MESSAGE_TOO_LARGE' });
    assert.equal(attr(tooLarge, 'messaging.kafka.offset'), undefined);

    const fetch = spanOf(fetcher!, 0);
    assert.equal(fetch.name, 'fetch shop.orders');
    assert.equal(attr(fetch, 'messaging.operation.type'), 'receive');
    assert.equal(attr(fetch, 'messaging.operation.name'), 'fetch');
    assert.equal(attr(fetch, 'messaging.destination.partition.id'), '0');
    assert.equal(attr(fetch, 'messaging.batch.message_count'), undefined);

    const metadata = spanOf(producer!, 1);
    assert.equal(metadata.name, 'metadata shop.orders');
    assert.equal(attr(metadata, 'messaging.operation.type'), undefined, 'metadata is neither send nor receive');
    const all = spanOf(admin!, 1);
    assert.equal(all.name, 'metadata');
    assert.equal(attr(all, 'messaging.destination.name'), undefined);

    const join = spanOf(consumer!, 3);
    assert.equal(join.name, 'join_group');
    assert.equal(attr(join, 'messaging.operation.type'), undefined);
    assert.equal(join.metric?.name, 'messaging.client.operation.duration');
  });

  it('the Java client: flexible versions, topic ids resolved through metadata, an incremental fetch session', () => {
    const feds = replay(JAVA);
    // the receiver describes every exchange as it completes: Metadata responses teach topic ids
    for (const fed of feds) for (let i = 0; i < fed.exchanges.length; i++) spanOf(fed, i);
    const [, producer, , , fetcher] = feds;
    assert.deepEqual(ops(producer!), ['api_versions#4', 'init_producer_id#5', 'produce#6', 'produce#7']);
    assert.deepEqual(ops(fetcher!), ['api_versions#10', 'list_offsets#9', 'fetch#11', 'fetch#12', 'fetch#15']);
    const produce = producer!.exchanges[2]!.request.message as KafkaRequest;
    assert.equal(produce.apiVersion, 13);
    assert.equal(produce.topics, undefined, 'Produce v13 names topics by id');
    assert.equal(produce.topicIds?.length, 1);
    const span = spanOf(producer!, 2);
    assert.equal(span.name, 'produce shop.orders', 'the id, learnt from a Metadata v13 response');
    assert.equal(attr(span, 'messaging.client.id'), 'java-shop');
    assert.equal(attr(span, 'messaging.batch.message_count'), 1n);
    assert.equal(typeof attr(span, 'messaging.kafka.offset'), 'bigint');
    const first = fetcher!.exchanges[2]!.request.message as KafkaRequest;
    const second = fetcher!.exchanges[3]!.request.message as KafkaRequest;
    assert.equal(first.apiVersion, 18);
    assert.equal(first.incremental, undefined);
    assert.equal(second.incremental, undefined, 'it names the partition whose offset moved');
    assert.equal(spanOf(fetcher!, 3).name, 'fetch shop.orders');
    assert.equal(spanOf(fetcher!, 4).name, 'fetch', 'closing the session (epoch -1) names no topic');
    // An incremental fetch naming nothing (nothing changed): the session's topics. Built from the
    // recorded ones: Fetch v18, session 0x07c5ce91 epoch 2, no topics, no forgotten topics, rack ''.
    const frame = (hex: string) => {
      const b = Buffer.from(hex, 'hex');
      return Buffer.concat([Buffer.from([0, 0, b.length >> 8, b.length & 0xff]), b]);
    };
    fetcher!.send('request', frame(`00010012000000630${'00c'}${Buffer.from('java-billing').toString('hex')}00000000c800000001032000000007c5ce910000000201010100`));
    fetcher!.send('response', frame('0000006300' + '00000000' + '0000' + '07c5ce91' + '01' + '00'));
    const incremental = fetcher!.exchanges[5]!;
    assert.equal(incremental.request.message.incremental, true);
    assert.equal(kafka.describe(incremental, fetcher!.connection.info, DEFAULT_PRIVACY).name, 'fetch shop.orders');
    for (const fed of replay(JAVA)) assert.equal(fed.stats.garbage + fed.stats.errors + fed.stats.unmatched + fed.stats.unanswered, 0);
  });

  it('captures cut to 64 bytes: bodies skipped by size, the same exchanges, holes only', () => {
    const full = replay(KAFKAJS).map(ops);
    const cut = replay(KAFKAJS, { capture: 64, tail: 16 });
    assert.deepEqual(cut.map(ops), full);
    for (const fed of cut) assert.equal(fed.stats.garbage + fed.stats.errors, 0);
    // the topic of the produce still fits; its error code did not (the response body was cut)
    const produce = kafka.describe(cut[1]!.exchanges[2]!, cut[1]!.connection.info, DEFAULT_PRIVACY);
    assert.equal(produce.name, 'produce shop.orders');
  });

  it("a Java broker's side: the first request read without its size, then size and body in two reads", () => {
    const c = connectionFor(kafka, { role: 'server' });
    const requests = frames(KAFKAJS.filter((x) => x.conn === 1), 'request');
    const responses = frames(KAFKAJS.filter((x) => x.conn === 1), 'response');
    c.lose('request', 4); // the size, read before the kernel knew the protocol
    c.send('request', requests[0]!.subarray(4));
    c.send('response', responses[0]!);
    for (let i = 1; i < requests.length; i++) {
      c.send('request', requests[i]!.subarray(0, 4));
      c.send('request', requests[i]!.subarray(4));
      c.send('response', responses[i]!);
    }
    assert.deepEqual(ops(c), ['api_versions#0', 'metadata#1', 'produce#2', 'produce#3', 'metadata#4', 'produce#5']);
    assert.equal(c.stats.garbage, 0);
    const d = spanOf(c, 2);
    assert.equal(d.metric?.name, 'messaging.server.operation.duration');
    assert.equal(attr(d, 'client.address'), '127.0.0.1');
    assert.equal(attr(d, 'client.port'), 40000n);
  });

  it('responses before their requests, pipelined requests in one write', () => {
    const c = connectionFor(kafka, { role: 'client' });
    const requests = frames(KAFKAJS.filter((x) => x.conn === 1), 'request');
    const responses = frames(KAFKAJS.filter((x) => x.conn === 1), 'response');
    c.send('response', Buffer.concat(responses.slice(0, 3)));
    c.send('request', Buffer.concat(requests.slice(0, 3)));
    assert.deepEqual(ops(c), ['api_versions#0', 'metadata#1', 'produce#2']);
    assert.equal(attr(spanOf(c, 2), 'messaging.kafka.offset'), 0n);
  });

  it('a connection older than bpfcol: responses are taken once one answers a request seen', () => {
    const c = connectionFor(kafka, { role: 'client' });
    const requests = frames(KAFKAJS.filter((x) => x.conn === 1), 'request');
    const responses = frames(KAFKAJS.filter((x) => x.conn === 1), 'response');
    c.lose('request', 5000);
    c.lose('response', 7000);
    c.send('response', responses[1]!.subarray(20)); // the end of a response to a request never seen
    c.send('response', responses[0]!); // a whole one, to a request never seen either
    c.send('request', requests[2]!);
    c.send('response', responses[2]!);
    assert.deepEqual(ops(c), ['produce#2']);
    c.close();
    assert.equal(c.stats.unmatched, 0, 'nothing taken before');
  });

  it('acks=0: a produce the broker does not answer; Fetch, Metadata by kafkajs encoders', async () => {
    const c = connectionFor(kafka, { role: 'client' });
    const topicData = [{ topic: 'clicks', partitions: [{ partition: 3, messages: [{ key: 'a', value: 'v1' }, { key: 'b', value: 'v2' }, { value: 'v3' }] }] }];
    c.send('request', await kafkajsRequest('produce', 7, 40, { acks: 0, timeout: 1000, topicData }));
    assert.deepEqual(ops(c), ['produce#40!']);
    const d = spanOf(c, 0);
    assert.equal(d.name, 'produce clicks');
    assert.equal(attr(d, 'messaging.destination.partition.id'), '3');
    assert.equal(attr(d, 'messaging.batch.message_count'), 3n);
    c.send('request', await kafkajsRequest('metadata', 6, 41, { topics: ['a', 'b'], allowAutoTopicCreation: false }));
    c.send('request', await kafkajsRequest('fetch', 11, 42, { replicaId: -1, maxWaitTime: 100, minBytes: 1, maxBytes: 1000, topics: [{ topic: 'a', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 100 }, { partition: 1, fetchOffset: '0', maxBytes: 100 }] }], isolationLevel: 1, rackId: '' }));
    assert.equal(c.exchanges.length, 1, 'the others wait for their responses');
    c.close();
    assert.equal(c.stats.unanswered, 2);
  });

  it('decodes error codes of fetch and metadata responses; unknown error codes by number', () => {
    // Fetch v11 response: throttle 0, error 0, session 0, one topic 'a', partition 0 with error 1
    const fetchBody = Buffer.from('00000000' + '0000' + '00000000' + '00000001' + '0001' + '61' + '00000001' + '00000000' + '0001' + '00'.repeat(24) + 'ffffffff' + 'ffffffff' + 'ffffffff', 'hex');
    const req: KafkaRequest = { apiKey: 1, apiVersion: 11, correlationId: 1 };
    assert.deepEqual(decodeResponse(req, fetchBody), { errorCode: 1 });
    assert.equal(errorName(1), 'OFFSET_OUT_OF_RANGE');
    assert.equal(errorName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(errorName(-1), 'UNKNOWN_SERVER_ERROR');
    assert.equal(errorName(30000), '30000');
    // Metadata v6: no broker, cluster id null, controller 1, topic 'x' with UNKNOWN_TOPIC_OR_PARTITION
    const metaBody = Buffer.from('00000000' + '00000000' + 'ffff' + '00000001' + '00000001' + '0003' + '0001' + '78' + '00' + '00000000', 'hex');
    assert.deepEqual(decodeResponse({ apiKey: 3, apiVersion: 6, correlationId: 2 }, metaBody), { errorCode: 3 });
    // a body cut anywhere decodes what it holds, and never throws
    for (let n = 0; n <= fetchBody.length; n++) decodeResponse(req, fetchBody.subarray(0, n));
  });

  it('resynchronises after lost bytes and rejects what is not Kafka', () => {
    const c = connectionFor(kafka, { role: 'client' });
    const requests = frames(KAFKAJS.filter((x) => x.conn === 1), 'request');
    const responses = frames(KAFKAJS.filter((x) => x.conn === 1), 'response');
    c.send('request', requests[0]!);
    c.send('response', responses[0]!);
    c.send('request', requests[1]!);
    c.lose('response', responses[1]!.length); // the ring was full
    c.send('request', requests[2]!);
    c.send('response', responses[2]!); // after the gap: what waits is dropped rather than paired wrongly
    c.send('request', requests[3]!);
    c.send('response', responses[3]!);
    assert.deepEqual(ops(c), ['api_versions#0', 'produce#3']);
    assert.equal(c.stats.gaps, 1);
    assert.equal(c.stats.unanswered, 2);
    assert.equal(c.stats.garbage, 0);
    c.close();
    assert.equal(c.stats.unmatched, 1, 'the response that came after the gap');
    const http = connectionFor(kafka, { role: 'client' });
    http.send('request', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // PostgreSQL's StartupMessage would read as Metadata v0 (which no current client sends)
    http.send('request', Buffer.from([0, 0, 0, 12, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72, 0, 0, 0, 0]));
    http.close();
    assert.equal(http.exchanges.length, 0);
    assert.equal(http.stats.garbage, 2);
    assert.equal(http.stats.unanswered, 0);
  });

  it('never throws anything but ParseError on 100,000 random, mutated, truncated and spliced inputs, and always returns', () => {
    const rand = randomBytes(10);
    let seed = 12345;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const samples = { request: [...frames(KAFKAJS, 'request'), ...frames(JAVA, 'request')], response: [...frames(KAFKAJS, 'response'), ...frames(JAVA, 'response')] };
    const requests = new Map<unknown, KafkaRequest>();
    let framedCount = 0;
    let described = 0;
    const sink = {
      request(m: Framed<KafkaRequest>) {
        framedCount++;
        requests.set(m.key, m.message);
      },
      response(m: Framed<KafkaResponse>) {
        framedCount++;
        const req = requests.get(m.key);
        if (req) {
          const e = { request: { ...m, message: req }, response: m };
          kafka.describe(e, { role: 'client', transport: 'tcp' }, DEFAULT_PRIVACY);
          described++;
        }
      },
      desync() {},
    };
    const mutate = (side: 'request' | 'response'): Buffer => {
      const pool = samples[side];
      const base = Buffer.from(pool[next(pool.length)]!.subarray(0, 2048));
      switch (next(6)) {
        case 0:
          return rand(1 + next(200));
        case 1: {
          for (let k = 1 + next(4); k > 0; k--) base[next(base.length)] = rand(1)[0]!;
          return base;
        }
        case 2:
          return base.subarray(0, next(base.length + 1));
        case 3: {
          const other = pool[next(pool.length)]!;
          return Buffer.concat([base.subarray(0, next(base.length)), other.subarray(next(other.length))]);
        }
        case 4: {
          // a plausible header with random fields after it
          const b = Buffer.concat([base.subarray(0, 14), rand(next(300))]);
          if (b.length >= 4) b.writeInt32BE(b.length - 4 + next(3) - 1, 0);
          return b;
        }
        default:
          return base;
      }
    };
    let inputs = 0;
    for (let i = 0; i < 26_000; i++) {
      const parser = new KafkaParser(i % 2 ? 'client' : 'server');
      const streams = { request: new ByteStream(), response: new ByteStream() };
      const positions = { request: i % 5 === 0 ? 4 : 0, response: 0 };
      const capture = 1 + next(300);
      for (let k = 0; k < 4; k++) {
        const side = next(2) ? 'request' : 'response';
        const data = mutate(side);
        const seg: Segment = { position: positions[side], length: data.length, head: data.subarray(0, capture), enterNs: i * 10 + k, exitNs: i * 10 + k + 1 };
        if (next(10) === 0) positions[side] += 1 + next(100); // a lost record
        positions[side] += data.length;
        if (seg.length === 0) continue;
        inputs++;
        const stream = streams[side];
        stream.append(seg);
        for (let guard = 0; ; guard++) {
          assert.ok(guard < 1000, 'the parser made no progress');
          let r: string;
          try {
            r = parser.parse(side, stream, sink);
          } catch (err) {
            if (!(err instanceof ParseError)) throw err;
            r = 'invalid';
          }
          if (r === 'need-more' || r === 'stop') break;
          parser.reset(side);
          if (!stream.skipToNextSegment()) break;
        }
      }
    }
    assert.ok(inputs >= 100_000, `${inputs} inputs`);
    // response bodies decoded as any api key and version (describe() pairs them with their request)
    for (let i = 0; i < 20_000; i++) {
      const body = mutate('response').subarray(8);
      const req: KafkaRequest = { apiKey: [0, 1, 3, 18, 11][next(5)]!, apiVersion: next(20), correlationId: 0 };
      const d = decodeResponse(req, body);
      if (d.errorCode !== undefined) assert.equal(typeof errorName(d.errorCode), 'string');
    }
    assert.ok(framedCount > 1000 && described > 100, `framed ${framedCount}, described ${described}: the mutations kept many messages valid`);
  });
});
