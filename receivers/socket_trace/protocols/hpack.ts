// HPACK (RFC 7541) decoding for a passive observer: one decoder per direction of an HTTP/2
// connection, fed every header block that direction carries, in order.
//
// bpfcol may start following a direction in the middle (a connection older than bpfcol, bytes the
// kernel lost, a header block cut by capture_bytes). Its dynamic table then holds entries bpfcol
// never saw. The decoder never guesses them: it knows exactly the entries inserted by the blocks it
// decoded since it started (or last resynchronised) — those are the newest entries of the real
// table, at known indexes whatever happened before — and a field referencing anything older is
// *unresolved*. A block with an unresolved field is reported as such (its caller skips the stream);
// its insertions are still applied (a placeholder when the inserted name or value is unknown), so
// later indexes stay right. As the peer inserts new entries, the old unknown ones age out of use
// and blocks decode again. A decoder that saw its direction from the start (`complete`) knows the
// whole table: an index beyond it there means the stream is not what it seems (ParseError).
//
// Header values of credential headers (Authorization, Cookie...) are kept in the table as an empty
// marker of the right size, never as their text.
import { ParseError } from './types.ts';

/** RFC 7541 Appendix A. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

// ---- Huffman (RFC 7541 Appendix B) ---------------------------------------------------------
// The code is canonical (codes of one length are consecutive, in symbol order), so the bit
// lengths of symbols 0..255 and EOS (256) define it; the codes are rebuilt from them.
export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

/** The canonical codes (MSB first), by symbol. */
export const HUFFMAN_CODES: readonly number[] = (() => {
  const order = HUFFMAN_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  const codes = new Array<number>(257);
  let code = 0;
  let len = HUFFMAN_LENGTHS[order[0]!]!;
  for (const s of order) {
    code *= 2 ** (HUFFMAN_LENGTHS[s]! - len);
    len = HUFFMAN_LENGTHS[s]!;
    codes[s] = code++;
  }
  return codes;
})();

/**
 * A decoding tree: node n's children are TREE[2n] (bit 0) and TREE[2n + 1] (bit 1); a value
 * >= 0x10000 is a leaf (symbol + 0x10000), 0 an unused branch (the root is never a child).
 */
const TREE = (() => {
  const t = new Int32Array(2 * 600);
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = HUFFMAN_LENGTHS[s]!;
    const code = HUFFMAN_CODES[s]!;
    let n = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * n + bit;
      if (i === 0) t[slot] = 0x10000 + s;
      else {
        if (t[slot] === 0) t[slot] = nodes++;
        n = t[slot]!;
      }
    }
  }
  return t;
})();

/** Decodes a Huffman-coded string (latin1). Throws ParseError on EOS, padding longer than 7 bits or not all ones. */
export function huffmanDecode(buf: Uint8Array, from: number, to: number): string {
  const out: number[] = [];
  let n = 0;
  let depth = 0; // bits since the last symbol
  let ones = true; // those bits were all ones (a valid padding so far)
  for (let i = from; i < to; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TREE[2 * n + bit]!;
      if (next >= 0x10000) {
        const sym = next - 0x10000;
        if (sym === EOS) throw new ParseError('HPACK: EOS in a Huffman string');
        out.push(sym);
        n = 0;
        depth = 0;
        ones = true;
      } else {
        n = next;
        depth++;
        if (!bit) ones = false;
      }
    }
  }
  if (depth > 7 || !ones) throw new ParseError('HPACK: bad Huffman padding');
  return String.fromCharCode.apply(null, out);
}

// ---- the decoder ------------------------------------------------------------------------------

/** A decoded header field; name or value undefined when it referenced an entry bpfcol never saw. */
export interface HeaderField {
  name: string | undefined;
  value: string | undefined;
}

export interface DecodedBlock {
  fields: HeaderField[];
  /** Fields referencing unknown table entries (their name and/or value is undefined). */
  unresolved: number;
}

interface Entry {
  name: string | undefined;
  value: string | undefined;
  /** RFC 7541 4.1 size (name + value octets + 32); a lower bound when name or value is unknown. */
  size: number;
}

/** Table sizes above this are refused (memory per connection). */
export const MAX_TABLE_SIZE = 1 << 20;
/** Strings longer than this are refused (a header block has no business holding more). */
const MAX_STRING = 1 << 20;

export interface HpackOptions {
  /** Header names whose values are never kept (credentials): stored as '' with their size. */
  redact?: (name: string) => boolean;
  /** The table's maximum size when it starts complete (4096, or what SETTINGS_HEADER_TABLE_SIZE made it). */
  maxSize?: number;
}

export class HpackDecoder {
  /** Newest first. */
  #entries: Entry[] = [];
  #size = 0;
  /** RFC 7541's initial size; assumed (a guess that can only make fields unresolved) until a size update says. */
  #maxSize = 4096;
  #maxSizeKnown: boolean;
  /** The table is known from its start (or from a size update to 0): an index beyond it is an error. */
  #complete: boolean;
  readonly #redact: ((name: string) => boolean) | undefined;

  constructor(complete: boolean, options: HpackOptions = {}) {
    this.#complete = complete;
    this.#maxSizeKnown = complete;
    if (options.maxSize !== undefined) this.#maxSize = options.maxSize;
    this.#redact = options.redact;
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** Entries known (the newest of the real table). */
  get known(): number {
    return this.#entries.length;
  }

  get maxSize(): number {
    return this.#maxSize;
  }

  /** The real table is known from its start (the direction was seen from its first byte). */
  markComplete(): void {
    if (this.#entries.length === 0) this.#complete = this.#maxSizeKnown = true;
  }

  /** Blocks were missed (lost or cut bytes): what is known may sit at other indexes now. */
  desync(): void {
    this.#entries = [];
    this.#size = 0;
    this.#complete = false;
    this.#maxSizeKnown = false;
  }

  /**
   * Decodes one whole header block (after HEADERS/PUSH_PROMISE + CONTINUATION were joined).
   * Throws ParseError on a malformed block; the table is then not to be trusted (desync()ed).
   */
  decode(buf: Uint8Array, from = 0, to = buf.length): DecodedBlock {
    try {
      return this.#decode(buf, from, to);
    } catch (err) {
      this.desync();
      throw err instanceof ParseError ? err : new ParseError(String(err));
    }
  }

  #decode(buf: Uint8Array, from: number, to: number): DecodedBlock {
    const fields: HeaderField[] = [];
    let unresolved = 0;
    let at = from;
    let fieldsSeen = false;
    const int = (prefix: number): number => {
      const mask = (1 << prefix) - 1;
      let v = buf[at++]! & mask;
      if (v < mask) return v;
      let shift = 0;
      for (;;) {
        if (at >= to) throw new ParseError('HPACK: integer past the block');
        const b = buf[at++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (v > 0x7fffffff) throw new ParseError('HPACK: integer too large');
        if (!(b & 0x80)) return v;
      }
    };
    const str = (): string => {
      if (at >= to) throw new ParseError('HPACK: string past the block');
      const huffman = (buf[at]! & 0x80) !== 0;
      const len = int(7);
      if (len > MAX_STRING || at + len > to) throw new ParseError('HPACK: string past the block');
      const s = huffman ? huffmanDecode(buf, at, at + len) : latin1(buf, at, at + len);
      at += len;
      return s;
    };
    while (at < to) {
      const b = buf[at]!;
      if (b & 0x80) {
        // indexed field
        const idx = int(7);
        const e = this.#lookup(idx);
        if (e === undefined || e.name === undefined || e.value === undefined) unresolved++;
        fields.push(e ? { name: e.name, value: e.value } : { name: undefined, value: undefined });
        fieldsSeen = true;
      } else if ((b & 0xe0) === 0x20) {
        // dynamic table size update: only before the block's first field
        if (fieldsSeen) throw new ParseError('HPACK: table size update after a field');
        const size = int(5);
        if (size > MAX_TABLE_SIZE) throw new ParseError('HPACK: table size update too large');
        this.#maxSize = size;
        this.#maxSizeKnown = true;
        this.#evict(0);
        if (size === 0) this.#complete = true; // emptied: known from here on
      } else {
        // literal: with incremental indexing (01), without (0000) or never indexed (0001)
        const incremental = (b & 0xc0) === 0x40;
        const idx = int(incremental ? 6 : 4);
        let name: string | undefined;
        if (idx === 0) name = str().toLowerCase();
        else {
          const e = this.#lookup(idx);
          name = e?.name;
        }
        let value: string | undefined = str();
        const nameKnown = name !== undefined;
        if (!nameKnown) unresolved++;
        const size = (name?.length ?? 0) + value.length + 32;
        if (nameKnown && this.#redact?.(name!)) value = '';
        fields.push({ name, value });
        fieldsSeen = true;
        if (incremental) this.#insert({ name, value, size });
      }
    }
    return { fields, unresolved };
  }

  /** Entry `idx` (1-based, static then dynamic); undefined when unknown. */
  #lookup(idx: number): Entry | undefined {
    if (idx === 0) throw new ParseError('HPACK: index 0');
    if (idx <= STATIC_TABLE.length) {
      const [name, value] = STATIC_TABLE[idx - 1]!;
      return { name, value, size: 0 };
    }
    const d = idx - STATIC_TABLE.length - 1;
    if (d < this.#entries.length) return this.#entries[d];
    if (this.#complete) throw new ParseError(`HPACK: index ${idx} beyond the table`);
    return undefined;
  }

  #insert(e: Entry): void {
    if (e.size > this.#maxSize) {
      // larger than the whole table: empties it (RFC 7541 4.4)
      this.#entries = [];
      this.#size = 0;
      if (this.#maxSizeKnown) this.#complete = true; // the real table is empty now too
      return;
    }
    this.#evict(e.size);
    this.#entries.unshift(e);
    this.#size += e.size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  #evict(room: number): void {
    while (this.#entries.length && this.#size + room > this.#maxSize) {
      this.#size -= this.#entries.pop()!.size;
    }
  }
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('latin1');
}
