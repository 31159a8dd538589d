// Typed access to a map of a loaded BpfObject. Keys and values are raw bytes (encode/decode them
// with a layout from layout.ts). Bulk reads cross into the addon once and return every entry.
// Per-CPU maps hold one value per possible CPU: the *PerCpu methods return one Buffer per CPU, or
// what a caller-given reducer makes of them (sumPerCpu(layout) sums them).
import type { NativeMapInfo, NativeObject } from './native.ts';

/** Kernel map types (enum bpf_map_type), the ones bpfcol uses. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  RINGBUF: 27,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MapType).map(([k, v]) => [v, k.toLowerCase()]));

/** How update() treats an existing key: BPF_ANY, BPF_NOEXIST (create only), BPF_EXIST (replace only). */
export type UpdateMode = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateMode, number> = { any: 0, noexist: 1, exist: 2 };

export interface MapEntry<V = Buffer> {
  key: Buffer;
  value: V;
}

export type PerCpuReducer<R> = (values: Buffer[]) => R;

export class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  /** Size of one value (one CPU's value for per-CPU maps). */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Kernel map id (`bpftool map show`). */
  readonly id: number;
  readonly #native: () => NativeObject;
  readonly #cpus: number;

  /** @internal BpfObject.map() makes these. */
  constructor(native: () => NativeObject, info: NativeMapInfo, possibleCpus: number) {
    this.#native = native;
    this.name = info.name;
    this.type = info.type;
    this.typeName = TYPE_NAMES[info.type] ?? `type ${info.type}`;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.perCpu = info.perCpu;
    this.id = info.id;
    this.#cpus = info.perCpu ? possibleCpus : 1;
  }

  /** The value stride of per-CPU maps: the kernel pads each CPU's value to 8 bytes. */
  get #stride(): number {
    return Math.ceil(this.valueSize / 8) * 8;
  }

  #key(key: Uint8Array): Buffer {
    if (key.byteLength !== this.keySize) {
      throw new Error(`map '${this.name}': key must be ${this.keySize} bytes, got ${key.byteLength}`);
    }
    return Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  }

  #requirePlain(method: string): void {
    if (this.perCpu) throw new Error(`map '${this.name}' is per-CPU (${this.typeName}): use ${method}PerCpu()`);
  }

  #split(values: Buffer, at: number): Buffer[] {
    const out: Buffer[] = [];
    const base = at * this.#stride * this.#cpus;
    for (let cpu = 0; cpu < this.#cpus; cpu++) {
      const start = base + cpu * this.#stride;
      out.push(values.subarray(start, start + this.valueSize));
    }
    return out;
  }

  lookup(key: Uint8Array): Buffer | undefined {
    this.#requirePlain('lookup');
    return this.#native().mapLookup(this.name, this.#key(key)) ?? undefined;
  }

  lookupPerCpu(key: Uint8Array): Buffer[] | undefined;
  lookupPerCpu<R>(key: Uint8Array, reduce: PerCpuReducer<R>): R | undefined;
  lookupPerCpu<R>(key: Uint8Array, reduce?: PerCpuReducer<R>): Buffer[] | R | undefined {
    const raw = this.#native().mapLookup(this.name, this.#key(key));
    if (!raw) return undefined;
    const values = this.perCpu ? this.#split(raw, 0) : [raw];
    return reduce ? reduce(values) : values;
  }

  /** Per-CPU maps take one value per possible CPU, or a single value written to every CPU. */
  update(key: Uint8Array, value: Uint8Array | readonly Uint8Array[], mode: UpdateMode = 'any'): void {
    this.#native().mapUpdate(this.name, this.#key(key), this.#value(value), UPDATE_FLAGS[mode]);
  }

  #value(value: Uint8Array | readonly Uint8Array[]): Buffer {
    const parts = value instanceof Uint8Array ? Array.from({ length: this.#cpus }, () => value) : [...value];
    if (parts.length !== this.#cpus) {
      throw new Error(`map '${this.name}': expected ${this.#cpus} per-CPU values, got ${parts.length}`);
    }
    const stride = this.perCpu ? this.#stride : this.valueSize;
    const out = Buffer.alloc(stride * this.#cpus);
    parts.forEach((p, cpu) => {
      if (p.byteLength !== this.valueSize) {
        throw new Error(`map '${this.name}': value must be ${this.valueSize} bytes, got ${p.byteLength}`);
      }
      out.set(p, cpu * stride);
    });
    return out;
  }

  /** true if an entry was deleted, false if there was none. */
  delete(key: Uint8Array): boolean {
    return this.#native().mapDelete(this.name, this.#key(key));
  }

  keys(): Buffer[] {
    const { count, keys } = this.#native().mapKeys(this.name);
    return Array.from({ length: count }, (_, i) => keys.subarray(i * this.keySize, (i + 1) * this.keySize));
  }

  /** Every entry, in one call into the addon (a snapshot by iteration). */
  entries(): MapEntry[] {
    this.#requirePlain('entries');
    return this.#plain(this.#native().mapEntries(this.name));
  }

  entriesPerCpu(): MapEntry<Buffer[]>[];
  entriesPerCpu<R>(reduce: PerCpuReducer<R>): MapEntry<R>[];
  entriesPerCpu<R>(reduce?: PerCpuReducer<R>): MapEntry<Buffer[] | R>[] {
    return this.#perCpu(this.#native().mapEntries(this.name), reduce);
  }

  /**
   * Reads every entry and removes it, in one call: hash maps use the kernel's
   * BPF_MAP_LOOKUP_AND_DELETE_BATCH, so an increment racing with the read is either in this read or
   * left for the next. Arrays cannot be reset this way (their entries cannot be deleted): read them
   * with entries() and keep their counters monotonic.
   */
  lookupAndDeleteAll(): MapEntry[] {
    this.#requirePlain('lookupAndDeleteAll');
    return this.#plain(this.#native().mapLookupAndDeleteAll(this.name));
  }

  lookupAndDeleteAllPerCpu(): MapEntry<Buffer[]>[];
  lookupAndDeleteAllPerCpu<R>(reduce: PerCpuReducer<R>): MapEntry<R>[];
  lookupAndDeleteAllPerCpu<R>(reduce?: PerCpuReducer<R>): MapEntry<Buffer[] | R>[] {
    return this.#perCpu(this.#native().mapLookupAndDeleteAll(this.name), reduce);
  }

  #plain(bulk: { count: number; keys: Buffer; values: Buffer }): MapEntry[] {
    const out: MapEntry[] = new Array(bulk.count);
    for (let i = 0; i < bulk.count; i++) {
      out[i] = {
        key: bulk.keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        value: bulk.values.subarray(i * this.valueSize, (i + 1) * this.valueSize),
      };
    }
    return out;
  }

  #perCpu<R>(bulk: { count: number; keys: Buffer; values: Buffer }, reduce?: PerCpuReducer<R>): MapEntry<Buffer[] | R>[] {
    const out: MapEntry<Buffer[] | R>[] = new Array(bulk.count);
    for (let i = 0; i < bulk.count; i++) {
      const values = this.perCpu
        ? this.#split(bulk.values, i)
        : [bulk.values.subarray(i * this.valueSize, (i + 1) * this.valueSize)];
      out[i] = { key: bulk.keys.subarray(i * this.keySize, (i + 1) * this.keySize), value: reduce ? reduce(values) : values };
    }
    return out;
  }
}

/** Sum of a per-CPU u64 counter (a BPFCOL_COUNTER from bpf/common/common.h: per-CPU array, key 0). */
export function readCounter(map: BpfMap): bigint {
  const values = map.lookupPerCpu(Buffer.alloc(map.keySize));
  let sum = 0n;
  for (const v of values ?? []) sum += v.readBigUInt64LE(0);
  return sum;
}
