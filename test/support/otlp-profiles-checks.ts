// Profiles sent by the otlp / otlp_http exporters, checked against what a real Collector's file
// exporter wrote (OTLP/JSON of an ExportProfilesServiceRequest, dictionary-indexed), field by field:
// resource, scope, sample type, period, times, profile id, stacks (function names, leaf first),
// sample values and attributes, the kernel frame's type, the mapping's file and build id.
import assert from 'node:assert/strict';
import { attributes } from '../../src/pdata/common.ts';
import type { Frame, ProfilesData } from '../../src/pdata/profiles.ts';
import type { OtelcolPeer } from './otelcol.ts';

const work: Frame = { function: 'work', kind: 'native', module: '/usr/bin/app', address: 0x1100n, buildId: 'ab12cd' };
const main: Frame = { function: 'main', kind: 'native', module: '/usr/bin/app', address: 0x1000n, buildId: 'ab12cd' };
const sys: Frame = { function: 'do_syscall_64', kind: 'kernel', module: '[kernel.kallsyms]', address: 0xffffffff81000100n };
const jit: Frame = { function: 'long Hot.hotA(long)', kind: 'jit', module: '/tmp/perf-7.map', address: 0x7f0000001000n };

/** A perf_sampling-like profile whose resource carries `test.case=<name>`. */
export function sampleProfiles(name: string): ProfilesData {
  return {
    resourceProfiles: [
      {
        resource: { attributes: attributes({ 'process.pid': 7, 'process.executable.name': 'app', 'test.case': name }) },
        scopeProfiles: [
          {
            scope: { name: 'bpfcol/perf_sampling', version: '0.1.0' },
            profiles: [
              {
                profileId: '0123456789abcdef0123456789abcdef',
                sampleTypes: [
                  { type: 'samples', unit: 'count' },
                  { type: 'cpu', unit: 'nanoseconds' },
                ],
                period: { type: 'cpu', unit: 'nanoseconds', value: 10101010 },
                timeUnixNano: 1_764_000_000_123_456_789n,
                durationNano: 30_000_000_000n,
                samples: [
                  { frames: [work, main, { function: 'app (pid 7)', kind: 'metadata' }], values: [30, 303030300], attributes: attributes({ 'thread.id': 8, 'thread.name': 'worker' }) },
                  { frames: [sys, jit, main, { function: 'app (pid 7)', kind: 'metadata' }], values: [10, 101010100], attributes: attributes({ 'thread.id': 7, 'thread.name': 'app' }) },
                ],
                attributes: attributes({ 'profile.frequency': 99 }),
              },
            ],
          },
        ],
      },
    ],
  };
}

type JsonValue = Record<string, unknown>;
interface JsonRequest {
  resourceProfiles: {
    // The Collector may write resource attribute keys (and string values) as string table indices.
    resource: { attributes: { key?: string; keyStrindex?: number; value: JsonValue }[] };
    scopeProfiles: {
      scope: { name: string; version?: string };
      profiles: {
        sampleType: { typeStrindex?: number; unitStrindex?: number };
        samples: { stackIndex?: number; values: (string | number)[]; attributeIndices?: number[] }[];
        timeUnixNano: string;
        durationNano: string;
        periodType: { typeStrindex?: number; unitStrindex?: number };
        period: string;
        profileId: string;
      }[];
    }[];
  }[];
  dictionary: {
    stringTable: string[];
    stackTable: { locationIndices?: number[] }[];
    locationTable: { mappingIndex?: number; lines?: { functionIndex?: number }[]; attributeIndices?: number[] }[];
    functionTable: { nameStrindex?: number }[];
    mappingTable: { filenameStrindex?: number; attributeIndices?: number[] }[];
    attributeTable: { keyStrindex?: number; value?: JsonValue }[];
  };
}
type JsonResource = JsonRequest['resourceProfiles'][number];

function resourceAttr(req: JsonRequest, rp: JsonResource, key: string): unknown {
  const strs = req.dictionary.stringTable;
  const a = rp.resource.attributes.find((x) => (x.key ?? strs[x.keyStrindex ?? 0]) === key);
  if (!a) return undefined;
  const v = a.value;
  if ('stringValueStrindex' in v) return strs[Number(v.stringValueStrindex)];
  return v.stringValue ?? v.intValue;
}

/** Waits for the request the Collector wrote for profiles tagged `name`; returns it and its resource. */
export async function waitForProfiles(peer: OtelcolPeer, name: string, timeoutMs = 20_000): Promise<{ req: JsonRequest; rp: JsonResource }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of peer.profileLines()) {
      const req = JSON.parse(line) as JsonRequest;
      const rp = req.resourceProfiles.find((r) => resourceAttr(req, r, 'test.case') === name);
      if (rp) return { req, rp };
    }
    if (Date.now() > deadline) throw new Error(`the Collector wrote no profiles tagged ${name} within ${timeoutMs} ms:\n${peer.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asserts the Collector wrote sampleProfiles(name) as OTLP says it should look. */
export async function assertCollectorWroteProfiles(peer: OtelcolPeer, name: string): Promise<void> {
  const { req, rp } = await waitForProfiles(peer, name);
  const d = req.dictionary;
  const str = (i: number | undefined) => d.stringTable[i ?? 0] ?? '';
  assert.equal(d.stringTable[0], '');
  assert.equal(String(resourceAttr(req, rp, 'process.pid')), '7');
  assert.equal(resourceAttr(req, rp, 'process.executable.name'), 'app');
  assert.equal(rp.scopeProfiles.length, 1);
  const sp = rp.scopeProfiles[0]!;
  assert.deepEqual([sp.scope.name, sp.scope.version], ['bpfcol/perf_sampling', '0.1.0']);
  assert.equal(sp.profiles.length, 1);
  const p = sp.profiles[0]!;
  // OTLP keeps one sample type per profile: the first.
  assert.deepEqual([str(p.sampleType.typeStrindex), str(p.sampleType.unitStrindex)], ['samples', 'count']);
  assert.deepEqual([str(p.periodType.typeStrindex), str(p.periodType.unitStrindex)], ['cpu', 'nanoseconds']);
  assert.equal(String(p.period), '10101010');
  assert.equal(p.timeUnixNano, '1764000000123456789');
  assert.equal(String(p.durationNano), '30000000000');
  assert.equal(p.profileId, '0123456789abcdef0123456789abcdef');
  const stack = (i: number | undefined) =>
    (d.stackTable[i ?? 0]?.locationIndices ?? []).map((li) => str(d.functionTable[d.locationTable[li]!.lines?.[0]?.functionIndex ?? 0]?.nameStrindex));
  // The metadata frame naming the process is left out (the resource names it).
  assert.deepEqual(p.samples.map((s) => stack(s.stackIndex)), [['work', 'main'], ['do_syscall_64', 'long Hot.hotA(long)', 'main']]);
  assert.deepEqual(p.samples.map((s) => s.values.map(Number)), [[30], [10]]);
  const attrs = (s: { attributeIndices?: number[] }) => Object.fromEntries((s.attributeIndices ?? []).map((i) => [str(d.attributeTable[i]!.keyStrindex), d.attributeTable[i]!.value]));
  assert.deepEqual(p.samples.map(attrs), [
    { 'thread.id': { intValue: '8' }, 'thread.name': { stringValue: 'worker' } },
    { 'thread.id': { intValue: '7' }, 'thread.name': { stringValue: 'app' } },
  ]);
  const kernelLoc = d.locationTable[d.stackTable[p.samples[1]!.stackIndex!]!.locationIndices![0]!]!;
  assert.deepEqual(Object.values(attrs(kernelLoc)), [{ stringValue: 'kernel' }]);
  const workLoc = d.locationTable[d.stackTable[p.samples[0]!.stackIndex!]!.locationIndices![0]!]!;
  const mapping = d.mappingTable[workLoc.mappingIndex!]!;
  assert.equal(str(mapping.filenameStrindex), '/usr/bin/app');
  assert.deepEqual(attrs(mapping), { 'process.executable.build_id.gnu': { stringValue: 'ab12cd' } });
}
