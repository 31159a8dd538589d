// PostgreSQL frontend/backend protocol 3.0: simple queries ('Q') and the extended protocol
// (Parse/Bind/Describe/Execute up to Sync, prepared statements by name); each request is answered
// by messages up to ReadyForQuery ('Z'), in order (FIFO). The startup and authentication
// exchange makes no span (passwords are skipped unread); SSL accepted ('S') ends tracing (TLS).
// DataRows are skipped by length; a response whose framing falls into uncaptured bytes ends with
// the syscall whose payload ends with ReadyForQuery.
import type { ByteStream, Segment } from '../stream.ts';
import { Attrs, addServerAndPeer } from './attributes.ts';
import { consumedExit, followLost, framed, segmentEndsWith, type Start, startAt } from './framing.ts';
import { analyzeSql } from './sql.ts';
import type { ConnectionInfo, ConnectionParser, Exchange, MessageSink, ParseResult, PrivacyOptions, ProtocolModule, Side, SpanDescription } from './types.ts';

export interface PgRequest {
  /** 'query': simple protocol; 'extended': Parse/Bind/Execute... Sync; 'function': FunctionCall. */
  kind: 'query' | 'extended' | 'function';
  /** The SQL as sent (kept in memory only: spans get it with literals replaced). */
  text?: string;
  /** The text was cut by the capture size. */
  truncated?: boolean;
  /** Prepared statement name (extended). */
  statement?: string;
  /** Parse without Execute: the statement was only prepared (PQprepare). */
  prepareOnly?: boolean;
  database?: string;
}

export interface PgResponse {
  error?: { code: string; severity?: string; message?: string };
  /** CommandComplete tag of the last command: "SELECT 3", "INSERT 0 1". */
  tag?: string;
  rows: number;
}

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STATEMENTS = 1024;
const MAX_MESSAGE = 1 << 30;

// ReadyForQuery as the last bytes of a payload: 'Z', length 5, status I/T/E
const READY = ['I', 'T', 'E'].map((s) => Buffer.from([0x5a, 0, 0, 0, 5, s.charCodeAt(0)]));
const endsWithReady = (s: Segment): boolean => READY.some((r) => segmentEndsWith(s, r));

function cstring(b: Buffer, at: number): { value: string; next: number } {
  const end = b.indexOf(0, at);
  const stop = end < 0 ? b.length : end;
  return { value: b.toString('utf8', at, stop), next: stop + 1 };
}

interface Group {
  start: Start;
  text?: string;
  statement?: string;
  truncated?: boolean;
  parsed?: boolean;
  executed?: boolean;
}

interface PendingResponse {
  start: Start;
  rows: number;
  tag?: string;
  error?: PgResponse['error'];
  lost?: { lastExitNs: number };
}

export class PostgresParser implements ConnectionParser<PgRequest, PgResponse> {
  readonly #statements = new Map<string, string>();
  #database: string | undefined;
  #firstRequest = true;
  /** The startup exchange is under way: responses up to the first ReadyForQuery are not answers. */
  #startup = false;
  /** A request was seen: responses answer requests from here on. */
  #ready = false;
  /** An SSLRequest/GSSENCRequest waits for its one-byte answer. */
  #encryptionAsked = false;
  #group: Group | undefined;
  #response: PendingResponse | undefined;
  /** Mid-connection: messages of a response to a request never seen are being dropped. */
  #dropping = false;

  reset(side: Side): void {
    if (side === 'request') this.#group = undefined;
    else {
      this.#response = undefined;
      this.#dropping = false;
    }
  }

  parse(side: Side, stream: ByteStream, out: MessageSink<PgRequest, PgResponse>): ParseResult {
    return side === 'request' ? this.#requests(stream, out) : this.#responses(stream, out);
  }

  #requests(stream: ByteStream, out: MessageSink<PgRequest, PgResponse>): ParseResult {
    for (;;) {
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous();
      if (buf.length === 0) return 'lost';
      if (this.#firstRequest && buf.length >= 8) {
        const code = buf.readUInt32BE(4);
        if (code === PROTOCOL_3 || code === SSL_REQUEST || code === GSSENC_REQUEST || code === CANCEL_REQUEST) {
          const len = buf.readUInt32BE(0);
          if (len < 8 || len > 10000) return 'invalid';
          if (stream.available() < len) return 'need-more';
          if (code === PROTOCOL_3) {
            this.#firstRequest = false;
            this.#startup = true;
            this.#startupParameters(buf.subarray(8, Math.min(len, buf.length)));
          } else if (code !== CANCEL_REQUEST) {
            this.#encryptionAsked = true; // a StartupMessage may follow the answer 'N'
          }
          stream.skip(len);
          continue;
        }
      }
      if (buf.length < 5) return stream.available() > buf.length ? 'lost' : 'need-more';
      const type = String.fromCharCode(buf[0]!);
      const len = buf.readUInt32BE(1);
      if (len < 4 || len > MAX_MESSAGE || !'QPBDESHCXFpdcf'.includes(type)) return 'invalid';
      const total = 1 + len;
      if (stream.available() < total) return 'need-more';
      this.#firstRequest = false;
      const body = buf.subarray(5, Math.min(total, buf.length));
      const cut = buf.length < total;
      const start = startAt(stream);
      switch (type) {
        case 'Q': {
          stream.skip(total);
          const text = cstring(body, 0).value;
          const message: PgRequest = { kind: 'query', text };
          if (cut) message.truncated = true;
          if (this.#database !== undefined) message.database = this.#database;
          this.#requestSeen();
          out.request({ message, ...start, lastExitNs: consumedExit(stream) });
          continue;
        }
        case 'F': {
          stream.skip(total);
          const message: PgRequest = { kind: 'function' };
          if (this.#database !== undefined) message.database = this.#database;
          this.#requestSeen();
          out.request({ message, ...start, lastExitNs: consumedExit(stream) });
          continue;
        }
        case 'P': {
          const name = cstring(body, 0);
          const query = cstring(body, name.next);
          const g = (this.#group ??= { start });
          g.parsed = true;
          if (query.next > body.length && cut) g.truncated = true;
          g.text ??= query.value;
          if (name.value !== '') {
            g.statement ??= name.value;
            if (this.#statements.size >= MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value!);
            this.#statements.set(name.value, query.value);
          }
          break;
        }
        case 'B': {
          const portal = cstring(body, 0);
          const statement = cstring(body, portal.next).value;
          const g = (this.#group ??= { start });
          if (g.text === undefined && this.#statements.has(statement)) {
            g.text = this.#statements.get(statement)!;
            g.statement = statement;
          }
          break;
        }
        case 'C': {
          // Close a statement ('S') or portal ('P')
          if (body[0] === 0x53) this.#statements.delete(cstring(body, 1).value);
          this.#group ??= { start };
          break;
        }
        case 'E':
          (this.#group ??= { start }).executed = true;
          break;
        case 'D':
        case 'H':
          this.#group ??= { start };
          break;
        case 'S': {
          stream.skip(total);
          const g = this.#group ?? { start };
          this.#group = undefined;
          const message: PgRequest = { kind: 'extended' };
          if (g.text !== undefined) message.text = g.text;
          if (g.statement !== undefined) message.statement = g.statement;
          if (g.truncated) message.truncated = true;
          if (g.parsed && !g.executed) message.prepareOnly = true;
          if (this.#database !== undefined) message.database = this.#database;
          this.#requestSeen();
          out.request(framed(message, g.start, consumedExit(stream)));
          continue;
        }
        // 'p' password/SASL: never read. 'X' terminate, 'd'/'c'/'f' COPY data: part of the request before.
      }
      stream.skip(total);
    }
  }

  #requestSeen(): void {
    if (!this.#startup) this.#ready = true;
  }

  #startupParameters(b: Buffer): void {
    for (let at = 0; at < b.length && b[at] !== 0; ) {
      const key = cstring(b, at);
      const value = cstring(b, key.next);
      if (key.value === 'database') this.#database = value.value;
      else if (key.value === 'user' && this.#database === undefined) this.#database = value.value; // the server's default
      at = value.next;
    }
  }

  #responses(stream: ByteStream, out: MessageSink<PgRequest, PgResponse>): ParseResult {
    for (;;) {
      const r = this.#response;
      if (r?.lost) {
        const end = followLost(stream, r.lost, endsWithReady, () => false);
        if (end === undefined) return 'need-more';
        this.#response = undefined;
        this.#emit(r, end, out);
        continue;
      }
      if (stream.empty) return 'need-more';
      const buf = stream.contiguous();
      if (buf.length === 0) {
        if (!r) return 'lost';
        r.lost = { lastExitNs: consumedExit(stream) };
        continue;
      }
      if (this.#encryptionAsked) {
        this.#encryptionAsked = false;
        if (buf[0] === 0x53 || buf[0] === 0x47) return 'stop'; // TLS or GSS encryption from here on
        if (buf[0] === 0x4e) {
          stream.skip(1);
          continue;
        }
      }
      if (buf.length < 5) {
        if (stream.available() > buf.length && r) {
          r.lost = { lastExitNs: consumedExit(stream) };
          continue;
        }
        return 'need-more';
      }
      const type = buf[0]!;
      const len = buf.readUInt32BE(1);
      if (len < 4 || len > MAX_MESSAGE || !'RSKZTDCEIN123ntsAGHdcWv'.includes(String.fromCharCode(type))) return 'invalid';
      const total = 1 + len;
      if (stream.available() < total) return 'need-more';
      const body = buf.subarray(5, Math.min(total, buf.length));
      const dropping = this.#startup || !this.#ready || this.#dropping;
      // asynchronous messages between responses
      if (!r && (type === 0x53 || type === 0x4e || type === 0x41) && !dropping) {
        stream.skip(total);
        continue;
      }
      const pending = r ?? (this.#response = { start: startAt(stream), rows: 0 });
      stream.skip(total);
      switch (type) {
        case 0x44: // DataRow
          pending.rows++;
          break;
        case 0x43: // CommandComplete
          pending.tag = cstring(body, 0).value;
          break;
        case 0x45: // ErrorResponse
          pending.error ??= errorFields(body);
          break;
        case 0x5a: {
          // ReadyForQuery: the end of the response
          this.#response = undefined;
          if (dropping) {
            const midStream = !this.#startup;
            this.#startup = false;
            this.#dropping = false;
            this.#ready = true;
            if (midStream) out.desync(pending.start.firstEnterNs); // answered a request never seen
          } else this.#emit(pending, consumedExit(stream), out);
          break;
        }
      }
    }
  }

  #emit(r: PendingResponse, lastExitNs: number, out: MessageSink<PgRequest, PgResponse>): void {
    const message: PgResponse = { rows: r.rows };
    if (r.tag !== undefined) message.tag = r.tag;
    if (r.error) message.error = r.error;
    out.response({ message, firstEnterNs: r.start.firstEnterNs, firstExitNs: r.start.firstExitNs, lastExitNs });
  }
}

function errorFields(body: Buffer): PgResponse['error'] {
  const e: { code: string; severity?: string; message?: string } = { code: '' };
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const field = body[at]!;
    const v = cstring(body, at + 1);
    if (field === 0x43) e.code = v.value;
    else if (field === 0x56 || (field === 0x53 && e.severity === undefined)) e.severity = v.value;
    else if (field === 0x4d) e.message = v.value.slice(0, 256);
    at = v.next;
  }
  return e;
}

function returnedRows(res: PgResponse): number | undefined {
  const m = /^(?:SELECT|FETCH|MOVE|COPY) (\d+)$/.exec(res.tag ?? '');
  if (m) return Number(m[1]);
  return res.rows > 0 ? res.rows : undefined;
}

function describe(e: Exchange<PgRequest, PgResponse>, c: ConnectionInfo, privacy: PrivacyOptions): SpanDescription {
  const req = e.request.message;
  const res = e.response?.message;
  const sql = req.text !== undefined ? analyzeSql(req.text, 'postgresql', privacy.keepLiterals) : undefined;
  // a statement only prepared (Parse + Sync, no Execute) is a PREPARE round trip
  const operation = req.prepareOnly ? 'PREPARE' : sql?.operation;
  const summary = req.prepareOnly ? (sql?.summary ? `PREPARE ${sql.summary}` : 'PREPARE') : sql?.summary;
  const a = new Attrs();
  a.common('db.system.name', 'postgresql').common('db.namespace', req.database);
  a.common('db.operation.name', operation).common('db.collection.name', sql?.collection).common('db.query.summary', summary);
  a.str('db.query.text', sql?.text);
  addServerAndPeer(a, c);
  if (c.role === 'server') a.str('client.address', c.clientAddress).int('client.port', c.clientPort);
  if (res) a.int('db.response.returned_rows', returnedRows(res));
  const code = res?.error?.code || (res?.error ? 'error' : undefined);
  a.str('db.response.status_code', code).str('error.type', code);
  const metricAttributes = () => {
    const m = new Attrs().common('db.system.name', 'postgresql').common('db.namespace', req.database);
    m.common('db.operation.name', operation).common('db.collection.name', sql?.collection).common('db.query.summary', summary);
    return m.common('server.address', c.serverAddress).int('server.port', c.serverPort).common('db.response.status_code', code).common('error.type', code).list;
  };
  const d: SpanDescription = {
    name: summary ?? operation ?? (req.kind === 'function' ? 'function call' : 'postgresql'),
    attributes: a.list,
    metric: { name: c.role === 'server' ? 'db.server.operation.duration' : 'db.client.operation.duration', attributes: metricAttributes, key: `${req.database}|${summary ?? operation}|${sql?.collection}|${c.serverAddress}|${c.serverPort}|${code ?? ''}` },
  };
  // Error messages can quote values (invalid input syntax for type integer: "..."): only with the literals.
  if (code) d.error = privacy.keepLiterals && res?.error?.message ? { type: code, message: res.error.message } : { type: code };
  return d;
}

export const postgres: ProtocolModule<PgRequest, PgResponse> = {
  name: 'postgresql',
  matching: 'fifo',
  newParser: () => new PostgresParser(),
  describe,
};
