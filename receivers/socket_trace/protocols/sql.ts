// SQL text for spans: literals replaced by '?' (strings, numbers, dollar-quoted bodies; comments
// dropped), and the operation and tables for db.operation.name, db.collection.name and
// db.query.summary. One pass over the text, no SQL parser: good for what clients send.

export type Dialect = 'postgresql' | 'mysql';

export interface SqlInfo {
  /** db.query.text: literals replaced by '?' unless kept. */
  text: string;
  /** db.operation.name: SELECT, INSERT... ('BATCH' for several statements). */
  operation?: string;
  /** db.collection.name: the table when exactly one. */
  collection?: string;
  /** db.query.summary: "SELECT users", "INSERT orders". */
  summary?: string;
}

const MAX_TEXT = 2048;
const MAX_SUMMARY = 255;
const TARGET_AFTER = new Set(['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE']);
const OPERATIONS = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE', 'UPSERT', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'GRANT', 'REVOKE',
  'BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'SET', 'SHOW', 'EXPLAIN', 'ANALYZE', 'VACUUM', 'COPY',
  'CALL', 'EXECUTE', 'PREPARE', 'DEALLOCATE', 'DECLARE', 'FETCH', 'CLOSE', 'LOCK', 'LISTEN', 'NOTIFY', 'USE', 'DESCRIBE', 'DESC',
  'WITH', 'VALUES', 'DO', 'REINDEX', 'CLUSTER', 'COMMENT', 'DISCARD', 'RESET', 'CHECKPOINT', 'LOAD', 'HANDLER', 'OPTIMIZE', 'KILL', 'FLUSH',
]);
const DML = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

const isIdentStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isIdent = (c: number) => isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

interface Statement {
  words: string[]; // upper-cased keywords/identifiers at depth 0 (for the operation)
  tables: string[];
}

/** Replaces literals and finds the operation and tables of a query. */
export function analyzeSql(sql: string, dialect: Dialect, keepLiterals = false): SqlInfo {
  const src = sql.length > 65536 ? sql.slice(0, 65536) : sql;
  let out = '';
  const statements: Statement[] = [{ words: [], tables: [] }];
  let depth = 0;
  let expectTarget = false;
  let lastWasSpace = false;
  const n = src.length;
  const emit = (s: string) => {
    if (out.length < MAX_TEXT + 16) out += s;
  };
  const literal = (raw: string) => {
    emit(keepLiterals ? raw : '?');
    lastWasSpace = false;
    expectTarget = false;
  };
  for (let i = 0; i < n; ) {
    const c = src.charCodeAt(i);
    // comments: dropped (they can carry anything)
    if ((c === 0x2d && src.charCodeAt(i + 1) === 0x2d) || (c === 0x23 && dialect === 'mysql')) {
      const eol = src.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (c === 0x2f && src.charCodeAt(i + 1) === 0x2a) {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      if (!lastWasSpace && out.length) emit(' ');
      lastWasSpace = true;
      i++;
      continue;
    }
    // quoted strings: '...' (E'...' with backslashes; MySQL strings take backslashes too)
    const prefixed = (c === 0x45 || c === 0x65 || c === 0x4e || c === 0x6e || c === 0x58 || c === 0x78 || c === 0x42 || c === 0x62) && src.charCodeAt(i + 1) === 0x27;
    if (c === 0x27 || prefixed || (c === 0x22 && dialect === 'mysql')) {
      const start = i;
      const quote = prefixed ? 0x27 : c;
      const backslashes = dialect === 'mysql' || ((c === 0x45 || c === 0x65) && prefixed);
      i += prefixed ? 2 : 1;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (backslashes && d === 0x5c) {
          i += 2;
          continue;
        }
        if (d === quote) {
          if (src.charCodeAt(i + 1) === quote) {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      literal(src.slice(start, i));
      continue;
    }
    // dollar-quoted (PostgreSQL): $$...$$ or $tag$...$tag$; $1 is a parameter
    if (c === 0x24 && dialect === 'postgresql' && !isDigit(src.charCodeAt(i + 1))) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(src.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const end = src.indexOf(tag, i + tag.length);
        const stop = end < 0 ? n : end + tag.length;
        literal(src.slice(i, stop));
        i = stop;
        continue;
      }
    }
    if (c === 0x24 && isDigit(src.charCodeAt(i + 1))) {
      let j = i + 1;
      while (j < n && isDigit(src.charCodeAt(j))) j++;
      emit(src.slice(i, j));
      lastWasSpace = false;
      expectTarget = false;
      i = j;
      continue;
    }
    // numbers (not inside identifiers): 42, 3.14, .5, 1e10, 0x1F
    if (isDigit(c) || (c === 0x2e && isDigit(src.charCodeAt(i + 1)))) {
      let j = i;
      if (c === 0x30 && (src.charCodeAt(i + 1) | 0x20) === 0x78) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(src[j]!)) j++;
      } else {
        while (j < n && (isDigit(src.charCodeAt(j)) || src.charCodeAt(j) === 0x2e)) j++;
        if (j < n && (src.charCodeAt(j) | 0x20) === 0x65 && /[-+0-9]/.test(src[j + 1] ?? '')) {
          j += 2;
          while (j < n && isDigit(src.charCodeAt(j))) j++;
        }
      }
      // a sign after an operator belongs to the number: "x + -4" is "x + ?", "a - 4" stays "a - ?"
      if (!keepLiterals) {
        const m = /([-+*\/%=<>(,|&^])\s*-\s*$/.exec(out);
        if (m) out = out.slice(0, out.length - m[0].length + m[1]!.length) + (/\s/.test(m[0].slice(m[1]!.length, -1) || '') ? ' ' : '');
      }
      literal(src.slice(i, j));
      i = j;
      continue;
    }
    if (isIdentStart(c) || c === 0x22 || c === 0x60) {
      // identifiers and keywords: "quoted" (PostgreSQL), `quoted` (MySQL), schema.table
      let j = i;
      let name = '';
      for (;;) {
        const d = src.charCodeAt(j);
        if (d === 0x22 || d === 0x60) {
          const end = src.indexOf(String.fromCharCode(d), j + 1);
          const stop = end < 0 ? n : end + 1;
          name += src.slice(j + 1, stop - 1);
          j = stop;
        } else if (isIdentStart(d)) {
          let k = j;
          while (k < n && isIdent(src.charCodeAt(k))) k++;
          name += src.slice(j, k);
          j = k;
        } else break;
        if (src.charCodeAt(j) === 0x2e && j + 1 < n && (isIdentStart(src.charCodeAt(j + 1)) || src.charCodeAt(j + 1) === 0x22 || src.charCodeAt(j + 1) === 0x60)) {
          name += '.';
          j++;
          continue;
        }
        break;
      }
      const raw = src.slice(i, j);
      emit(raw);
      lastWasSpace = false;
      const upper = name.toUpperCase();
      const st = statements[statements.length - 1]!;
      if (expectTarget && upper !== 'ONLY' && upper !== 'LATERAL' && upper !== 'IGNORE') {
        if (!OPERATIONS.has(upper) && upper !== 'SELECT') st.tables.push(name);
        expectTarget = false;
      } else if (depth === 0 && st.words.length < 8) st.words.push(upper);
      if (TARGET_AFTER.has(upper)) expectTarget = true;
      i = j;
      continue;
    }
    if (c === 0x28) depth++;
    else if (c === 0x29) depth = Math.max(0, depth - 1);
    else if (c === 0x3b) {
      if (depth === 0) statements.push({ words: [], tables: [] });
    }
    expectTarget = false;
    emit(src[i]!);
    lastWasSpace = false;
    i++;
  }
  const text = out.trim();
  const info: SqlInfo = { text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}...` : text };
  const described = statements.filter((s) => s.words.length).map(describeStatement);
  if (described.length === 1) {
    const d = described[0]!;
    if (d.operation) info.operation = d.operation;
    if (d.tables.length === 1) info.collection = d.tables[0]!;
    if (d.summary) info.summary = d.summary;
  } else if (described.length > 1) {
    info.operation = 'BATCH';
    const summary = described.map((d) => d.summary ?? d.operation ?? '').filter(Boolean).join('; ');
    if (summary) info.summary = summary.length > MAX_SUMMARY ? summary.slice(0, MAX_SUMMARY) : summary;
  }
  return info;
}

function describeStatement(s: Statement): { operation?: string; tables: string[]; summary?: string } {
  let op = s.words[0];
  if (op === 'WITH') op = s.words.find((w) => DML.has(w)) ?? 'WITH';
  if (op === 'START' && s.words[1] === 'TRANSACTION') op = 'START TRANSACTION';
  if (op === 'END') op = 'COMMIT';
  if (op && !OPERATIONS.has(op.split(' ')[0]!)) op = undefined;
  const tables = [...new Set(s.tables)];
  const out: { operation?: string; tables: string[]; summary?: string } = { tables };
  if (op) {
    out.operation = op;
    const summary = tables.length ? `${op} ${tables.join(' ')}` : op;
    out.summary = summary.length > MAX_SUMMARY ? summary.slice(0, MAX_SUMMARY) : summary;
  }
  return out;
}
