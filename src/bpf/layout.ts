// Struct layouts declared once, mirroring a C struct of a bpf/*.h or bpf/*.bpf.c file:
//
//   // Mirrors struct drop_event in bpf/tcp_drop.h: keep the two in step.
//   const DropEvent = defineStruct({ pid: 'u32', ts: 'u64', saddr: ['u8', 16], comm: ['char', 16] });
//   DropEvent.size; DropEvent.offsets.ts; DropEvent.decode(view, offset) // { pid: number, ts: bigint, ... }
//
// The C header stays the source of truth: every layout must say in a comment which struct it
// mirrors, and BpfObject.checkLayout(structName, layout) compares it with the compiler's layout
// from the object's BTF (tests call it), so drift fails loudly. Offsets follow C's natural
// alignment rules (x86-64), so no padding needs declaring. u64/s64 decode as bigint.
import { Buffer } from 'node:buffer';

export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'bool' | 'be16' | 'be32';

/** A field: a scalar, an array of scalars (['u8', 16] is a Uint8Array, ['char', 16] a string), a nested struct or an array of them. */
export type FieldSpec =
  | ScalarType
  | readonly [ScalarType | 'char', number]
  | StructLayout<object>
  | readonly [StructLayout<object>, number];

export type Fields = Record<string, FieldSpec>;

type ScalarValue<S> = S extends 'u64' | 's64' ? bigint : S extends 'bool' ? boolean : number;

export type FieldValue<F> =
  F extends StructLayout<infer T>
    ? T
    : F extends readonly [StructLayout<infer T>, number]
      ? T[]
      : F extends readonly ['char', number]
        ? string
        : F extends readonly ['u8', number]
          ? Uint8Array
          : F extends readonly [infer S, number]
            ? ScalarValue<S>[]
            : ScalarValue<F>;

export type Decoded<F extends Fields> = { -readonly [K in keyof F]: FieldValue<F[K]> };

export interface FieldInfo {
  name: string;
  offset: number;
  size: number;
  align: number;
}

export interface StructLayout<T> {
  /** sizeof(struct), trailing padding included. */
  readonly size: number;
  readonly align: number;
  readonly offsets: { readonly [K in keyof T]: number };
  readonly fields: readonly FieldInfo[];
  /** Decodes one struct at byteOffset of source. Byte arrays are copied: safe to keep. */
  decode(source: DataView | Uint8Array, byteOffset?: number): T;
  /** Encodes value (missing fields are zero) into target at byteOffset, or into a new Buffer. */
  encode(value: Partial<T>, target?: Uint8Array, byteOffset?: number): Buffer;
}

const LE = true; // BPF programs target x86 (see bpf/Makefile): kernel structs are little-endian

interface Codec {
  size: number;
  align: number;
  read(view: DataView, at: number): unknown;
  write(view: DataView, at: number, value: unknown): void;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v ? 1 : 0);
const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? v : v ? 1 : 0));

const SCALARS: Record<ScalarType, Codec> = {
  u8: { size: 1, align: 1, read: (d, o) => d.getUint8(o), write: (d, o, v) => d.setUint8(o, num(v)) },
  s8: { size: 1, align: 1, read: (d, o) => d.getInt8(o), write: (d, o, v) => d.setInt8(o, num(v)) },
  bool: { size: 1, align: 1, read: (d, o) => d.getUint8(o) !== 0, write: (d, o, v) => d.setUint8(o, v ? 1 : 0) },
  u16: { size: 2, align: 2, read: (d, o) => d.getUint16(o, LE), write: (d, o, v) => d.setUint16(o, num(v), LE) },
  s16: { size: 2, align: 2, read: (d, o) => d.getInt16(o, LE), write: (d, o, v) => d.setInt16(o, num(v), LE) },
  be16: { size: 2, align: 2, read: (d, o) => d.getUint16(o, false), write: (d, o, v) => d.setUint16(o, num(v), false) },
  u32: { size: 4, align: 4, read: (d, o) => d.getUint32(o, LE), write: (d, o, v) => d.setUint32(o, num(v), LE) },
  s32: { size: 4, align: 4, read: (d, o) => d.getInt32(o, LE), write: (d, o, v) => d.setInt32(o, num(v), LE) },
  be32: { size: 4, align: 4, read: (d, o) => d.getUint32(o, false), write: (d, o, v) => d.setUint32(o, num(v), false) },
  u64: { size: 8, align: 8, read: (d, o) => d.getBigUint64(o, LE), write: (d, o, v) => d.setBigUint64(o, big(v), LE) },
  s64: { size: 8, align: 8, read: (d, o) => d.getBigInt64(o, LE), write: (d, o, v) => d.setBigInt64(o, big(v), LE) },
};

function bytesOf(d: DataView, at: number, n: number): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset + at, n);
}

function isLayout(spec: unknown): spec is StructLayout<object> & { codec: Codec } {
  return typeof spec === 'object' && spec !== null && !Array.isArray(spec) && 'decode' in spec;
}

function codecOf(spec: FieldSpec, field: string): Codec {
  if (typeof spec === 'string') {
    const c = SCALARS[spec];
    if (!c) throw new Error(`layout field '${field}': unknown type '${spec}'`);
    return c;
  }
  if (isLayout(spec)) return spec.codec;
  const [elem, count] = spec as readonly [ScalarType | 'char' | StructLayout<object>, number];
  if (!Number.isInteger(count) || count <= 0) throw new Error(`layout field '${field}': array length must be a positive integer`);
  if (elem === 'char') {
    return {
      size: count,
      align: 1,
      read: (d, o) => {
        const b = bytesOf(d, o, count);
        const end = b.indexOf(0);
        return Buffer.from(b.buffer, b.byteOffset, end < 0 ? count : end).toString('utf8');
      },
      write: (d, o, v) => {
        const b = bytesOf(d, o, count);
        b.fill(0);
        Buffer.from(String(v ?? ''), 'utf8').copy(b, 0, 0, count);
      },
    };
  }
  if (elem === 'u8') {
    return {
      size: count,
      align: 1,
      read: (d, o) => bytesOf(d, o, count).slice(),
      write: (d, o, v) => {
        const b = bytesOf(d, o, count);
        b.fill(0);
        if (v instanceof Uint8Array) b.set(v.subarray(0, count));
      },
    };
  }
  const inner = typeof elem === 'string' ? codecOf(elem, field) : codecOf(elem, field);
  return {
    size: inner.size * count,
    align: inner.align,
    read: (d, o) => {
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = inner.read(d, o + i * inner.size);
      return out;
    },
    write: (d, o, v) => {
      const arr = Array.isArray(v) ? v : [];
      for (let i = 0; i < count; i++) inner.write(d, o + i * inner.size, arr[i] ?? (inner.size === 8 ? 0n : 0));
    },
  };
}

function viewOf(source: DataView | Uint8Array): DataView {
  return source instanceof DataView ? source : new DataView(source.buffer, source.byteOffset, source.byteLength);
}

/**
 * Declares a struct layout. Field order is the C declaration order; offsets and sizeof follow C
 * alignment unless `packed` (for `__attribute__((packed))` structs).
 */
export function defineStruct<const F extends Fields>(fields: F, options: { packed?: boolean } = {}): StructLayout<Decoded<F>> {
  const infos: (FieldInfo & { codec: Codec })[] = [];
  let offset = 0;
  let align = 1;
  for (const [name, spec] of Object.entries(fields)) {
    const codec = codecOf(spec, name);
    const a = options.packed ? 1 : codec.align;
    offset = Math.ceil(offset / a) * a;
    infos.push({ name, offset, size: codec.size, align: a, codec });
    offset += codec.size;
    align = Math.max(align, a);
  }
  const size = Math.ceil(offset / align) * align;
  const offsets = Object.fromEntries(infos.map((f) => [f.name, f.offset])) as { [K in keyof F]: number };

  const read = (d: DataView, at: number): Decoded<F> => {
    const out: Record<string, unknown> = {};
    for (const f of infos) out[f.name] = f.codec.read(d, at + f.offset);
    return out as Decoded<F>;
  };
  const write = (d: DataView, at: number, value: unknown): void => {
    const v = (value ?? {}) as Record<string, unknown>;
    for (const f of infos) {
      const x = v[f.name];
      if (x === undefined) bytesOf(d, at + f.offset, f.size).fill(0);
      else f.codec.write(d, at + f.offset, x);
    }
  };
  const layout = {
    size,
    align,
    offsets,
    fields: infos.map(({ name, offset: o, size: s, align: al }) => ({ name, offset: o, size: s, align: al })),
    codec: { size, align, read, write } satisfies Codec,
    decode(source: DataView | Uint8Array, byteOffset = 0): Decoded<F> {
      const d = viewOf(source);
      if (byteOffset < 0 || byteOffset + size > d.byteLength) {
        throw new RangeError(`decoding a ${size}-byte struct at offset ${byteOffset} of ${d.byteLength} bytes`);
      }
      return read(d, byteOffset);
    },
    encode(value: Partial<Decoded<F>>, target?: Uint8Array, byteOffset = 0): Buffer {
      const out = target ?? Buffer.alloc(size);
      const d = viewOf(out);
      if (byteOffset + size > d.byteLength) throw new RangeError(`encoding a ${size}-byte struct at offset ${byteOffset} of ${d.byteLength} bytes`);
      write(d, byteOffset, value);
      return Buffer.from(out.buffer, out.byteOffset + byteOffset, size);
    },
  };
  return layout;
}

/** Sums numeric fields (number or bigint, arrays element-wise) of per-CPU values: a reducer for PerCpu lookups. */
export function sumPerCpu<T>(layout: StructLayout<T>): (values: Buffer[]) => T {
  return (values) => {
    const first = values[0];
    if (!first) return layout.decode(Buffer.alloc(layout.size));
    const acc = layout.decode(first) as Record<string, unknown>;
    for (let i = 1; i < values.length; i++) {
      const v = layout.decode(values[i] as Buffer) as Record<string, unknown>;
      for (const k of Object.keys(acc)) acc[k] = add(acc[k], v[k]);
    }
    return acc as T;
  };
}

function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => add(x, b[i]));
  return a; // strings, byte arrays, booleans: the first CPU's value
}
