import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute } from '../../../src/pdata/common.ts';
import { type ParseStats, TracedConnection } from '../connection.ts';
import { EGRESS, INGRESS } from '../layout.ts';
import type { MatchStats } from '../matcher.ts';
import { ByteStream } from '../stream.ts';
import { type DnsMessage, DnsParser, decodeMessage, dns, rcodeName, typeName } from './dns.ts';
import { DEFAULT_PRIVACY, randomBytes } from './testing.ts';
import { type ConnectionInfo, type Exchange, ParseError, type Peer } from './types.ts';

// Captured from dig 9.18 asking dnsmasq 2.90 (queries carry EDNS and a cookie).
const CAPTURED = {
  aQuery: '423e012000010000000000010377656206627066636f6c0474657374000001000100002904d000000000000c000a00086ec1c89965b9c52a',
  aResponse: '423e858000010001000000010377656206627066636f6c04746573740000010001c00c000100010000000000040a0b0c0d00002904d0000000000000',
  aaaaQuery: '4709012000010000000000010377656206627066636f6c047465737400001c000100002904d000000000000c000a000893078607ebe67a66',
  aaaaResponse: '4709858000010001000000010377656206627066636f6c047465737400001c0001c00c001c0001000000000010fd00000000000000000000000000123400002904d0000000000000',
  nxQuery: 'd56f01200001000000000001046e6f706506627066636f6c0474657374000001000100002904d000000000000c000a0008d63b35f3863d0332',
  nxResponse: 'd56f81830001000000000001046e6f706506627066636f6c0474657374000001000100002904d0000000000000',
  cnameQuery: '5f030120000100000000000105616c69617306627066636f6c0474657374000001000100002904d000000000000c000a0008b63a380fd0bc90e5',
  cnameResponse: '5f038580000100020000000105616c69617306627066636f6c04746573740000010001c00c000500010000000000110377656206627066636f6c047465737400c02f000100010000000000040a0b0c0d00002904d0000000000000',
  mxQuery: '70060120000100000000000106627066636f6c047465737400000f000100002904d000000000000c000a0008c7d4707cec83091a',
  mxResponse: '70068580000100010000000206627066636f6c047465737400000f0001c00c000f0001000000000014000a046d61696c06627066636f6c047465737400c02b000100010000000000040a00001900002904d0000000000000',
};
const hex = (s: string) => Buffer.from(s, 'hex');
const SAMPLES = Object.values(CAPTURED).map(hex);

const SERVER: Peer = { address: '127.0.0.1', port: 53, type: 'ipv4' };

/** A UDP socket's connection fed datagrams the way the receiver does (TracedConnection.onDatagram). */
function udpConnection(role: 'client' | 'server', capture = 1 << 16) {
  const info: ConnectionInfo = role === 'client'
    ? { role, transport: 'udp', networkType: 'ipv4', serverAddress: '0.0.0.0', serverPort: 0, peerAddress: '0.0.0.0', peerPort: 0 }
    : { role, transport: 'udp', networkType: 'ipv4', serverAddress: '127.0.0.1', serverPort: 53, clientAddress: '0.0.0.0', clientPort: 0 };
  const stats: ParseStats & MatchStats = { garbage: 0, holes: 0, errors: 0, gaps: 0, stale: 0, skipped: 0, unanswered: 0, unmatched: 0 };
  const exchanges: Exchange<DnsMessage, DnsMessage>[] = [];
  const connection = new TracedConnection({ id: 1, tgid: 1, fd: 3, startTime: 0n, cgroupId: 0n, comm: 'test', openedNs: 0 }, info, dns, DEFAULT_PRIVACY, stats, (_c, e) => exchanges.push(e as Exchange<DnsMessage, DnsMessage>));
  let clock = 1000;
  const requestDir = role === 'client' ? EGRESS : INGRESS;
  return {
    exchanges,
    stats,
    connection,
    send(side: 'request' | 'response', payload: Buffer, peer: Peer = SERVER) {
      const dir = side === 'request' ? requestDir : requestDir === EGRESS ? INGRESS : EGRESS;
      const head = Buffer.from(payload.subarray(0, Math.min(capture, payload.length)));
      connection.onDatagram(dir, { position: 0, length: payload.length, head, enterNs: clock, exitNs: clock + 10 }, peer);
      clock += 100;
    },
  };
}

function attrs(e: Exchange<DnsMessage, DnsMessage>, c: ConnectionInfo) {
  const d = dns.describe(e, c, DEFAULT_PRIVACY);
  return { d, get: (k: string) => getAttribute(d.attributes, k) };
}

describe('dns parser', () => {
  it('decodes captured queries and responses: question, response code, answers through compression', () => {
    const q = decodeMessage(hex(CAPTURED.aQuery), hex(CAPTURED.aQuery).length)!;
    assert.deepEqual({ id: q.id, response: q.response, opcode: q.opcode, qdcount: q.qdcount, question: q.question }, { id: 0x423e, response: false, opcode: 0, qdcount: 1, question: { name: 'web.bpfcol.test', type: 1, class: 1 } });
    const a = decodeMessage(hex(CAPTURED.aResponse), 1000)!;
    assert.deepEqual([a.response, a.rcode, a.ancount, a.answers], [true, 0, 1, ['10.11.12.13']]);
    assert.deepEqual(decodeMessage(hex(CAPTURED.aaaaResponse), 1000)!.answers, ['fd00::1234']);
    const nx = decodeMessage(hex(CAPTURED.nxResponse), 1000)!;
    assert.deepEqual([nx.rcode, nx.ancount, nx.answers, nx.question?.name], [3, 0, [], 'nope.bpfcol.test']);
    // CNAME then A, the A's owner a pointer into the CNAME's data
    const cname = decodeMessage(hex(CAPTURED.cnameResponse), 1000)!;
    assert.deepEqual([cname.ancount, cname.answers, cname.question?.name], [2, ['10.11.12.13'], 'alias.bpfcol.test']);
    // MX: no address in the answer section (the additional A is not an answer)
    const mx = decodeMessage(hex(CAPTURED.mxResponse), 1000)!;
    assert.deepEqual([mx.ancount, mx.answers, typeName(mx.question!.type)], [1, [], 'MX']);
  });

  it('names: escaped as the semantic conventions say, the root as "."', () => {
    const msg = (labels: Buffer[]) => Buffer.concat([Buffer.from('00010100000100000000000000', 'hex').subarray(0, 12), ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), l])), Buffer.from([0, 0, 1, 0, 1])]);
    assert.equal(decodeMessage(msg([Buffer.from('a.b'), Buffer.from('x\\y"z')]), 100)!.question!.name, 'a\\.b.x\\\\y\\"z');
    assert.equal(decodeMessage(msg([Buffer.from([0x41, 0x09, 0x0a, 0x0d, 0x00, 0xff, 0x20])]), 100)!.question!.name, 'A\\t\\n\\r\\000\\255 ');
    assert.equal(decodeMessage(msg([Buffer.from('MiXeD'), Buffer.from('Example')]), 100)!.question!.name, 'MiXeD.Example', 'no case folding');
    assert.equal(decodeMessage(msg([]), 100)!.question!.name, '.');
    assert.equal(typeName(65), 'HTTPS');
    assert.equal(typeName(4242), 'TYPE4242');
    assert.equal(rcodeName(5), 'REFUSED');
    assert.equal(rcodeName(13), 'RCODE13');
  });

  it('compression pointers that loop or point forward are refused, never followed forever', () => {
    const header = Buffer.from('000101000001000000000000', 'hex');
    const cases = [
      Buffer.concat([header, Buffer.from([0xc0, 12]), Buffer.from([0, 1, 0, 1])]), // points at itself
      Buffer.concat([header, Buffer.from([1, 0x61, 0xc0, 12]), Buffer.from([0, 1, 0, 1])]), // a label, then back to it
      Buffer.concat([header, Buffer.from([0xc0, 16, 0, 0, 0xc0, 12]), Buffer.from([0, 1, 0, 1])]), // forward, then back
      Buffer.concat([header, Buffer.from([0x40, 0]), Buffer.from([0, 1, 0, 1])]), // reserved label type
      Buffer.concat([header, ...Array.from({ length: 130 }, () => Buffer.from([1, 0x61])), Buffer.from([0, 0, 1, 0, 1])]), // longer than 255
    ];
    for (const m of cases) assert.throws(() => decodeMessage(m, m.length), ParseError);
    // a loop in the answer section makes the message malformed too
    const loopAnswer = Buffer.concat([hex(CAPTURED.nxResponse).subarray(0, 34), Buffer.from([0xc0, 34, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])]);
    loopAnswer.writeUInt16BE(1, 6);
    assert.throws(() => decodeMessage(loopAnswer, loopAnswer.length), ParseError);
  });

  it('pairs by transaction id and peer: the same id from two servers never crosses', () => {
    const c = udpConnection('client');
    const other: Peer = { address: '10.0.0.53', port: 53, type: 'ipv4' };
    c.send('request', hex(CAPTURED.aQuery), SERVER);
    c.send('request', hex(CAPTURED.aQuery), other);
    c.send('response', hex(CAPTURED.aResponse), other);
    c.send('response', hex(CAPTURED.aResponse), SERVER);
    assert.equal(c.exchanges.length, 2);
    assert.deepEqual(c.exchanges.map((e) => [e.request.peer?.address, e.response?.peer?.address]), [['10.0.0.53', '10.0.0.53'], ['127.0.0.1', '127.0.0.1']]);
    const { d, get } = attrs(c.exchanges[0]!, c.connection.info);
    assert.equal(d.name, 'DNS A');
    assert.equal(get('server.address'), '10.0.0.53', 'the datagram\'s peer, not the unconnected socket\'s');
    assert.equal(get('server.port'), 53n);
    assert.equal(get('network.transport'), 'udp');
    assert.equal(get('dns.question.name'), 'web.bpfcol.test');
    assert.equal(get('dns.question.type'), 'A');
    assert.equal(get('dns.response.code'), 'NOERROR');
    assert.equal(get('dns.response.answer_count'), 1n);
    assert.deepEqual(get('dns.answers'), ['10.11.12.13']);
    assert.equal(d.error, undefined);
    assert.equal(d.metric?.name, 'dns.lookup.duration');
    assert.deepEqual(Object.fromEntries(d.metric!.attributes().map((a) => [a.key, getAttribute([a], a.key)])), { 'dns.question.name': 'web.bpfcol.test', 'dns.question.type': 'A', 'dns.response.code': 'NOERROR' });
    assert.equal(c.stats.garbage + c.stats.errors + c.stats.unmatched, 0);
  });

  it('errors: NXDOMAIN is an error for the client, not for the server; SERVFAIL for both', () => {
    const client = udpConnection('client');
    const server = udpConnection('server');
    const peer: Peer = { address: '127.0.0.1', port: 40000, type: 'ipv4' };
    const servfail = hex(CAPTURED.aResponse);
    servfail[3] = (servfail[3]! & 0xf0) | 2;
    for (const [q, r] of [[CAPTURED.nxQuery, hex(CAPTURED.nxResponse)], [CAPTURED.aQuery, servfail]] as const) {
      client.send('request', hex(q));
      client.send('response', r);
      server.send('request', hex(q), peer);
      server.send('response', r, peer);
    }
    const [nxC, sfC] = client.exchanges.map((e) => attrs(e, client.connection.info));
    const [nxS, sfS] = server.exchanges.map((e) => attrs(e, server.connection.info));
    assert.deepEqual([nxC!.d.error, nxC!.get('error.type'), nxC!.get('dns.response.code')], [{ type: 'NXDOMAIN' }, 'NXDOMAIN', 'NXDOMAIN']);
    assert.deepEqual([nxS!.d.error, nxS!.get('error.type')], [undefined, undefined]);
    assert.deepEqual([sfC!.d.error, sfS!.d.error], [{ type: 'SERVFAIL' }, { type: 'SERVFAIL' }]);
    assert.equal(nxS!.get('client.address'), '127.0.0.1');
    assert.equal(nxS!.get('client.port'), 40000n);
    assert.equal(nxS!.get('server.port'), 53n);
    assert.equal(nxS!.d.metric, undefined, 'servers feed no lookup metric');
    assert.equal(nxC!.get('dns.question.name'), 'nope.bpfcol.test');
  });

  it('a query on the response side, and a response on the request side, are garbage; a cut header is a hole', () => {
    const c = udpConnection('client');
    c.send('request', hex(CAPTURED.aResponse));
    c.send('response', hex(CAPTURED.aQuery));
    assert.equal(c.stats.garbage, 2);
    const cut = udpConnection('client', 8);
    cut.send('request', hex(CAPTURED.aQuery));
    assert.equal(cut.stats.holes, 1);
    assert.equal(cut.stats.garbage, 0);
    // a question cut by the capture: the message is still framed, without its question
    const part = udpConnection('client', 20);
    part.send('request', hex(CAPTURED.aQuery));
    part.send('response', hex(CAPTURED.aResponse));
    assert.equal(part.exchanges.length, 1);
    assert.equal(part.exchanges[0]!.request.message.question, undefined);
    assert.equal(dns.describe(part.exchanges[0]!, part.connection.info, DEFAULT_PRIVACY).name, 'DNS');
    // shorter than a header, captured whole: not DNS
    const short = udpConnection('client');
    short.send('request', Buffer.from('0001', 'hex'));
    assert.equal(short.stats.garbage, 1);
  });

  it('fuzz: 120,000 random and mutated datagrams: only ParseError is thrown, every call returns', () => {
    const rand = randomBytes(20251127);
    const r = () => rand(4).readUInt32LE(0);
    let parseErrors = 0;
    let decoded = 0;
    const mutate = (base: Buffer, i: number): Buffer => {
      const m = Buffer.from(base);
      switch (i % 6) {
        case 0: // truncate
          return m.subarray(0, r() % (m.length + 1));
        case 1: // flip bytes
          for (let k = 0; k < 1 + (r() % 4); k++) m[r() % m.length] = r() & 0xff;
          return m;
        case 2: {
          // splice two messages
          const other = SAMPLES[r() % SAMPLES.length]!;
          return Buffer.concat([m.subarray(0, r() % m.length), other.subarray(r() % other.length)]);
        }
        case 3: // a compression pointer anywhere, to anywhere
          if (m.length > 13) {
            const at = 12 + (r() % (m.length - 13));
            m[at] = 0xc0 | (r() & 0x3f);
            m[at + 1] = r() & 0xff;
          }
          return m;
        case 4: // counts claiming more than there is
          m.writeUInt16BE(r() & 0xffff, 4 + 2 * (r() % 4));
          return m;
        default: // random bytes
          return rand(r() % 80);
      }
    };
    const parser = new DnsParser();
    let framed = 0;
    const sink = { request: () => void framed++, response: () => void framed++, desync: () => {} };
    const clients = [udpConnection('client'), udpConnection('server'), udpConnection('client', 24)];
    const N = 120_000;
    for (let i = 0; i < N; i++) {
      const input = mutate(SAMPLES[i % SAMPLES.length]!, Math.floor(i / SAMPLES.length));
      try {
        decodeMessage(input, input.length + (i % 7 === 0 ? 10 : 0));
        decoded++;
      } catch (err) {
        if (!(err instanceof ParseError)) throw new Error(`input ${input.toString('hex')} threw ${String(err)}`);
        parseErrors++;
      }
      // the parser on a stream of its own: it returns, or throws a ParseError
      const stream = new ByteStream();
      stream.append({ position: 0, length: input.length, head: input, enterNs: 1, exitNs: 2 });
      try {
        const result = parser.parse(i % 2 ? 'response' : 'request', stream, sink);
        assert.ok(['need-more', 'invalid', 'lost'].includes(result), result);
      } catch (err) {
        if (!(err instanceof ParseError)) throw new Error(`input ${input.toString('hex')} threw ${String(err)}`);
      }
      // and through a connection, as the receiver feeds it (exceptions are counted there)
      const c = clients[i % clients.length]!;
      c.send(i % 2 ? 'response' : 'request', input, i % 3 ? SERVER : { address: '::1', port: 5353, type: 'ipv6' });
    }
    const errors = clients.reduce((n, c) => n + c.stats.errors, 0);
    assert.ok(decoded > 10_000 && parseErrors > 10_000, `both outcomes exercised: ${decoded} decoded, ${parseErrors} refused`);
    // what the connections caught were ParseErrors only: as many as decodeMessage threw for the inputs they saw
    assert.ok(errors > 0);
    assert.ok(framed > 10_000);
    for (const c of clients) for (const e of c.exchanges) dns.describe(e, c.connection.info, DEFAULT_PRIVACY);
  });
});
