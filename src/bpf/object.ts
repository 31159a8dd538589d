// BpfObject: a compiled BPF object (bpf/build/*.bpf.o) opened, configured and loaded into the
// kernel in one step, then attached program by program. close() detaches and frees everything;
// so does the end of the process however it ends (Node's environment teardown closes open
// objects, and a killed process loses its fds, which detaches its programs in the kernel).
import { resolve } from 'node:path';
import type { StructLayout } from './layout.ts';
import type { Link } from './link.ts';
import { BpfMap } from './map.ts';
import { BPF_BUILD_DIR, native, type NativeMapInfo, type NativeObject, type NativeProgramInfo } from './native.ts';
import { BpfProgram } from './program.ts';

export type RodataValue = number | bigint | boolean | Uint8Array;

export interface OpenOptions {
  /** Values of the program's `const volatile` globals, set before load (the verifier sees them as constants). */
  rodata?: Record<string, RodataValue>;
  /** New max_entries per map name (a ring buffer's size in bytes: a power of two, multiple of the page size). */
  maxEntries?: Record<string, number>;
  /** Programs not to load (false), e.g. an optional hook this kernel lacks. Every program loads by default. */
  autoload?: Record<string, boolean>;
}

/** Path of a receiver's compiled object: bpf/build/<name>.bpf.o. */
export function bpfObjectPath(name: string): string {
  return resolve(BPF_BUILD_DIR, `${name}.bpf.o`);
}

/** Path of a runtime test program: bpf/build/test/<name>.bpf.o. */
export function testObjectPath(name: string): string {
  return resolve(BPF_BUILD_DIR, 'test', `${name}.bpf.o`);
}

export class BpfObject {
  readonly path: string;
  #native: NativeObject | undefined;
  readonly #links: Link[] = [];
  readonly #programs = new Map<string, BpfProgram>();
  readonly #maps = new Map<string, BpfMap>();
  #mapInfo: NativeMapInfo[] = [];
  #cpus = 1;

  private constructor(path: string, handle: NativeObject) {
    this.path = path;
    this.#native = handle;
  }

  /**
   * Opens the object file, applies options and loads it. Errors say what failed, with libbpf's log
   * (the verifier's output when a program is rejected).
   */
  static open(path: string, options: OpenOptions = {}): BpfObject {
    const addon = native();
    const abs = resolve(path);
    const handle = new addon.NativeObject(abs);
    try {
      const vars = new Map(handle.rodataVariables().map((v) => [v.name, v]));
      for (const [name, value] of Object.entries(options.rodata ?? {})) {
        const v = vars.get(name);
        if (!v) {
          throw new Error(`${abs} has no read-only global '${name}' (const volatile globals: ${[...vars.keys()].join(', ') || 'none'})`);
        }
        handle.setRodata(name, encodeRodata(name, value, v.size));
      }
      for (const [map, n] of Object.entries(options.maxEntries ?? {})) handle.setMaxEntries(map, n);
      for (const [prog, on] of Object.entries(options.autoload ?? {})) handle.setAutoload(prog, on);
      handle.load();
    } catch (err) {
      handle.close();
      throw err;
    }
    const obj = new BpfObject(abs, handle);
    obj.#mapInfo = handle.maps();
    obj.#cpus = addon.possibleCpus();
    return obj;
  }

  get closed(): boolean {
    return this.#native === undefined;
  }

  /** @internal The addon object; throws once closed. */
  nativeHandle(): NativeObject {
    if (!this.#native) throw new Error(`BPF object ${this.path} is closed`);
    return this.#native;
  }

  program(name: string): BpfProgram {
    let p = this.#programs.get(name);
    if (p) return p;
    const info = this.nativeHandle()
      .programs()
      .find((x) => x.name === name);
    if (!info) {
      const known = this.programs().map((x) => x.name);
      throw new Error(`${this.path} has no program '${name}' (it has: ${known.join(', ')})`);
    }
    p = new BpfProgram(() => this.nativeHandle(), info, this, (link) => {
      this.#links.push(link);
      return link;
    });
    this.#programs.set(name, p);
    return p;
  }

  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (m) return m;
    this.nativeHandle();
    const info = this.#mapInfo.find((x) => x.name === name && !x.internal);
    if (!info) {
      throw new Error(`${this.path} has no map '${name}' (it has: ${this.maps().map((x) => x.name).join(', ')})`);
    }
    m = new BpfMap(() => this.nativeHandle(), info, this.#cpus);
    this.#maps.set(name, m);
    return m;
  }

  hasMap(name: string): boolean {
    return this.#mapInfo.some((x) => x.name === name && !x.internal);
  }

  programs(): NativeProgramInfo[] {
    return this.nativeHandle().programs();
  }

  /** The object's maps, internal data sections (.rodata, .bss...) left out. */
  maps(): NativeMapInfo[] {
    return this.nativeHandle()
      .maps()
      .filter((m) => !m.internal);
  }

  /** Links attached through this object's programs and not destroyed yet. */
  links(): Link[] {
    return this.#links.filter((l) => l.attached);
  }

  /**
   * Throws when a TypeScript layout differs from the C struct it mirrors (size or any field's
   * offset/size), as the compiler laid it out in this object's BTF.
   */
  checkLayout(structName: string, layout: StructLayout<object>): void {
    const c = this.nativeHandle().structLayout(structName);
    if (!c) throw new Error(`${this.path}: struct ${structName} is not in the object's BTF`);
    const problems: string[] = [];
    if (c.size !== layout.size) problems.push(`size ${layout.size}, C has ${c.size}`);
    const byName = new Map(c.members.map((m) => [m.name, m]));
    for (const f of layout.fields) {
      const m = byName.get(f.name);
      if (!m) problems.push(`field '${f.name}' is not in the C struct`);
      else if (m.offset !== f.offset || m.size !== f.size) {
        problems.push(`field '${f.name}' at ${f.offset} (${f.size} bytes), C has ${m.offset} (${m.size} bytes)`);
      }
    }
    for (const m of c.members) {
      if (!layout.fields.some((f) => f.name === m.name)) problems.push(`C field '${m.name}' is missing from the layout`);
    }
    if (problems.length) throw new Error(`layout of struct ${structName} does not match ${this.path}: ${problems.join('; ')}`);
  }

  /** Detaches every link, stops every ring buffer and frees the programs and maps. Idempotent. */
  close(): void {
    const h = this.#native;
    if (!h) return;
    this.#native = undefined;
    h.close();
  }
}

function encodeRodata(name: string, value: RodataValue, size: number): Buffer {
  const out = Buffer.alloc(size);
  if (value instanceof Uint8Array) {
    if (value.byteLength > size) throw new Error(`read-only global '${name}' holds ${size} bytes, got ${value.byteLength}`);
    out.set(value);
    return out;
  }
  if (typeof value === 'boolean') {
    out[0] = value ? 1 : 0;
    return out;
  }
  if (![1, 2, 4, 8].includes(size)) {
    throw new Error(`read-only global '${name}' is ${size} bytes: give its value as a Uint8Array`);
  }
  if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`read-only global '${name}' must be an integer, got ${value}`);
  const v = BigInt(value);
  const bits = BigInt(size * 8);
  if (v < -(1n << (bits - 1n)) || v >= 1n << bits) {
    throw new Error(`read-only global '${name}' (${size} bytes) cannot hold ${value}`);
  }
  let u = BigInt.asUintN(size * 8, v); // two's complement for negative values
  for (let i = 0; i < size; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}
