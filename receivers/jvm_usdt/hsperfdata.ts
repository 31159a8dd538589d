// HotSpot's performance data ("hsperfdata"): the memory a JVM shares through the file
// /tmp/hsperfdata_<user>/<pid> (what jstat, jcmd PerfCounter.print and Pixie read). Its counters
// (heap spaces, metaspace, threads, classes, GC and safepoint times) are live without attaching
// anything, so a JVM just discovered, or one without USDT probes, still has gauges.
//
// Format (HotSpot perfMemory.hpp and perfData.hpp, version 2.0, used since JDK 1.4.2):
//   prologue, 32 bytes:
//     0  magic            0xcafec0c0, stored so that it reads so big-endian (bytes ca fe c0 c0)
//     4  byte_order       0 big-endian, 1 little-endian: the order of every other field
//     5  major_version    2
//     6  minor_version    0
//     7  accessible       1 once the JVM finished creating its counters
//     8  used             bytes of the buffer in use
//     12 overflow         bytes that did not fit
//     16 mod_time_stamp   time stamp of the last structural change (entry added)
//     24 entry_offset     offset of the first entry
//     28 num_entries      entries allocated
//   entries, one after another:
//     0  entry_length     bytes of this entry (the next starts that far on)
//     4  name_offset      offset of the NUL-terminated name, from the entry's start
//     8  vector_length    0 for a scalar, else the element count (strings are byte vectors)
//     12 data_type        a Java type letter: 'J' long, 'B' byte, 'I' int, 'Z' boolean...
//     13 flags            1: supported
//     14 data_units       1 none, 2 bytes, 3 ticks, 4 events, 5 string, 6 hertz
//     15 data_variability 1 constant, 2 monotonic, 3 variable
//     16 data_offset      offset of the value, from the entry's start
import { readFileSync } from 'node:fs';

export const HSPERF_MAGIC = 0xcafec0c0;
export const PROLOGUE_SIZE = 32;
export const ENTRY_HEADER_SIZE = 20;

export const Units = { NONE: 1, BYTES: 2, TICKS: 3, EVENTS: 4, STRING: 5, HERTZ: 6 } as const;
export const Variability = { CONSTANT: 1, MONOTONIC: 2, VARIABLE: 3 } as const;

export interface HsperfHeader {
  littleEndian: boolean;
  majorVersion: number;
  minorVersion: number;
  accessible: boolean;
  used: number;
  overflow: number;
  modTimeStamp: bigint;
  entryOffset: number;
  numEntries: number;
}

export type HsperfValue = bigint | number | boolean | string | Uint8Array | bigint[] | number[];

export interface HsperfEntry {
  name: string;
  /** The Java type letter ('J', 'B', ...). */
  type: string;
  units: number;
  variability: number;
  vectorLength: number;
  /** Offset of the value from the start of the buffer (what a reader of the JVM's memory adds to the mapping's address). */
  dataOffset: number;
  /** Longs are bigint; byte vectors of unit string are strings (up to their NUL), other byte vectors bytes. */
  value: HsperfValue;
}

export interface HsperfData {
  header: HsperfHeader;
  entries: Map<string, HsperfEntry>;
  /** Entries that could not be decoded (bad offsets, unknown types): skipped and counted. */
  skipped: number;
}

export class HsperfFormatError extends Error {}

const SIZES: Record<string, number> = { B: 1, Z: 1, C: 2, S: 2, I: 4, F: 4, J: 8, D: 8 };

/** Reads the prologue; throws HsperfFormatError when this is not a version 2 hsperfdata buffer. */
export function parseHeader(buf: Buffer): HsperfHeader {
  if (buf.length < PROLOGUE_SIZE) throw new HsperfFormatError(`${buf.length} bytes, shorter than the ${PROLOGUE_SIZE}-byte prologue`);
  const magic = buf.readUInt32BE(0);
  if (magic !== HSPERF_MAGIC) throw new HsperfFormatError(`bad magic 0x${magic.toString(16)} (expected 0xcafec0c0)`);
  const order = buf[4];
  if (order !== 0 && order !== 1) throw new HsperfFormatError(`bad byte order ${order}`);
  const le = order === 1;
  const major = buf[5]!;
  const minor = buf[6]!;
  if (major !== 2) throw new HsperfFormatError(`version ${major}.${minor} (only 2.x is read)`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  return {
    littleEndian: le,
    majorVersion: major,
    minorVersion: minor,
    accessible: buf[7] !== 0,
    used: u32(8),
    overflow: u32(12),
    modTimeStamp: le ? buf.readBigInt64LE(16) : buf.readBigInt64BE(16),
    entryOffset: u32(24),
    numEntries: u32(28),
  };
}

function readScalar(buf: Buffer, type: string, at: number, le: boolean): bigint | number | boolean {
  switch (type) {
    case 'J':
      return le ? buf.readBigInt64LE(at) : buf.readBigInt64BE(at);
    case 'I':
      return le ? buf.readInt32LE(at) : buf.readInt32BE(at);
    case 'S':
      return le ? buf.readInt16LE(at) : buf.readInt16BE(at);
    case 'C':
      return le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    case 'B':
      return buf.readInt8(at);
    case 'Z':
      return buf[at] !== 0;
    case 'F':
      return le ? buf.readFloatLE(at) : buf.readFloatBE(at);
    case 'D':
      return le ? buf.readDoubleLE(at) : buf.readDoubleBE(at);
    default:
      throw new HsperfFormatError(`unknown data type '${type}'`);
  }
}

/**
 * Decodes a whole hsperfdata buffer. Walks num_entries entries within `used` bytes; an entry whose
 * offsets point outside it ends the walk (the JVM may be appending one right now), an entry of an
 * unknown type is skipped. Throws HsperfFormatError when the prologue is not one.
 */
export function parseHsperfdata(buf: Buffer): HsperfData {
  const header = parseHeader(buf);
  const le = header.littleEndian;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const end = Math.min(buf.length, header.used || buf.length);
  const entries = new Map<string, HsperfEntry>();
  let skipped = 0;
  let at = header.entryOffset;
  for (let i = 0; i < header.numEntries; i++) {
    if (at < PROLOGUE_SIZE || at + ENTRY_HEADER_SIZE > end) {
      skipped += header.numEntries - i;
      break;
    }
    const length = u32(at);
    const nameOffset = u32(at + 4);
    const vectorLength = u32(at + 8);
    const type = String.fromCharCode(buf[at + 12]!);
    const units = buf[at + 14]!;
    const variability = buf[at + 15]!;
    const dataOffset = u32(at + 16);
    if (length < ENTRY_HEADER_SIZE || at + length > end || nameOffset >= length || dataOffset >= length) {
      skipped += header.numEntries - i;
      break;
    }
    const nameEnd = buf.indexOf(0, at + nameOffset);
    const size = SIZES[type];
    const dataAt = at + dataOffset;
    const dataBytes = size === undefined ? 0 : size * Math.max(1, vectorLength);
    if (nameEnd < 0 || nameEnd > at + length || size === undefined || dataAt + dataBytes > at + length) {
      skipped++;
      at += length;
      continue;
    }
    const name = buf.toString('latin1', at + nameOffset, nameEnd);
    let value: HsperfValue;
    if (vectorLength === 0) {
      value = readScalar(buf, type, dataAt, le);
    } else if (type === 'B') {
      const bytes = buf.subarray(dataAt, dataAt + vectorLength);
      if (units === Units.STRING) {
        const nul = bytes.indexOf(0);
        value = bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
      } else {
        value = Uint8Array.from(bytes);
      }
    } else {
      const out: (bigint | number)[] = [];
      for (let k = 0; k < vectorLength; k++) out.push(readScalar(buf, type, dataAt + k * size, le) as bigint | number);
      value = out as bigint[] | number[];
    }
    entries.set(name, { name, type, units, variability, vectorLength, dataOffset: dataAt, value });
    at += length;
  }
  return { header, entries, skipped };
}

/** Typed access to one decoded buffer. */
export class HsperfSnapshot {
  readonly data: HsperfData;
  /** Bytes of the buffer read. */
  readonly size: number;

  constructor(data: HsperfData, size = 0) {
    this.data = data;
    this.size = size;
  }

  has(name: string): boolean {
    return this.data.entries.has(name);
  }

  /** A numeric counter as a number (longs beyond 2^53 lose precision: none of the ones read here get there). */
  num(name: string): number | undefined {
    const v = this.data.entries.get(name)?.value;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'number') return v;
    return undefined;
  }

  big(name: string): bigint | undefined {
    const v = this.data.entries.get(name)?.value;
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    return undefined;
  }

  str(name: string): string | undefined {
    const v = this.data.entries.get(name)?.value;
    return typeof v === 'string' ? v : undefined;
  }

  /** A ticks counter in seconds, using sun.os.hrt.frequency. */
  seconds(name: string): number | undefined {
    const ticks = this.num(name);
    const hz = this.num('sun.os.hrt.frequency');
    return ticks === undefined || !hz ? undefined : ticks / hz;
  }

  /** Names starting with a prefix, in buffer order. */
  namesWithPrefix(prefix: string): string[] {
    return [...this.data.entries.keys()].filter((n) => n.startsWith(prefix));
  }
}

/** Reads and decodes a hsperfdata file. Throws (ENOENT, EACCES, HsperfFormatError) when it cannot. */
export function readHsperfdata(path: string): HsperfSnapshot {
  const buf = readFileSync(path);
  return new HsperfSnapshot(parseHsperfdata(buf), buf.length);
}

// ---- writing (tests build buffers of every shape with it) --------------------------------------

export interface EntrySpec {
  name: string;
  /** bigint: a long; string: a string (byte vector of unit string); Uint8Array: a byte vector. */
  value: bigint | string | Uint8Array;
  units?: number;
  variability?: number;
  /** Room for a string (the JVM sizes string vectors above their content). */
  vectorLength?: number;
}

/** Builds an hsperfdata buffer the way HotSpot lays it out (entries 8-byte aligned). */
export function buildHsperfdata(specs: readonly EntrySpec[], options: { littleEndian?: boolean; accessible?: boolean; size?: number } = {}): Buffer {
  const le = options.littleEndian ?? true;
  const entries: Buffer[] = [];
  for (const s of specs) {
    const name = Buffer.from(`${s.name}\0`, 'latin1');
    const nameOffset = ENTRY_HEADER_SIZE;
    const dataOffset = Math.ceil((nameOffset + name.length) / 8) * 8;
    let data: Buffer;
    let type: string;
    let vectorLength = 0;
    let units = s.units;
    if (typeof s.value === 'bigint') {
      data = Buffer.alloc(8);
      if (le) data.writeBigInt64LE(s.value);
      else data.writeBigInt64BE(s.value);
      type = 'J';
      units ??= Units.NONE;
    } else {
      const bytes = typeof s.value === 'string' ? Buffer.from(`${s.value}\0`, 'utf8') : Buffer.from(s.value);
      vectorLength = Math.max(bytes.length, s.vectorLength ?? 0);
      data = Buffer.alloc(vectorLength);
      bytes.copy(data);
      type = 'B';
      units ??= typeof s.value === 'string' ? Units.STRING : Units.NONE;
    }
    const length = Math.ceil((dataOffset + data.length) / 8) * 8;
    const e = Buffer.alloc(length);
    const w32 = (v: number, o: number) => (le ? e.writeUInt32LE(v, o) : e.writeUInt32BE(v, o));
    w32(length, 0);
    w32(nameOffset, 4);
    w32(vectorLength, 8);
    e[12] = type.charCodeAt(0);
    e[13] = 1;
    e[14] = units;
    e[15] = s.variability ?? Variability.VARIABLE;
    w32(dataOffset, 16);
    name.copy(e, nameOffset);
    data.copy(e, dataOffset);
    entries.push(e);
  }
  const body = Buffer.concat(entries);
  const used = PROLOGUE_SIZE + body.length;
  const out = Buffer.alloc(Math.max(options.size ?? 0, used));
  out.writeUInt32BE(HSPERF_MAGIC, 0);
  out[4] = le ? 1 : 0;
  out[5] = 2;
  out[6] = 0;
  out[7] = options.accessible === false ? 0 : 1;
  const w32 = (v: number, o: number) => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  w32(used, 8);
  w32(0, 12);
  if (le) out.writeBigInt64LE(1234n, 16);
  else out.writeBigInt64BE(1234n, 16);
  w32(PROLOGUE_SIZE, 24);
  w32(specs.length, 28);
  body.copy(out, PROLOGUE_SIZE);
  return out;
}
