// MySQL / MariaDB client/server protocol: the handshake (no span; the auth response is skipped
// unread, an SSL request ends tracing), then commands (a packet with sequence id 0) answered in
// order (FIFO): COM_QUERY with text result sets, prepared statements (COM_STMT_PREPARE learns
// the statement id, COM_STMT_EXECUTE runs it, COM_STMT_CLOSE gets no answer), COM_INIT_DB,
// COM_PING... Result sets end with an EOF packet or, with CLIENT_DEPRECATE_EOF, an OK packet
// with a 0xfe header: told apart by length, so a connection seen mid-way parses too. Rows are
// skipped by length; a response whose framing falls into uncaptured bytes ends with the syscall
// whose payload ends with such a terminator.
import type { ByteStream, Segment } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { type Start, consumedExit, followLost, startAt } from './framing.ts';
import { analyzeSql } from './sql.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, MessageSink, ParseResult, PrivacyOptions, ProtocolModule, Side, SpanDescription } from './types.ts';

export const COM = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  STATISTICS: 0x09,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

const COMMAND_NAMES: Record<number, string> = {
  [COM.QUIT]: 'QUIT',
  [COM.INIT_DB]: 'INIT_DB',
  [COM.QUERY]: 'QUERY',
  [COM.FIELD_LIST]: 'FIELD_LIST',
  [COM.STATISTICS]: 'STATISTICS',
  [COM.PING]: 'PING',
  [COM.CHANGE_USER]: 'CHANGE_USER',
  [COM.STMT_PREPARE]: 'PREPARE',
  [COM.STMT_EXECUTE]: 'EXECUTE',
  [COM.STMT_SEND_LONG_DATA]: 'SEND_LONG_DATA',
  [COM.STMT_CLOSE]: 'CLOSE_STMT',
  [COM.STMT_RESET]: 'RESET_STMT',
  [COM.SET_OPTION]: 'SET_OPTION',
  [COM.STMT_FETCH]: 'FETCH',
  [COM.RESET_CONNECTION]: 'RESET_CONNECTION',
};

const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH_LENENC = 0x200000;
const CLIENT_DEPRECATE_EOF = 0x1000000;
const SERVER_MORE_RESULTS_EXISTS = 0x8;
const MAX_PACKET = 0xffffff;
const MAX_STATEMENTS = 1024;

export interface MysqlRequest {
  command: number;
  /** COM_QUERY / COM_STMT_PREPARE text, or the prepared statement's for COM_STMT_EXECUTE (memory only). */
  text?: string;
  truncated?: boolean;
  statementId?: number;
  database?: string;
  /** 'mysql' or 'mariadb' (from the server's greeting). */
  system: string;
}

export interface MysqlResponse {
  error?: { code: number; state?: string; message?: string };
  rows: number;
  affectedRows?: number;
}

/** Reads a length-encoded integer; [value, next] or undefined when cut. */
function lenenc(b: Buffer, at: number): [number, number] | undefined {
  if (at >= b.length) return undefined;
  const first = b[at]!;
  if (first < 0xfb) return [first, at + 1];
  if (first === 0xfc) return at + 3 <= b.length ? [b.readUInt16LE(at + 1), at + 3] : undefined;
  if (first === 0xfd) return at + 4 <= b.length ? [b.readUIntLE(at + 1, 3), at + 4] : undefined;
  if (first === 0xfe) return at + 9 <= b.length ? [Number(b.readBigUInt64LE(at + 1)), at + 9] : undefined;
  return [0, at + 1]; // 0xfb NULL, 0xff
}

/** Whether a payload ends with a result set's last packet (EOF, or OK with a 0xfe header) ending the response. */
function endsWithTerminator(s: Segment): boolean {
  const b = s.head.length === s.length ? s.head : s.tail;
  if (!b) return false;
  const n = b.length;
  // EOF: 05 00 00 seq fe warnings(2) status(2)
  if (n >= 9 && b[n - 9] === 5 && b[n - 8] === 0 && b[n - 7] === 0 && b[n - 5] === 0xfe) return (b.readUInt16LE(n - 2) & SERVER_MORE_RESULTS_EXISTS) === 0;
  // OK (deprecate EOF): 07 00 00 seq fe 00 00 status(2) warnings(2)
  if (n >= 11 && b[n - 11] === 7 && b[n - 10] === 0 && b[n - 9] === 0 && (b[n - 7] === 0xfe || b[n - 7] === 0)) return (b.readUInt16LE(n - 4) & SERVER_MORE_RESULTS_EXISTS) === 0;
  return false;
}

interface Expected {
  command: number;
  statementText?: string;
}

type Phase =
  | { kind: 'first' }
  | { kind: 'columns'; remaining: number }
  | { kind: 'rows' }
  | { kind: 'prepare'; params: number; columns: number; eofs: boolean }
  | { kind: 'lost'; lastExitNs: number };

interface PendingResponse {
  expected: Expected;
  start: Start;
  phase: Phase;
  rows: number;
  affectedRows?: number;
  error?: MysqlResponse['error'];
  /** COM_STMT_PREPARE: the id the server gave the statement. */
  statementId?: number;
}

export class MysqlParser implements ConnectionParser<MysqlRequest, MysqlResponse> {
  #system = 'mysql';
  #database: string | undefined;
  #deprecateEof: boolean | undefined;
  /** The connection phase (greeting, auth) is under way on the server's side. */
  #handshake = false;
  #sawFirstResponse = false;
  /** Commands sent and not answered yet: how to read their responses. */
  #expected: Expected[] = [];
  readonly #statements = new Map<number, string>();
  /** Texts of COM_STMT_PREPARE waiting for their statement id. */
  #preparing: string[] = [];
  #response: PendingResponse | undefined;
  #continuation = { request: false, response: false };

  reset(side: Side): void {
    if (side === 'response') this.#response = undefined;
    this.#continuation[side] = false;
  }

  parse(side: Side, stream: ByteStream, out: MessageSink<MysqlRequest, MysqlResponse>): ParseResult {
    return side === 'request' ? this.#requests(stream, out) : this.#responses(stream, out);
  }

  #requests(stream: ByteStream, out: MessageSink<MysqlRequest, MysqlResponse>): ParseResult {
    for (;;) {
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous();
      if (buf.length === 0) return 'lost';
      if (buf.length < 4) return stream.available() > buf.length ? 'lost' : 'need-more';
      const len = buf.readUIntLE(0, 3);
      const seq = buf[3]!;
      const total = 4 + len;
      if (stream.available() < total) {
        if (buf.length >= 5 && seq === 0 && !(buf[4]! in COMMAND_NAMES) && buf[4] !== 0x03) return 'invalid';
        return 'need-more';
      }
      const payload = buf.subarray(4, Math.min(total, buf.length));
      const cut = buf.length < total;
      const start = startAt(stream);
      const continued = this.#continuation.request;
      this.#continuation.request = len === MAX_PACKET;
      stream.skip(total);
      if (continued) continue;
      if (seq !== 0) {
        // The handshake response (sequence 1) tells capabilities and the database; later ones are auth.
        if (seq === 1 && this.#handshake) {
          const r = this.#handshakeResponse(payload);
          if (r === 'stop') return 'stop';
        }
        continue;
      }
      if (len === 0) return 'invalid';
      const command = payload[0]!;
      if (!(command in COMMAND_NAMES) && command !== COM.QUERY) {
        // Unknown command: still answered once.
        this.#expect({ command }, out, start, { command, system: this.#system }, stream);
        continue;
      }
      const message: MysqlRequest = { command, system: this.#system };
      if (this.#database !== undefined) message.database = this.#database;
      if (command === COM.QUERY || command === COM.STMT_PREPARE || command === COM.INIT_DB) {
        message.text = payload.toString('utf8', 1);
        if (cut) message.truncated = true;
      }
      if (command === COM.STMT_EXECUTE || command === COM.STMT_CLOSE || command === COM.STMT_RESET || command === COM.STMT_SEND_LONG_DATA || command === COM.STMT_FETCH) {
        if (payload.length >= 5) {
          message.statementId = payload.readUInt32LE(1);
          const text = this.#statements.get(message.statementId);
          if (text !== undefined) message.text = text;
          if (command === COM.STMT_CLOSE) this.#statements.delete(message.statementId);
        }
      }
      if (command === COM.INIT_DB && message.text !== undefined) this.#database = message.text;
      if (command === COM.STMT_PREPARE && message.text !== undefined) {
        this.#preparing.push(message.text);
        if (this.#preparing.length > 64) this.#preparing.shift();
      }
      if (command === COM.STMT_CLOSE || command === COM.STMT_SEND_LONG_DATA || command === COM.QUIT) {
        out.request({ message, ...start, lastExitNs: consumedExit(stream), noResponse: true });
        continue;
      }
      const expected: Expected = { command };
      if (message.text !== undefined) expected.statementText = message.text;
      this.#expect(expected, out, start, message, stream);
    }
  }

  #expect(expected: Expected, out: MessageSink<MysqlRequest, MysqlResponse>, start: Start, message: MysqlRequest, stream: ByteStream): void {
    this.#expected.push(expected);
    if (this.#expected.length > 1024) this.#expected.shift();
    out.request({ message, ...start, lastExitNs: consumedExit(stream) });
  }

  #handshakeResponse(p: Buffer): 'stop' | undefined {
    if (p.length < 4) return undefined;
    const caps = p.readUInt32LE(0);
    this.#deprecateEof = (caps & CLIENT_DEPRECATE_EOF) !== 0;
    if (caps & CLIENT_SSL && p.length <= 36) return 'stop'; // SSLRequest: TLS from here on
    // capabilities(4) max_packet(4) charset(1) filler(23) user\0 auth-response db\0 ...
    let at = 32;
    const userEnd = p.indexOf(0, at);
    if (userEnd < 0) return undefined;
    at = userEnd + 1;
    if (caps & CLIENT_PLUGIN_AUTH_LENENC) {
      const l = lenenc(p, at);
      if (!l) return undefined;
      at = l[1] + l[0];
    } else if (caps & CLIENT_SECURE_CONNECTION) {
      at += 1 + (p[at] ?? 0);
    } else {
      const end = p.indexOf(0, at);
      at = end < 0 ? p.length : end + 1;
    }
    if (caps & CLIENT_CONNECT_WITH_DB && at < p.length) {
      const end = p.indexOf(0, at);
      const db = p.toString('utf8', at, end < 0 ? p.length : end);
      if (db) this.#database = db;
    }
    return undefined;
  }

  #responses(stream: ByteStream, out: MessageSink<MysqlRequest, MysqlResponse>): ParseResult {
    for (;;) {
      const r = this.#response;
      if (r?.phase.kind === 'lost') {
        const end = followLost(stream, r.phase, endsWithTerminator, () => false);
        if (end === undefined) return 'need-more';
        this.#finish(r, end, out);
        continue;
      }
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous();
      if (buf.length < 4) {
        if (r && stream.available() > buf.length) {
          r.phase = { kind: 'lost', lastExitNs: consumedExit(stream) };
          continue;
        }
        return buf.length === 0 ? 'lost' : 'need-more';
      }
      const len = buf.readUIntLE(0, 3);
      const seq = buf[3]!;
      const total = 4 + len;
      if (stream.available() < total) return 'need-more';
      const payload = buf.subarray(4, Math.min(total, buf.length));
      const first = payload[0];
      const continued = this.#continuation.response;
      this.#continuation.response = len === MAX_PACKET;
      if (!this.#sawFirstResponse) {
        this.#sawFirstResponse = true;
        if (seq === 0 && first === 0x0a) {
          // The server's greeting: protocol 10 and its version.
          const version = payload.toString('latin1', 1, Math.max(1, payload.indexOf(0, 1)));
          if (/mariadb/i.test(version)) this.#system = 'mariadb';
          this.#handshake = true;
          stream.skip(total);
          continue;
        }
      }
      if (this.#handshake) {
        stream.skip(total);
        // auth switch (0xfe) and more data (0x01) continue; OK or ERR ends the connection phase
        if (seq > 0 && (first === 0x00 || first === 0xff)) this.#handshake = false;
        continue;
      }
      if (continued) {
        stream.skip(total);
        continue;
      }
      let pending = r;
      if (!pending) {
        const expected = this.#expected.shift();
        if (!expected || seq !== 1) {
          // answers a command never seen (bpfcol attached mid-way): skip it
          const start = startAt(stream);
          if (!expected) {
            stream.skip(total);
            out.desync(start.firstEnterNs);
            continue;
          }
          if (seq !== 1) {
            this.#expected.unshift(expected);
            stream.skip(total);
            continue;
          }
        }
        pending = this.#response = { expected: expected!, start: startAt(stream), phase: { kind: 'first' }, rows: 0 };
      }
      stream.skip(total);
      if (this.#packet(pending, payload, len)) this.#finish(pending, consumedExit(stream), out);
    }
  }

  /** Handles one packet of a response; true when it was the last. */
  #packet(r: PendingResponse, p: Buffer, len: number): boolean {
    const first = p[0];
    if (first === undefined) return false; // not captured: keep reading by length
    const phase = r.phase;
    switch (phase.kind) {
      case 'first': {
        if (first === 0xff) {
          r.error = errPacket(p);
          return true;
        }
        if (r.expected.command === COM.STATISTICS) return true; // a plain string
        if (first === 0x00) {
          if (r.expected.command === COM.STMT_PREPARE && p.length >= 9) {
            r.statementId = p.readUInt32LE(1);
            const columns = p.readUInt16LE(5);
            const params = p.readUInt16LE(7);
            if (params + columns === 0) return true;
            // EOF packets after each group only without CLIENT_DEPRECATE_EOF (unknown: extra ones are skipped later)
            r.phase = { kind: 'prepare', params, columns, eofs: this.#deprecateEof === false };
            return false;
          }
          const ok = okPacket(p);
          if (ok.affectedRows !== undefined) r.affectedRows = (r.affectedRows ?? 0) + ok.affectedRows;
          return !ok.more;
        }
        if (first === 0xfb) return false; // LOCAL INFILE: the client sends the file, the server answers OK
        if (r.expected.command === COM.FIELD_LIST) {
          r.phase = { kind: 'rows' };
          return this.#packet(r, p, len);
        }
        const count = lenenc(p, 0);
        if (!count || count[0] === 0) return true;
        r.phase = { kind: 'columns', remaining: count[0] };
        return false;
      }
      case 'columns':
        if (phase.remaining > 0) {
          phase.remaining--;
          return false;
        }
        r.phase = { kind: 'rows' };
        if (first === 0xfe && len === 5) return false; // the EOF after column definitions (no CLIENT_DEPRECATE_EOF)
        return this.#packet(r, p, len);
      case 'rows': {
        if (first === 0xff) {
          r.error = errPacket(p);
          return true;
        }
        if (first === 0xfe && len < MAX_PACKET) {
          // EOF (status after warnings) or OK with a 0xfe header
          const more = len === 5 ? (p.length >= 5 ? (p.readUInt16LE(3) & SERVER_MORE_RESULTS_EXISTS) !== 0 : false) : okPacket(p).more;
          if (more) r.phase = { kind: 'first' };
          return !more;
        }
        r.rows++;
        return false;
      }
      case 'prepare':
        if (phase.eofs && first === 0xfe && len === 5) return phase.params === 0 && phase.columns === 0;
        if (phase.params > 0) {
          phase.params--;
          return phase.params === 0 && phase.columns === 0 && !phase.eofs;
        }
        if (phase.columns > 0) phase.columns--;
        return phase.columns === 0 && !phase.eofs;
      case 'lost':
        return false;
    }
  }

  #finish(r: PendingResponse, lastExitNs: number, out: MessageSink<MysqlRequest, MysqlResponse>): void {
    this.#response = undefined;
    if (r.statementId !== undefined && r.expected.command === COM.STMT_PREPARE) {
      const text = this.#preparing.shift() ?? r.expected.statementText;
      if (text !== undefined) {
        if (this.#statements.size >= MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value!);
        this.#statements.set(r.statementId, text);
      }
    } else if (r.expected.command === COM.STMT_PREPARE) this.#preparing.shift();
    const message: MysqlResponse = { rows: r.rows };
    if (r.error) message.error = r.error;
    if (r.affectedRows !== undefined) message.affectedRows = r.affectedRows;
    out.response({ message, firstEnterNs: r.start.firstEnterNs, firstExitNs: r.start.firstExitNs, lastExitNs });
  }
}

function errPacket(p: Buffer): MysqlResponse['error'] {
  const e: { code: number; state?: string; message?: string } = { code: p.length >= 3 ? p.readUInt16LE(1) : 0 };
  if (p.length >= 9 && p[3] === 0x23) {
    e.state = p.toString('latin1', 4, 9);
    e.message = p.toString('utf8', 9, Math.min(p.length, 9 + 256));
  } else if (p.length > 3) e.message = p.toString('utf8', 3, Math.min(p.length, 3 + 256));
  return e;
}

function okPacket(p: Buffer): { affectedRows?: number; more: boolean } {
  const affected = lenenc(p, 1);
  if (!affected) return { more: false };
  const insertId = lenenc(p, affected[1]);
  if (!insertId || insertId[1] + 2 > p.length) return { affectedRows: affected[0], more: false };
  return { affectedRows: affected[0], more: (p.readUInt16LE(insertId[1]) & SERVER_MORE_RESULTS_EXISTS) !== 0 };
}

function describe(e: Exchange<MysqlRequest, MysqlResponse>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const commandName = COMMAND_NAMES[req.command] ?? `COMMAND_${req.command}`;
  const sqlCommand = req.command === COM.QUERY || req.command === COM.STMT_EXECUTE || req.command === COM.STMT_PREPARE;
  const sql = sqlCommand && req.text !== undefined ? analyzeSql(req.text, 'mysql', privacy.keepLiterals) : undefined;
  const operation = req.command === COM.STMT_PREPARE ? 'PREPARE' : req.command === COM.QUERY || req.command === COM.STMT_EXECUTE ? sql?.operation : commandName;
  const summary = req.command === COM.STMT_PREPARE ? (sql?.summary ? `PREPARE ${sql.summary}` : 'PREPARE') : sql?.summary;
  const database = req.command === COM.INIT_DB ? req.text : req.database;
  const a = new Attrs();
  a.str('db.system.name', req.system).str('db.namespace', database);
  a.str('db.operation.name', operation).str('db.collection.name', sql?.collection).str('db.query.summary', summary);
  a.str('db.query.text', sql?.text);
  addServerAndPeer(a, c);
  if (c.role === 'server') a.str('client.address', c.clientAddress).int('client.port', c.clientPort);
  if (res && res.rows > 0) a.int('db.response.returned_rows', res.rows);
  const code = res?.error ? String(res.error.code) : undefined;
  a.str('db.response.status_code', code).str('error.type', code);
  const metricAttributes = () => {
    const m = new Attrs().common('db.system.name', req.system).common('db.namespace', database);
    m.common('db.operation.name', operation).common('db.collection.name', sql?.collection).common('db.query.summary', summary);
    return m.common('server.address', c.serverAddress).int('server.port', c.serverPort).common('db.response.status_code', code).common('error.type', code).list;
  };
  const d: SpanDescription = {
    name: summary ?? operation ?? req.system,
    attributes: a.list,
    metric: { name: c.role === 'server' ? 'db.server.operation.duration' : 'db.client.operation.duration', attributes: metricAttributes, key: `${req.system}|${database}|${summary ?? operation}|${sql?.collection}|${c.serverAddress}|${c.serverPort}|${code ?? ''}` },
  };
  // Error messages can quote values: only with the literals.
  if (code) d.error = privacy.keepLiterals && res?.error?.message ? { type: code, message: res.error.message } : { type: code };
  return d;
}

export const mysql: ProtocolModule<MysqlRequest, MysqlResponse> = {
  name: 'mysql',
  matching: 'fifo',
  newParser: () => new MysqlParser(),
  describe,
};
