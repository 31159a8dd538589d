// OTLP profiles against a real OpenTelemetry Collector (v0.161, built by test/peers/otelcol.sh,
// --feature-gates=service.profilesSupport): an ExportProfilesServiceRequest sent over OTLP/HTTP and
// over gRPC is accepted and written back by the Collector's file exporter with the same resource,
// sample type, period, stacks (function names leaf first), sample attributes, build ids and values.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { attributes } from '../common.ts';
import type { Frame, ProfilesData } from '../profiles.ts';
import { otelcolBinary } from '../../../test/support/otelcol.ts';
import { freePort, waitForPort } from '../../../test/support/ports.ts';
import { OTLP_PROFILES_GRPC_PATH, OTLP_PROFILES_HTTP_PATH, encodeProfilesRequest } from './profiles.ts';

const work: Frame = { function: 'work', kind: 'native', module: '/usr/bin/app', address: 0x1100n, buildId: 'ab12cd' };
const main: Frame = { function: 'main', kind: 'native', module: '/usr/bin/app', address: 0x1000n, buildId: 'ab12cd' };
const sys: Frame = { function: 'do_syscall_64', kind: 'kernel', module: '[kernel.kallsyms]', address: 0xffffffff81000100n };
const jit: Frame = { function: 'long Hot.hotA(long)', kind: 'jit', module: '/tmp/perf-7.map', address: 0x7f0000001000n };

function data(pid: number): ProfilesData {
  return {
    resourceProfiles: [
      {
        resource: { attributes: attributes({ 'process.pid': pid, 'process.executable.name': 'app' }) },
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

interface JsonProfile {
  sampleType: { typeStrindex?: number; unitStrindex?: number };
  samples: { stackIndex?: number; values: (string | number)[]; attributeIndices?: number[] }[];
  timeUnixNano: string;
  durationNano: string;
  periodType: { typeStrindex?: number; unitStrindex?: number };
  period: string;
  profileId: string;
}
interface JsonRequest {
  resourceProfiles: {
    // The Collector writes resource attribute keys (and string values) as string table indices.
    resource: { attributes: { key?: string; keyStrindex?: number; value: Record<string, unknown> }[] };
    scopeProfiles: { scope: { name: string }; profiles: JsonProfile[] }[];
  }[];
  dictionary: {
    stringTable: string[];
    stackTable: { locationIndices?: number[] }[];
    locationTable: { mappingIndex?: number; lines?: { functionIndex?: number }[]; attributeIndices?: number[] }[];
    functionTable: { nameStrindex?: number }[];
    mappingTable: { filenameStrindex?: number; attributeIndices?: number[] }[];
    attributeTable: { keyStrindex?: number; value?: Record<string, unknown> }[];
  };
}

describe('OTLP profiles to a real Collector (profiles support feature gate)', () => {
  let dir = '';
  let collector: ChildProcess | undefined;
  let grpcPort = 0;
  let httpPort = 0;
  let output = '';
  const file = () => join(dir, 'profiles.jsonl');

  before(async () => {
    const bin = await otelcolBinary();
    dir = mkdtempSync(join(tmpdir(), 'bpfcol-otlp-profiles-'));
    [grpcPort, httpPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'config.yaml'),
      `receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpcPort}" }
      http: { endpoint: "127.0.0.1:${httpPort}" }
exporters:
  file: { path: "${file()}", flush_interval: 50ms }
service:
  telemetry:
    metrics: { level: none }
  pipelines:
    profiles: { receivers: [otlp], exporters: [file] }
`,
    );
    collector = spawn(bin, ['--config', join(dir, 'config.yaml'), '--feature-gates=service.profilesSupport'], { stdio: ['ignore', 'pipe', 'pipe'] });
    collector.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    collector.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForPort(httpPort);
    await waitForPort(grpcPort);
  });
  after(async () => {
    if (collector && collector.exitCode === null) {
      const exited = new Promise((r) => collector!.once('exit', r));
      collector.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A resource attribute of a request as the Collector writes it, keys and strings resolved. */
  function resourceAttr(req: JsonRequest, rp: JsonRequest['resourceProfiles'][number], key: string): unknown {
    const strs = req.dictionary.stringTable;
    const a = rp.resource.attributes.find((x) => (x.key ?? strs[x.keyStrindex ?? 0]) === key);
    if (!a) return undefined;
    const v = a.value;
    if ('stringValueStrindex' in v) return strs[Number(v.stringValueStrindex)];
    return v.stringValue ?? v.intValue;
  }

  function ofPid(req: JsonRequest, pid: number) {
    return req.resourceProfiles.find((rp) => String(resourceAttr(req, rp, 'process.pid')) === String(pid));
  }

  async function written(pid: number): Promise<JsonRequest> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const lines = existsSync(file()) ? readFileSync(file(), 'utf8').split('\n').filter(Boolean) : [];
      const found = lines.map((l) => JSON.parse(l) as JsonRequest).find((r) => ofPid(r, pid));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`the Collector wrote no profile of pid ${pid}; its output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function check(req: JsonRequest, pid: number): void {
    const d = req.dictionary;
    const str = (i: number | undefined) => d.stringTable[i ?? 0] ?? '';
    assert.equal(d.stringTable[0], '');
    const rp = ofPid(req, pid)!;
    assert.equal(resourceAttr(req, rp, 'process.executable.name'), 'app');
    assert.equal(rp.scopeProfiles[0]!.scope.name, 'bpfcol/perf_sampling');
    const p = rp.scopeProfiles[0]!.profiles[0]!;
    assert.deepEqual([str(p.sampleType.typeStrindex), str(p.sampleType.unitStrindex)], ['samples', 'count']);
    assert.deepEqual([str(p.periodType.typeStrindex), str(p.periodType.unitStrindex)], ['cpu', 'nanoseconds']);
    assert.equal(String(p.period), '10101010');
    assert.equal(p.timeUnixNano, '1764000000123456789');
    assert.equal(String(p.durationNano), '30000000000');
    assert.equal(p.profileId, '0123456789abcdef0123456789abcdef');
    const stack = (i: number | undefined) =>
      (d.stackTable[i ?? 0]?.locationIndices ?? []).map((li) => str(d.functionTable[d.locationTable[li]!.lines?.[0]?.functionIndex ?? 0]?.nameStrindex));
    assert.deepEqual(p.samples.map((s) => stack(s.stackIndex)), [['work', 'main'], ['do_syscall_64', 'long Hot.hotA(long)', 'main']]);
    assert.deepEqual(p.samples.map((s) => s.values.map(Number)), [[30], [10]]);
    const attrs = (s: { attributeIndices?: number[] }) => Object.fromEntries((s.attributeIndices ?? []).map((i) => [str(d.attributeTable[i]!.keyStrindex), d.attributeTable[i]!.value]));
    assert.deepEqual(attrs(p.samples[0]!), { 'thread.id': { intValue: '8' }, 'thread.name': { stringValue: 'worker' } });
    // The kernel frame is typed; native frames sit in their file's mapping with its build id.
    const kernelLoc = d.locationTable[d.stackTable[p.samples[1]!.stackIndex!]!.locationIndices![0]!]!;
    assert.deepEqual(Object.values(attrs(kernelLoc)), [{ stringValue: 'kernel' }]);
    const workLoc = d.locationTable[d.stackTable[p.samples[0]!.stackIndex!]!.locationIndices![0]!]!;
    const mapping = d.mappingTable[workLoc.mappingIndex!]!;
    assert.equal(str(mapping.filenameStrindex), '/usr/bin/app');
    assert.deepEqual(attrs(mapping), { 'process.executable.build_id.gnu': { stringValue: 'ab12cd' } });
  }

  it('over OTLP/HTTP (POST /v1development/profiles, protobuf)', async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${OTLP_PROFILES_HTTP_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(encodeProfilesRequest(data(1001))),
    });
    assert.equal(res.status, 200, await res.text());
    check(await written(1001), 1001);
  });

  it('over gRPC (ProfilesService/Export)', async () => {
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      await new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          OTLP_PROFILES_GRPC_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(encodeProfilesRequest(data(1002))),
          (err) => (err ? reject(err) : resolve()),
        );
      });
    } finally {
      client.close();
    }
    check(await written(1002), 1002);
  });
});
