// The pprof exporter: the encoding read back field by field, files and retention, the HTTP
// endpoint, and `go tool pprof -top` reading what it wrote of a real profile (a C program sampled
// by the perf_sampling receiver: needs root, and Go at /usr/local/go/bin or on PATH).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { attributes } from '../../src/pdata/common.ts';
import type { Frame, ProfilesData } from '../../src/pdata/profiles.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { buildHot, exited, requireRoot, startProgram, startReceiver, tempDir } from '../../receivers/perf_sampling/testing.ts';
import { pprofConfigSchema } from './config.ts';
import { decodePprof, encodePprof } from './encode.ts';
import { PprofExporter } from './exporter.ts';

const GO = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';

function goPprofTop(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(GO, ['tool', 'pprof', '-top', '-nodecount=30', source], { timeout: 180_000, env: { ...process.env, HOME: process.env.HOME ?? '/root' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`go tool pprof failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const main: Frame = { function: 'main', kind: 'native', module: '/usr/bin/app', address: 0x401000n, buildId: 'ab12' };
const work: Frame = { function: 'work', kind: 'native', module: '/usr/bin/app', address: 0x401100n, buildId: 'ab12' };
const jit: Frame = { function: 'LHot;::run', kind: 'jit', module: '/tmp/perf-7.map', address: 0x7f0000001000n };
const sys: Frame = { function: 'do_syscall_64', kind: 'kernel', module: '[kernel.kallsyms]', address: 0xffffffff81000100n };
const proc: Frame = { function: 'app (pid 7)', kind: 'metadata' };

function sampleData(): ProfilesData {
  return {
    resourceProfiles: [
      {
        resource: { attributes: attributes({ 'process.pid': 7, 'process.executable.name': 'app', 'k8s.pod.name': 'web-1', 'k8s.namespace.name': 'shop', 'k8s.container.name': 'app' }) },
        scopeProfiles: [
          {
            profiles: [
              {
                sampleTypes: [
                  { type: 'samples', unit: 'count' },
                  { type: 'cpu', unit: 'nanoseconds' },
                ],
                period: { type: 'cpu', unit: 'nanoseconds', value: 10101010 },
                timeUnixNano: 1_764_000_000_000_000_000n,
                durationNano: 30_000_000_000n,
                samples: [
                  { frames: [work, main, proc], values: [30, 303030300], attributes: attributes({ 'thread.id': 8, 'thread.name': 'worker' }) },
                  { frames: [sys, jit, main, proc], values: [10, 101010100], attributes: attributes({ 'thread.id': 7, 'thread.name': 'app' }) },
                ],
                attributes: [],
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('pprof encoding', () => {
  it('reads back: sample types, period, times, stacks leaf first with pod and container at the root, labels, mappings with build ids', () => {
    const data = sampleData();
    const rp = data.resourceProfiles[0]!;
    const m = decodePprof(encodePprof([{ resource: rp.resource, profile: rp.scopeProfiles[0]!.profiles[0]! }], { comment: 'bpfcol' }));
    const str = (l: { toNumber(): number } | undefined) => m.stringTable[l?.toNumber() ?? 0]!;
    assert.equal(m.stringTable[0], '');
    assert.deepEqual(m.sampleType.map((t) => [str(t.type), str(t.unit)]), [['samples', 'count'], ['cpu', 'nanoseconds']]);
    assert.equal(m.period.toNumber(), 10101010);
    assert.equal(str(m.periodType?.type), 'cpu');
    assert.equal(str(m.defaultSampleType), 'cpu');
    assert.equal(m.timeNanos.toString(), '1764000000000000000');
    assert.equal(m.durationNanos.toNumber(), 30e9);
    assert.equal(str(m.comment?.[0]), 'bpfcol');
    const fnName = new Map(m.function.map((f) => [f.id.toNumber(), str(f.name)]));
    const loc = new Map(m.location.map((l) => [l.id.toNumber(), l]));
    const stack = (i: number) => m.sample[i]!.locationId.map((id) => fnName.get(loc.get(id.toNumber())!.line[0]!.functionId.toNumber()));
    assert.deepEqual(stack(0), ['work', 'main', 'app (pid 7)', 'container app', 'pod shop/web-1']);
    assert.deepEqual(stack(1), ['do_syscall_64', 'LHot;::run', 'main', 'app (pid 7)', 'container app', 'pod shop/web-1']);
    assert.deepEqual(m.sample.map((s) => s.value.map((v) => v.toNumber())), [[30, 303030300], [10, 101010100]]);
    const labels = m.sample[0]!.label!.map((l) => [str(l.key), l.str !== undefined && l.str.toNumber() !== 0 ? str(l.str) : l.num?.toNumber()]);
    assert.deepEqual(labels, [['pid', 7], ['process', 'app'], ['pod', 'web-1'], ['tid', 8], ['thread', 'worker']]);
    // Locations keep addresses; native ones sit in their file's mapping with its build id.
    const workLoc = [...loc.values()].find((l) => fnName.get(l.line[0]!.functionId.toNumber()) === 'work')!;
    assert.equal(workLoc.address?.toString(16), '401100');
    const mapping = m.mapping.find((x) => x.id.equals(workLoc.mappingId!))!;
    assert.equal(str(mapping.filename), '/usr/bin/app');
    assert.equal(str(mapping.buildId), 'ab12');
    assert.equal(mapping.hasFunctions, true);
    // main is one location, shared by both samples.
    assert.equal(m.location.filter((l) => fnName.get(l.line[0]!.functionId.toNumber()) === 'main').length, 1);
  });

  it('refuses profiles with different sample types in one file', () => {
    const rp = sampleData().resourceProfiles[0]!;
    const p = rp.scopeProfiles[0]!.profiles[0]!;
    assert.throws(() => encodePprof([{ resource: rp.resource, profile: p }, { resource: rp.resource, profile: { ...p, sampleTypes: [{ type: 'alloc', unit: 'bytes' }] } }]), /share sample types/);
  });
});

describe('pprof exporter', () => {
  const dir = tempDir('bpfcol-pprof-');
  after(() => dir.remove());

  it('writes one file per process per window, keeps max_files, serves the latest window over HTTP', async () => {
    const out = join(dir.path, 'unit');
    const e = new PprofExporter(testSettings('pprof', 'exporter', 'profiles'), pprofConfigSchema.parse({ directory: out, endpoint: '127.0.0.1:0', max_files: 2 }));
    await e.start();
    try {
      for (let i = 0; i < 3; i++) {
        const data = sampleData();
        data.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.timeUnixNano += BigInt(i) * 30_000_000_000n;
        await e.consume(data);
      }
      const files = readdirSync(out).sort();
      assert.equal(files.length, 2, `files: ${files}`);
      assert.match(files[0]!, /^20251124T160030\.000Z-app-pid-7\.pb\.gz$/);
      const base = `http://127.0.0.1:${e.address!.port}`;
      const latest = decodePprof(Buffer.from(await (await fetch(`${base}/debug/pprof/profile`)).arrayBuffer()));
      assert.equal(latest.timeNanos.toString(), String(1_764_000_000_000_000_000n + 60_000_000_000n));
      assert.equal((await fetch(`${base}/debug/pprof/profile?pid=7`)).status, 200);
      assert.equal((await fetch(`${base}/debug/pprof/profile?pid=8`)).status, 404);
      const index = (await (await fetch(`${base}/profiles`)).json()) as { key: string; samples: number }[];
      assert.deepEqual(index.map((x) => [x.key, x.samples]), [['pid-7', 40]]);
    } finally {
      await e.shutdown();
    }
  });
});

describe('pprof exporter with the perf_sampling receiver: go tool pprof reads its files', () => {
  const dir = tempDir('bpfcol-pprof-go-');
  before(() => requireRoot());
  after(() => dir.remove());

  it('go tool pprof -top lists hot_a and hot_b of a sampled C program, from a file and from the endpoint', async () => {
    const hot = buildHot(dir.path);
    const out = join(dir.path, 'pprof');
    const exporter = new PprofExporter(testSettings('pprof', 'exporter', 'profiles'), pprofConfigSchema.parse({ directory: out, endpoint: '127.0.0.1:0' }));
    await exporter.start();
    const r = await startReceiver({ frequency: 499, window: '10s', read_interval: '1s' });
    let pid = 0;
    try {
      const child = await startProgram(hot, ['1.5']);
      pid = child.pid!;
      await exited(child);
    } finally {
      await r.stop();
    }
    try {
      for (const batch of r.profiles.received) await exporter.consume(batch);
      const file = readdirSync(out).find((n) => n.endsWith(`-hot-pid-${pid}.pb.gz`));
      assert.ok(file, `a file for the program in ${readdirSync(out).join(', ')}`);
      const top = await goPprofTop(join(out, file));
      const lines = top.split('\n');
      const flat = (name: string) => {
        const line = lines.find((l) => l.trim().endsWith(` ${name}`));
        assert.ok(line, `${name} in go tool pprof -top:\n${top}`);
        return Number.parseFloat(line.trim().split(/\s+/)[1]!); // flat%
      };
      const a = flat('hot_a');
      const b = flat('hot_b');
      assert.ok(a > b * 2, `hot_a ${a}% vs hot_b ${b}%:\n${top}`);
      assert.match(top, /Type: cpu/);
      assert.match(top, new RegExp(`hot \\(pid ${pid}\\)`));
      const fromHttp = await goPprofTop(`http://127.0.0.1:${exporter.address!.port}/debug/pprof/profile?pid=${pid}`);
      assert.match(fromHttp, / hot_a\n/);
      assert.ok(readFileSync(join(out, file)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])), 'gzipped');
    } finally {
      await exporter.shutdown();
    }
  });
});
