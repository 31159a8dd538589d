// DNS over UDP (RFC 1035): one message per datagram (datagram.ts hands each one over as a stream
// of its own). Queries and responses pair by transaction id and peer (matching: 'keyed'; the
// peer is joined to the key by datagram.ts). Read: the header (id, QR, opcode, TC, response
// code, counts), the first question (name, type, class) and, from responses, the A/AAAA addresses
// of the answer section. Names follow compression pointers, each of which must point before the
// previous one (real encoders only point backwards): a pointer loop cannot last.
import { formatAddress } from '../addresses.ts';
import { AF_INET, AF_INET6 } from '../layout.ts';
import type { ByteStream } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { startAt } from './framing.ts';
import { type ConnectionInfo, type ConnectionParser, type Exchange, type MessageSink, ParseError, type ParseResult, type ProtocolModule, type Side, type SpanDescription } from './types.ts';

export interface DnsQuestion {
  /** As sent (no case folding), without the root's trailing dot ("." for the root), escaped as the semantic conventions say. */
  name: string;
  type: number;
  class: number;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  /** TC: the answer did not fit the datagram. */
  truncated: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  /** The first question; absent when there is none or it was not captured. */
  question?: DnsQuestion;
  /** Responses: addresses of the A and AAAA records of the answer section (as far as captured, at most MAX_ANSWERS). */
  answers: string[];
}

const HEADER = 12;
const MAX_NAME = 255;
const MAX_JUMPS = 64;
const MAX_ANSWERS = 16;
/** Answer records looked at (a response may claim 65535). */
const MAX_RECORDS = 64;
const CUT = -1;

const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 24: 'SIG', 25: 'KEY', 28: 'AAAA', 29: 'LOC',
  33: 'SRV', 35: 'NAPTR', 36: 'KX', 37: 'CERT', 39: 'DNAME', 41: 'OPT', 42: 'APL', 43: 'DS', 44: 'SSHFP', 45: 'IPSECKEY', 46: 'RRSIG', 47: 'NSEC',
  48: 'DNSKEY', 49: 'DHCID', 50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 53: 'SMIMEA', 55: 'HIP', 59: 'CDS', 60: 'CDNSKEY', 61: 'OPENPGPKEY',
  62: 'CSYNC', 63: 'ZONEMD', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 108: 'EUI48', 109: 'EUI64', 249: 'TKEY', 250: 'TSIG', 251: 'IXFR', 252: 'AXFR',
  255: 'ANY', 256: 'URI', 257: 'CAA',
};

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI'];

/** A record type's mnemonic (RFC 3597's TYPEnnn for the others). */
export function typeName(type: number): string {
  return TYPES[type] ?? `TYPE${type}`;
}

/** A response code's mnemonic (RCODEnn for the others). */
export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

function escapeByte(b: number): string {
  if (b === 0x2e) return '\\.';
  if (b === 0x5c) return '\\\\';
  if (b === 0x22) return '\\"';
  if (b === 0x09) return '\\t';
  if (b === 0x0d) return '\\r';
  if (b === 0x0a) return '\\n';
  if (b < 32 || b > 126) return `\\${String(b).padStart(3, '0')}`;
  return String.fromCharCode(b);
}

/**
 * Reads a (possibly compressed) name at `at`. Returns the text (undefined with `skipOnly`) and the
 * offset after the name where it sits, or CUT when it runs past the captured bytes. Throws
 * ParseError on malformed names: reserved label types, pointers that do not point before the
 * previous jump, names longer than 255 bytes.
 */
function readName(buf: Buffer, at: number, skipOnly: boolean): { name: string | undefined; end: number } | typeof CUT {
  let pos = at;
  let end = -1;
  let limit = at; // every pointer must point strictly before this: jumps only go backwards
  let jumps = 0;
  let length = 0;
  let text = '';
  for (;;) {
    if (pos >= buf.length) return CUT;
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return CUT;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= limit || ++jumps > MAX_JUMPS) throw new ParseError('dns: compression pointer loop');
      limit = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new ParseError('dns: reserved label type');
    length += len + 1;
    if (length > MAX_NAME) throw new ParseError('dns: name longer than 255 bytes');
    if (pos + 1 + len > buf.length) return CUT;
    if (!skipOnly) {
      if (text) text += '.';
      for (let i = pos + 1; i <= pos + len; i++) text += escapeByte(buf[i]!);
    }
    pos += 1 + len;
  }
  return { name: skipOnly ? undefined : text || '.', end };
}

/**
 * Decodes one message from `buf` (the captured part of a datagram of `length` bytes). Throws
 * ParseError when the bytes are no DNS message; parts beyond a capture cut are left out.
 */
export function decodeMessage(buf: Buffer, length: number): DnsMessage | undefined {
  if (buf.length < HEADER) {
    if (length < HEADER) throw new ParseError('dns: shorter than a header');
    return undefined; // the header itself was not captured
  }
  const flags = buf.readUInt16BE(2);
  const m: DnsMessage = {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    answers: [],
  };
  if (m.opcode === 3 || m.opcode > 6) throw new ParseError('dns: unknown opcode');
  const cut = buf.length < length;
  let at = HEADER;
  if (m.qdcount > 0) {
    const q = readName(buf, at, false);
    if (q === CUT || q.end + 4 > buf.length) {
      if (!cut) throw new ParseError('dns: question past the end of the message');
      return m;
    }
    m.question = { name: q.name!, type: buf.readUInt16BE(q.end), class: buf.readUInt16BE(q.end + 2) };
    at = q.end + 4;
    for (let i = 1; i < m.qdcount; i++) {
      const n = readName(buf, at, true);
      if (n === CUT || n.end + 4 > buf.length) return m;
      at = n.end + 4;
    }
  }
  if (m.response) {
    for (let i = 0; i < Math.min(m.ancount, MAX_RECORDS) && m.answers.length < MAX_ANSWERS; i++) {
      const n = readName(buf, at, true);
      if (n === CUT || n.end + 10 > buf.length) break;
      const type = buf.readUInt16BE(n.end);
      const klass = buf.readUInt16BE(n.end + 2);
      const rdlength = buf.readUInt16BE(n.end + 8);
      const rdata = n.end + 10;
      if (rdata + rdlength > buf.length) break;
      if (klass === 1 && ((type === 1 && rdlength === 4) || (type === 28 && rdlength === 16))) {
        const addr = formatAddress(type === 1 ? AF_INET : AF_INET6, buf.subarray(rdata, rdata + rdlength));
        if (addr) m.answers.push(addr.address);
      }
      at = rdata + rdlength;
    }
  }
  return m;
}

export class DnsParser implements ConnectionParser<DnsMessage, DnsMessage> {
  reset(_side: Side): void {}

  /** One datagram: the stream holds one message. */
  parse(side: Side, stream: ByteStream, out: MessageSink<DnsMessage, DnsMessage>): ParseResult {
    if (stream.empty) return 'need-more';
    const seg = stream.segmentAt(0);
    if (!seg) return 'need-more';
    const buf = stream.contiguous(seg.length);
    const m = decodeMessage(buf, stream.available());
    if (!m) return 'lost';
    if (m.response !== (side === 'response')) return 'invalid';
    const start = startAt(stream);
    stream.skip(stream.available());
    const f = { message: m, key: m.id, firstEnterNs: start.firstEnterNs, firstExitNs: start.firstExitNs, lastExitNs: seg.exitNs };
    if (side === 'request') out.request(f);
    else out.response(f);
    return 'need-more';
  }
}

/**
 * ERROR status: on a client, every response code but NOERROR (the lookup gave no address:
 * NXDOMAIN is what getaddrinfo reports as a host not found); on a server, the codes saying the
 * server failed (SERVFAIL, NOTIMP), as HTTP marks only 5xx on servers: NXDOMAIN and REFUSED are
 * answers it gave as it should.
 */
function isError(rcode: number, server: boolean): boolean {
  return server ? rcode === 2 || rcode === 4 : rcode !== 0;
}

function describe(e: Exchange<DnsMessage, DnsMessage>, c: ConnectionInfo): SpanDescription {
  const q = e.request.message;
  const r = e.response?.message;
  const question = q.question ?? r?.question;
  const type = question ? typeName(question.type) : undefined;
  const server = c.role === 'server';
  const peer = e.request.peer ?? e.response?.peer;
  // the other end of each datagram, not the socket's (unconnected sockets have none)
  const conn: ConnectionInfo = { ...c };
  if (peer) {
    conn.peerAddress = peer.address;
    conn.peerPort = peer.port;
    conn.networkType = peer.type;
    if (server) {
      conn.clientAddress = peer.address;
      conn.clientPort = peer.port;
    } else {
      conn.serverAddress = peer.address;
      conn.serverPort = peer.port;
    }
  }
  const a = new Attrs();
  a.str('dns.question.name', question?.name);
  a.common('dns.question.type', type);
  const rcode = r ? rcodeName(r.rcode) : undefined;
  a.common('dns.response.code', rcode);
  if (r) a.int('dns.response.answer_count', r.ancount);
  a.strings('dns.answers', r?.answers);
  addServerAndPeer(a, conn);
  if (server) a.common('client.address', conn.clientAddress).int('client.port', conn.clientPort);
  const error = r && isError(r.rcode, server) ? rcode : undefined;
  a.common('error.type', error);
  const d: SpanDescription = { name: type ? `DNS ${type}` : 'DNS', attributes: a.list };
  if (error) d.error = { type: error };
  if (!server) {
    // dns.lookup.duration: the semantic conventions require the name (max_series bounds the series)
    const name = question?.name;
    d.metric = {
      name: 'dns.lookup.duration',
      attributes: () => new Attrs().str('dns.question.name', name).common('dns.question.type', type).common('dns.response.code', rcode).common('error.type', error).list,
      key: `${name}|${type}|${rcode}`,
    };
  }
  return d;
}

export const dns: ProtocolModule<DnsMessage, DnsMessage> = {
  name: 'dns',
  matching: 'keyed',
  datagrams: true,
  newParser: () => new DnsParser(),
  describe,
};
