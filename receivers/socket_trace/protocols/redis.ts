// Redis RESP2 and RESP3: commands (arrays of bulk strings, or inline commands) and replies of
// every type, pipelined (FIFO). Bulk strings are skipped by length, so big values need not be
// captured; a reply whose framing falls into uncaptured bytes ends with its syscall's payload.
import type { ByteStream } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { consumedExit, startAt } from './framing.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, MessageSink, ParseResult, PrivacyOptions, ProtocolModule, Side, SpanDescription } from './types.ts';

export interface RedisCommand {
  /** Upper case, e.g. GET; for container commands with a subcommand, both (CLIENT SETNAME). */
  name: string;
  /** Arguments after the name (captured ones; big values are left out). */
  args: string[];
  argCount: number;
  /** The database selected when it was sent. */
  database: number;
}

export interface RedisReply {
  /** '-' and '!' replies: the error's first word (ERR, WRONGTYPE...) and its text. */
  error?: { code: string; message: string };
}

const CONTAINERS = new Set(['CLIENT', 'CONFIG', 'CLUSTER', 'COMMAND', 'SCRIPT', 'XINFO', 'XGROUP', 'OBJECT', 'MEMORY', 'ACL', 'FUNCTION', 'MODULE', 'SLOWLOG', 'LATENCY', 'PUBSUB']);
/** After these, replies no longer answer commands one by one. */
const STOPS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR', 'SYNC', 'PSYNC']);
const MAX_ARG_TEXT = 64;
const MAX_DEPTH = 16;

const NEED = -1;
const LOST = -2;
const BAD = -3;

/** Reads a decimal line starting at i (after the type byte); returns [value, index after CRLF] or NEED/BAD. */
function line(buf: Buffer, i: number): [number, number] | number {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return buf.length - i > 32 ? BAD : NEED;
  const text = buf.toString('latin1', i, eol);
  const n = Number(text);
  if (text === '' || !Number.isInteger(n)) return BAD;
  return [n, eol + 2];
}

/**
 * Scans one RESP value at i. Returns the index after it (beyond buf.length when it ends in a bulk
 * string that was not captured whole: only its length is known), or NEED / LOST / BAD.
 * `cut`: buf stops where the kernel stopped capturing (more bytes exist past it).
 */
function scan(buf: Buffer, i: number, cut: boolean, depth: number, onError?: (code: string, message: string) => void): number {
  if (i >= buf.length) return cut ? LOST : NEED;
  if (depth > MAX_DEPTH) return BAD;
  const type = buf[i]!;
  switch (type) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
    case 0x5f: // _ null
    case 0x2c: // , double
    case 0x23: // # boolean
    case 0x28: {
      // ( big number
      const eol = buf.indexOf('\r\n', i + 1);
      if (eol < 0) return cut ? LOST : buf.length - i > 65536 ? BAD : NEED;
      if (type === 0x2d && onError) {
        const text = buf.toString('latin1', i + 1, eol);
        const sp = text.indexOf(' ');
        onError(sp < 0 ? text : text.slice(0, sp), text);
      }
      return eol + 2;
    }
    case 0x24: // $ bulk string
    case 0x21: // ! bulk error
    case 0x3d: {
      // = verbatim string
      const l = line(buf, i + 1);
      if (typeof l === 'number') return l === NEED && cut ? LOST : l;
      const [len, at] = l;
      if (len === -1) return at;
      if (len < 0 || len > 512 * 1024 * 1024) return BAD;
      if (type === 0x21 && onError) {
        const text = buf.toString('latin1', at, Math.min(at + len, buf.length));
        const sp = text.indexOf(' ');
        onError(sp < 0 ? text : text.slice(0, sp), text);
      }
      return at + len + 2;
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: // > push
    case 0x25: // % map
    case 0x7c: {
      // | attribute
      const l = line(buf, i + 1);
      if (typeof l === 'number') return l === NEED && cut ? LOST : l;
      let [count, at] = l;
      if (count === -1) return at;
      if (count < 0 || count > 1 << 24) return BAD;
      if (type === 0x25 || type === 0x7c) count *= 2;
      for (let k = 0; k < count; k++) {
        const end = scan(buf, at, cut, depth + 1, onError);
        if (end < 0) return end;
        if (end > buf.length && k < count - 1) return cut ? LOST : NEED; // the next element is not captured
        at = end;
      }
      // an attribute precedes the reply it describes
      return type === 0x7c ? scan(buf, at, cut, depth + 1, onError) : at;
    }
  }
  return BAD;
}

/** Bulk string arguments of a command array (as captured). */
/**
 * Bulk string arguments of a command array (as captured). `lost`: the command goes on past what
 * was captured (only its first arguments are known; its end is its syscall's).
 */
function commandArgs(buf: Buffer, count: number, at: number, cut: boolean): { args: string[]; end: number; lost?: boolean } | number {
  const args: string[] = [];
  const lost = () => (cut && args.length ? { args, end: at, lost: true } : cut ? LOST : NEED);
  for (let k = 0; k < count; k++) {
    if (at >= buf.length) return lost();
    if (buf[at] !== 0x24) return BAD;
    const l = line(buf, at + 1);
    if (typeof l === 'number') return l === NEED ? lost() : l;
    const [len, start] = l;
    if (len < 0) return BAD;
    const end = start + len + 2;
    if (end > buf.length && k < count - 1) {
      args.push(buf.toString('latin1', start, Math.min(start + Math.min(len, MAX_ARG_TEXT), buf.length)));
      return lost();
    }
    if (k < 3 || args.length < 32) args.push(buf.toString('latin1', start, Math.min(start + Math.min(len, MAX_ARG_TEXT), buf.length)));
    at = end;
  }
  return { args, end: at };
}

export class RedisParser implements ConnectionParser<RedisCommand, RedisReply> {
  #database = 0;
  #stopAfterReply = false;

  reset(_side: Side): void {}

  parse(side: Side, stream: ByteStream, out: MessageSink<RedisCommand, RedisReply>): ParseResult {
    for (;;) {
      if (stream.empty) return this.#stopAfterReply && side === 'response' ? 'stop' : 'need-more';
      const buf = stream.contiguous(1 << 20);
      if (buf.length === 0) return 'lost';
      const cut = stream.available() > buf.length;
      const start = startAt(stream);
      if (side === 'request') {
        const r = this.#command(buf, cut);
        if (r === NEED) return 'need-more';
        if (r === BAD) return 'invalid';
        if (r === LOST) return 'lost';
        if (typeof r === 'number') return 'invalid';
        if (r.lost) {
          // the rest of the command was not captured: it ends with its syscall's payload
          const seg = stream.segmentAt(0)!;
          stream.skip(seg.position + seg.length - stream.position);
        } else {
          if (r.end > stream.available()) return 'need-more';
          stream.skip(r.end);
        }
        out.request({ message: r.command, ...start, lastExitNs: consumedExit(stream) });
      } else {
        let error: RedisReply['error'];
        const end = scan(buf, 0, cut, 0, (code, message) => {
          error ??= { code, message: message.slice(0, 256) };
        });
        if (end === NEED) return 'need-more';
        if (end === BAD) return 'invalid';
        if (buf[0] === 0x3e) {
          // RESP3 push: not an answer to a command
          if (end === LOST) stream.skipToNextSegment();
          else if (end > stream.available()) return 'need-more';
          else stream.skip(end);
          continue;
        }
        if (end === LOST) {
          // The reply's framing went into uncaptured bytes: it ends with this syscall's payload,
          // and replies after it in that payload are lost.
          const seg = stream.segmentAt(0)!;
          stream.skip(seg.position + seg.length - stream.position);
          out.response({ message: error ? { error } : {}, ...start, lastExitNs: seg.exitNs });
          out.desync(seg.enterNs);
          continue;
        }
        if (end > stream.available()) return 'need-more';
        stream.skip(end);
        out.response({ message: error ? { error } : {}, ...start, lastExitNs: consumedExit(stream) });
      }
    }
  }

  #command(buf: Buffer, cut: boolean): { command: RedisCommand; end: number; lost?: boolean } | number {
    let args: string[];
    let count: number;
    let end: number;
    let lost = false;
    if (buf[0] === 0x2a) {
      const l = line(buf, 1);
      if (typeof l === 'number') return l === NEED && cut ? LOST : l;
      const [n, at] = l;
      if (n < 1 || n > 1 << 20) return BAD;
      const r = commandArgs(buf, n, at, cut);
      if (typeof r === 'number') return r;
      ({ args, end } = r);
      lost = r.lost === true;
      count = n;
    } else {
      // inline command: words up to CRLF
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return buf.length > 4096 || cut ? BAD : NEED;
      const text = buf.toString('latin1', 0, eol);
      if (!/^[A-Za-z]+( |$)/.test(text) || /[\x00-\x08\x0e-\x1f\x7f-\xff]/.test(text)) return BAD;
      args = text.split(' ').filter((w) => w !== '');
      count = args.length;
      end = eol + 2;
    }
    let name = (args[0] ?? '').toUpperCase();
    let rest = args.slice(1);
    if (CONTAINERS.has(name) && rest.length) {
      name = `${name} ${rest[0]!.toUpperCase()}`;
      rest = rest.slice(1);
    }
    if (name === 'SELECT' && rest[0] !== undefined && /^\d+$/.test(rest[0])) this.#database = Number(rest[0]);
    if (STOPS.has(name)) this.#stopAfterReply = true;
    const command = { name, args: rest, argCount: Math.max(0, count - name.split(' ').length), database: this.#database };
    return lost ? { command, end, lost } : { command, end };
  }
}

function describe(e: Exchange<RedisCommand, RedisReply>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const cmd = e.request.message;
  const error = e.response?.message.error;
  const a = new Attrs();
  a.common('db.system.name', 'redis').common('db.namespace', String(cmd.database)).common('db.operation.name', cmd.name);
  const args = privacy.keepLiterals ? cmd.args.join(' ') : Array.from({ length: cmd.argCount }, () => '?').join(' ');
  a.str('db.query.text', args ? `${cmd.name} ${args}` : cmd.name);
  addServerAndPeer(a, c);
  if (c.role === 'server') a.str('client.address', c.clientAddress).int('client.port', c.clientPort);
  a.str('db.response.status_code', error?.code);
  a.str('error.type', error?.code);
  const metricAttributes = () =>
    new Attrs()
      .common('db.system.name', 'redis')
      .common('db.operation.name', cmd.name)
      .common('db.namespace', String(cmd.database))
      .common('server.address', c.serverAddress)
      .int('server.port', c.serverPort)
      .common('error.type', error?.code).list;
  const d: SpanDescription = {
    name: cmd.name || 'redis',
    attributes: a.list,
    metric: { name: c.role === 'server' ? 'db.server.operation.duration' : 'db.client.operation.duration', attributes: metricAttributes, key: `${cmd.name}|${cmd.database}|${c.serverAddress}|${c.serverPort}|${error?.code ?? ''}` },
  };
  // Error texts can quote arguments: only with the literals.
  if (error) d.error = privacy.keepLiterals ? { type: error.code, message: error.message } : { type: error.code };
  return d;
}

export const redis: ProtocolModule<RedisCommand, RedisReply> = {
  name: 'redis',
  matching: 'fifo',
  newParser: () => new RedisParser(),
  describe,
};
