// bpfcol profiles -> pprof's profile.proto, gzipped: the format `go tool pprof` reads. Profiles of
// several processes (one window) can go into one file: their samples keep their process and
// thread as labels, and the frames naming them (pod, container, process) sit at the root of each
// stack. Every frame becomes a location whose one line names its function, so pprof shows the
// names bpfcol resolved without symbolizing anything itself.
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import Long from 'long';
import protobuf from 'protobufjs';
import { type KeyValue, fromAnyValue } from '../../src/pdata/common.ts';
import { type Frame, type Profile, framesWithResource, resourceFrames } from '../../src/pdata/profiles.ts';
import type { Resource } from '../../src/pdata/common.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('./profile.proto', import.meta.url)));
const ProfileType = root.lookupType('perftools.profiles.Profile');

export interface SourcedProfile {
  resource: Resource;
  profile: Profile;
}

/** The decoded message, as protobufjs gives it (64-bit numbers as Long). */
export interface PprofMessage {
  sampleType: { type: Long; unit: Long }[];
  sample: { locationId: Long[]; value: Long[]; label?: { key: Long; str?: Long; num?: Long }[] }[];
  mapping: { id: Long; filename: Long; buildId: Long; hasFunctions?: boolean }[];
  location: { id: Long; mappingId?: Long; address?: Long; line: { functionId: Long }[] }[];
  function: { id: Long; name: Long; systemName: Long; filename?: Long }[];
  stringTable: string[];
  timeNanos: Long;
  durationNanos: Long;
  periodType?: { type: Long; unit: Long };
  period: Long;
  comment?: Long[];
  defaultSampleType?: Long;
}

class Strings {
  readonly table: string[] = [''];
  readonly #index = new Map<string, number>([['', 0]]);
  id(s: string): number {
    let i = this.#index.get(s);
    if (i === undefined) {
      i = this.table.length;
      this.table.push(s);
      this.#index.set(s, i);
    }
    return i;
  }
}

const u64 = (v: bigint | number) => Long.fromString(BigInt(v).toString(), true);
const i64 = (v: bigint | number) => Long.fromString(BigInt(v).toString(), false);

function attr(list: readonly KeyValue[], key: string): string | number | undefined {
  const v = list.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  const plain = fromAnyValue(v);
  if (typeof plain === 'bigint') return Number(plain);
  if (typeof plain === 'string' || typeof plain === 'number') return plain;
  return undefined;
}

/**
 * One pprof message for profiles of one window. Sample types come from the first profile; a profile
 * with other sample types is refused (pprof needs one set per file).
 */
export function toPprof(profiles: readonly SourcedProfile[], options: { comment?: string } = {}): Record<string, unknown> {
  const first = profiles[0]?.profile;
  if (!first) throw new Error('no profile to encode');
  const typesKey = JSON.stringify(first.sampleTypes);
  const strings = new Strings();
  const mappings = new Map<string, Record<string, unknown>>();
  const functions = new Map<string, Record<string, unknown>>();
  const locations = new Map<Frame, Record<string, unknown>>();
  const locationByKey = new Map<string, Record<string, unknown>>();
  const samples: Record<string, unknown>[] = [];

  const mappingId = (f: Frame): number => {
    const file = f.module ?? `[${f.kind}]`;
    const key = `${file}\u0000${f.buildId ?? ''}`;
    let m = mappings.get(key);
    if (!m) {
      m = { id: u64(mappings.size + 1), filename: strings.id(file), buildId: strings.id(f.buildId ?? ''), hasFunctions: true };
      mappings.set(key, m);
    }
    return (m.id as Long).toNumber();
  };
  const functionId = (f: Frame): number => {
    const key = `${f.function}\u0000${f.kind === 'metadata' ? '' : (f.module ?? '')}`;
    let fn = functions.get(key);
    if (!fn) {
      fn = { id: u64(functions.size + 1), name: strings.id(f.function), systemName: strings.id(f.function), filename: strings.id('') };
      functions.set(key, fn);
    }
    return (fn.id as Long).toNumber();
  };
  const locationId = (f: Frame): Long => {
    let loc = locations.get(f);
    if (!loc) {
      // Frames equal in content (from different processes' caches) share a location.
      const key = `${f.function}\u0000${f.module ?? ''}\u0000${f.address ?? ''}\u0000${f.kind}`;
      loc = locationByKey.get(key);
      if (!loc) {
        loc = { id: u64(locationByKey.size + 1), line: [{ functionId: u64(functionId(f)) }] };
        if (f.kind !== 'metadata') loc.mappingId = u64(mappingId(f));
        if (f.address !== undefined) loc.address = u64(f.address);
        locationByKey.set(key, loc);
      }
      locations.set(f, loc);
    }
    return loc.id as Long;
  };

  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const { resource, profile } of profiles) {
    if (JSON.stringify(profile.sampleTypes) !== typesKey) {
      throw new Error(`profiles of one pprof file must share sample types: ${typesKey} vs ${JSON.stringify(profile.sampleTypes)}`);
    }
    const t0 = profile.timeUnixNano;
    const t1 = profile.timeUnixNano + profile.durationNano;
    if (start === undefined || t0 < start) start = t0;
    if (end === undefined || t1 > end) end = t1;
    const rootFrames = resourceFrames(resource);
    const pid = attr(resource.attributes, 'process.pid');
    const exe = attr(resource.attributes, 'process.executable.name');
    const container = attr(resource.attributes, 'container.id');
    const pod = attr(resource.attributes, 'k8s.pod.name');
    for (const s of profile.samples) {
      const labels: Record<string, unknown>[] = [];
      const str = (key: string, value: string | number | undefined) => {
        if (value !== undefined) labels.push({ key: strings.id(key), str: strings.id(String(value)) });
      };
      const num = (key: string, value: string | number | undefined) => {
        if (typeof value === 'number') labels.push({ key: strings.id(key), num: i64(value) });
      };
      num('pid', pid);
      str('process', exe);
      str('container', typeof container === 'string' ? container.slice(0, 12) : undefined);
      str('pod', pod);
      num('tid', attr(s.attributes, 'thread.id'));
      str('thread', attr(s.attributes, 'thread.name'));
      samples.push({
        locationId: framesWithResource(s.frames, rootFrames).map(locationId),
        value: s.values.map((v) => i64(v)),
        label: labels,
      });
    }
  }
  const message: Record<string, unknown> = {
    sampleType: first.sampleTypes.map((t) => ({ type: strings.id(t.type), unit: strings.id(t.unit) })),
    sample: samples,
    mapping: [...mappings.values()],
    location: [...locationByKey.values()],
    function: [...functions.values()],
    timeNanos: i64(start ?? 0n),
    durationNanos: i64((end ?? 0n) - (start ?? 0n)),
    periodType: { type: strings.id(first.period.type), unit: strings.id(first.period.unit) },
    period: i64(first.period.value),
    defaultSampleType: strings.id(first.sampleTypes.at(-1)?.type ?? ''),
  };
  if (options.comment) message.comment = [i64(strings.id(options.comment))];
  message.stringTable = strings.table; // last: every id above is in it now
  return message;
}

/** Gzipped profile.proto bytes. */
export function encodePprof(profiles: readonly SourcedProfile[], options: { comment?: string } = {}): Buffer {
  const message = ProfileType.fromObject(toPprof(profiles, options));
  return gzipSync(ProfileType.encode(message).finish());
}

/** Reads gzipped (or plain) profile.proto bytes. */
export function decodePprof(bytes: Uint8Array): PprofMessage {
  const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return ProfileType.toObject(ProfileType.decode(plain), { longs: Long, defaults: false, arrays: true }) as unknown as PprofMessage;
}
