// bpfcol profiles -> OTLP profiles (opentelemetry.proto.profiles.v1development, the Collector
// v0.161 / pdata 1.67 wire format): an ExportProfilesServiceRequest whose samples point into one
// dictionary (strings, mappings, locations, functions, stacks, attributes) shared by the whole
// request. The profiles signal is in development in OpenTelemetry: a Collector takes it with
// --feature-gates=service.profilesSupport. The otlp and otlp_http exporters send it when their
// `profiles.enabled` is set.
//
// OTLP keeps one sample type per profile: the first of a bpfcol profile (perf_sampling: samples,
// count). Frames naming the process are left out (the resource names it). Field numbers are those
// of pdata 1.67's generated code (field by field the OTLP profiles.proto of that release).
import Long from 'long';
import type { AnyValue, KeyValue } from '../common.ts';
import type { Frame, ProfilesData } from '../profiles.ts';
import { Writer, proto } from './root.ts';
import { anyValue, keyValues } from './to-proto.ts';
import { hexToBytes } from './wire.ts';

/** gRPC method and OTLP/HTTP path of the profiles signal (development status). */
export const OTLP_PROFILES_GRPC_PATH = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';
export const OTLP_PROFILES_HTTP_PATH = '/v1development/profiles';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;

/** The protobufjs writer (root.ts types only what the OTLP codec uses). */
interface PbWriter {
  uint32(v: number): PbWriter;
  int32(v: number): PbWriter;
  uint64(v: Long): PbWriter;
  int64(v: Long): PbWriter;
  fixed64(v: Long): PbWriter;
  bytes(v: Uint8Array): PbWriter;
  string(v: string): PbWriter;
  fork(): PbWriter;
  ldelim(): PbWriter;
  finish(): Uint8Array;
}

interface Encoder<T> {
  encode(message: T, writer?: Writer): Writer;
}

/** Encodes a generated message into our writer. */
function embed<T>(type: Encoder<T>, message: T, w: PbWriter): void {
  type.encode(message, w as unknown as Writer);
}
const common = proto.common.v1 as unknown as { AnyValue: Encoder<unknown>; InstrumentationScope: Encoder<unknown> };
const resourceV1 = (proto as unknown as { resource: { v1: { Resource: Encoder<unknown> } } }).resource.v1;

const u64 = (v: bigint | number) => Long.fromString(BigInt(v).toString(), true);
const i64 = (v: bigint | number) => Long.fromString(BigInt(v).toString(), false);

/** The dictionary tables; index 0 of each is the zero value, as OTLP requires. */
class Dictionary {
  readonly strings: string[] = [''];
  readonly #strings = new Map<string, number>([['', 0]]);
  readonly mappings: { filename: number; attributes: number[] }[] = [{ filename: 0, attributes: [] }];
  readonly #mappings = new Map<string, number>();
  readonly functions: { name: number; systemName: number }[] = [{ name: 0, systemName: 0 }];
  readonly #functions = new Map<string, number>();
  readonly locations: { mapping: number; address: bigint; fn: number; attributes: number[] }[] = [{ mapping: 0, address: 0n, fn: 0, attributes: [] }];
  readonly #locations = new Map<string, number>();
  readonly stacks: number[][] = [[]];
  readonly #stacks = new Map<string, number>();
  readonly attributes: { key: number; value: AnyValue }[] = [{ key: 0, value: {} }];
  readonly #attributes = new Map<string, number>();

  str(s: string): number {
    let i = this.#strings.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.#strings.set(s, i);
    }
    return i;
  }

  attribute(key: string, value: AnyValue): number {
    const k = `${key}\u0000${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    let i = this.#attributes.get(k);
    if (i === undefined) {
      i = this.attributes.length;
      this.attributes.push({ key: this.str(key), value });
      this.#attributes.set(k, i);
    }
    return i;
  }

  #mapping(f: Frame): number {
    const file = f.module ?? '';
    const key = `${file}\u0000${f.buildId ?? ''}`;
    let i = this.#mappings.get(key);
    if (i === undefined) {
      i = this.mappings.length;
      const attributes = f.buildId ? [this.attribute('process.executable.build_id.gnu', { stringValue: f.buildId })] : [];
      this.mappings.push({ filename: this.str(file), attributes });
      this.#mappings.set(key, i);
    }
    return i;
  }

  #function(f: Frame): number {
    const key = `${f.function}\u0000${f.module ?? ''}`;
    let i = this.#functions.get(key);
    if (i === undefined) {
      i = this.functions.length;
      const name = this.str(f.function);
      this.functions.push({ name, systemName: name });
      this.#functions.set(key, i);
    }
    return i;
  }

  location(f: Frame): number {
    const key = `${f.kind}\u0000${f.function}\u0000${f.module ?? ''}\u0000${f.address ?? ''}`;
    let i = this.#locations.get(key);
    if (i === undefined) {
      i = this.locations.length;
      // profile.frame.type: the semantic conventions' values for what bpfcol knows for sure.
      const type = f.kind === 'kernel' ? 'kernel' : f.kind === 'native' ? 'native' : undefined;
      this.locations.push({
        mapping: f.module ? this.#mapping(f) : 0,
        address: f.address ?? 0n,
        fn: this.#function(f),
        attributes: type ? [this.attribute('profile.frame.type', { stringValue: type })] : [],
      });
      this.#locations.set(key, i);
    }
    return i;
  }

  stack(locations: number[]): number {
    const key = locations.join(',');
    let i = this.#stacks.get(key);
    if (i === undefined) {
      i = this.stacks.length;
      this.stacks.push(locations);
      this.#stacks.set(key, i);
    }
    return i;
  }
}

function packedVarints(w: PbWriter, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  w.uint32(tag(field, LEN)).fork();
  for (const v of values) w.int32(v);
  w.ldelim();
}

function lenMessage(w: PbWriter, field: number, write: (w: PbWriter) => void): void {
  w.uint32(tag(field, LEN)).fork();
  write(w);
  w.ldelim();
}

function writeString(w: PbWriter, field: number, s: string | undefined): void {
  if (s) w.uint32(tag(field, LEN)).string(s);
}

function sampleAttributes(dict: Dictionary, list: readonly KeyValue[]): number[] {
  return list.map((kv) => dict.attribute(kv.key, kv.value));
}

/** The protobuf bytes of an ExportProfilesServiceRequest holding `data`. */
export function encodeProfilesRequest(data: ProfilesData): Uint8Array {
  const dict = new Dictionary();
  const w = Writer.create() as unknown as PbWriter;
  for (const rp of data.resourceProfiles) {
    lenMessage(w, 1, (w1) => {
      lenMessage(w1, 1, (w2) => embed(resourceV1.Resource, { attributes: keyValues(rp.resource.attributes), droppedAttributesCount: rp.resource.droppedAttributesCount ?? 0 }, w2));
      for (const sp of rp.scopeProfiles) {
        lenMessage(w1, 2, (w2) => {
          if (sp.scope) {
            const s = sp.scope;
            lenMessage(w2, 1, (w3) => embed(common.InstrumentationScope, { name: s.name, version: s.version ?? '', attributes: keyValues(s.attributes) }, w3));
          }
          for (const p of sp.profiles) {
            lenMessage(w2, 2, (w3) => {
              const t = p.sampleTypes[0] ?? { type: '', unit: '' };
              lenMessage(w3, 1, (w4) => w4.uint32(tag(1, VARINT)).int32(dict.str(t.type)).uint32(tag(2, VARINT)).int32(dict.str(t.unit)));
              for (const s of p.samples) {
                const value = s.values[0] ?? 0;
                if (value === 0) continue;
                const locations = s.frames.filter((f) => f.kind !== 'metadata').map((f) => dict.location(f));
                const stack = dict.stack(locations);
                lenMessage(w3, 2, (w4) => {
                  if (stack) w4.uint32(tag(1, VARINT)).int32(stack);
                  packedVarints(w4, 2, sampleAttributes(dict, s.attributes));
                  w4.uint32(tag(4, LEN)).fork();
                  w4.int64(i64(value));
                  w4.ldelim();
                });
              }
              w3.uint32(tag(3, FIXED64)).fixed64(u64(p.timeUnixNano));
              if (p.durationNano) w3.uint32(tag(4, VARINT)).uint64(u64(p.durationNano));
              lenMessage(w3, 5, (w4) => w4.uint32(tag(1, VARINT)).int32(dict.str(p.period.type)).uint32(tag(2, VARINT)).int32(dict.str(p.period.unit)));
              if (p.period.value) w3.uint32(tag(6, VARINT)).int64(i64(p.period.value));
              const id = hexToBytes(p.profileId);
              if (id && id.length === 16) w3.uint32(tag(7, LEN)).bytes(id);
              packedVarints(w3, 11, sampleAttributes(dict, p.attributes));
            });
          }
          writeString(w2, 3, sp.schemaUrl);
        });
      }
      writeString(w1, 3, rp.schemaUrl);
    });
  }
  // The dictionary, once every table is complete.
  lenMessage(w, 2, (wd) => {
    for (const m of dict.mappings) {
      lenMessage(wd, 1, (x) => {
        if (m.filename) x.uint32(tag(4, VARINT)).int32(m.filename);
        packedVarints(x, 5, m.attributes);
      });
    }
    for (const l of dict.locations) {
      lenMessage(wd, 2, (x) => {
        if (l.mapping) x.uint32(tag(1, VARINT)).int32(l.mapping);
        if (l.address) x.uint32(tag(2, VARINT)).uint64(u64(l.address));
        if (l.fn) lenMessage(x, 3, (y) => y.uint32(tag(1, VARINT)).int32(l.fn));
        packedVarints(x, 4, l.attributes);
      });
    }
    for (const f of dict.functions) {
      lenMessage(wd, 3, (x) => {
        if (f.name) x.uint32(tag(1, VARINT)).int32(f.name);
        if (f.systemName) x.uint32(tag(2, VARINT)).int32(f.systemName);
      });
    }
    lenMessage(wd, 4, () => undefined); // link_table[0], the zero link
    for (const s of dict.strings) wd.uint32(tag(5, LEN)).string(s);
    for (const a of dict.attributes) {
      lenMessage(wd, 6, (x) => {
        if (a.key) x.uint32(tag(1, VARINT)).int32(a.key);
        if (Object.keys(a.value).length) lenMessage(x, 2, (y) => embed(common.AnyValue, anyValue(a.value), y));
      });
    }
    for (const s of dict.stacks) lenMessage(wd, 7, (x) => packedVarints(x, 1, s));
  });
  return w.finish();
}
