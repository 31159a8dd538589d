// The perf_sampling receiver with its real kernel program, sampling real programs: a C program
// built here with frame pointers whose hot functions split its CPU time 3:1, and (in jit.test.ts)
// a JVM and Node with perf maps. Needs root: it fails without it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { getAttribute } from '../../src/pdata/common.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { resourceFrames } from '../../src/pdata/profiles.ts';
import { TestCgroupTree } from '../../test/support/cgroups.ts';
import { SAMPLES_METRIC } from './metrics.ts';
import {
  buildHot,
  exited,
  profilesOf,
  requireRoot,
  sampleCount,
  selfCounts,
  startProgram,
  startReceiver,
  tempDir,
  top,
  totalCount,
  whenReady,
} from './testing.ts';

function samplesMetric(data: MetricsData | undefined, pid: number): { user: bigint; system: bigint } | undefined {
  for (const rm of data?.resourceMetrics ?? []) {
    if (getAttribute(rm.resource.attributes, 'process.pid') !== BigInt(pid)) continue;
    const m = rm.scopeMetrics.flatMap((sm) => sm.metrics).find((x) => x.name === SAMPLES_METRIC);
    const data = m?.data;
    if (data?.type !== 'sum') continue;
    const by = (mode: string) => data.dataPoints.find((p) => getAttribute(p.attributes, 'cpu.mode') === mode)?.asInt ?? 0n;
    return { user: by('user'), system: by('system') };
  }
  return undefined;
}

describe('perf_sampling receiver: real perf events, real programs', () => {
  const dir = tempDir('bpfcol-perf-');
  let hot = '';

  before(() => {
    requireRoot();
    hot = buildHot(dir.path);
  });
  after(() => dir.remove());

  it('a C program burning CPU 3:1 in hot_a and hot_b: top frames, their ratio within 15%, stacks down to main', async () => {
    // 999 Hz: enough samples for the ratio on a busy machine. No pid filter: every process is
    // sampled, the program's profile is picked out by process.pid.
    const r = await startReceiver({ frequency: 999, window: '2s', read_interval: '1s' });
    let pid = 0;
    try {
      const child = await startProgram(hot, ['3']);
      pid = child.pid!;
      assert.equal(await exited(child), 0);
    } finally {
      await r.stop();
    }
    const profiles = profilesOf(r.profiles.received, pid);
    assert.ok(profiles.length > 0, 'the program has profiles');
    const self = selfCounts(profiles, (f) => f.kind === 'kernel');
    const [first, second] = top(self, 2);
    assert.equal(first?.[0], 'hot_a', `top frames: ${JSON.stringify(top(self))}`);
    assert.equal(second?.[0], 'hot_b', `top frames: ${JSON.stringify(top(self))}`);
    const a = self.get('hot_a')!;
    const b = self.get('hot_b')!;
    const ratio = a / b;
    assert.ok(Math.abs(ratio - 3) / 3 <= 0.15, `hot_a/hot_b = ${a}/${b} = ${ratio.toFixed(3)}, expected 3 within 15%`);
    // 3 CPU seconds at 999 Hz is ~3000 samples; at least most of them must be there.
    const total = sampleCount(profiles);
    assert.ok(total > 2000 && total < 3600, `samples of the program: ${total}`);
    // Frame pointers: the hot functions' samples unwind to main, and the root is the process frame.
    assert.ok(totalCount(profiles, (f) => f.function === 'main') >= (a + b) * 0.95, 'stacks reach main');
    for (const p of profiles) {
      for (const s of p.samples) {
        const root = s.frames.at(-1)!;
        assert.equal(root.kind, 'metadata');
        assert.equal(root.function, `hot (pid ${pid})`);
        const hotFrame = s.frames.find((f) => f.function === 'hot_a');
        if (hotFrame) {
          assert.equal(hotFrame.kind, 'native');
          assert.equal(hotFrame.module, hot);
          assert.match(hotFrame.buildId ?? '', /^[0-9a-f]{40}$/);
        }
      }
    }
    const resource = r.profiles.received.flatMap((b) => b.resourceProfiles).find((rp) => getAttribute(rp.resource.attributes, 'process.pid') === BigInt(pid))!;
    assert.equal(getAttribute(resource.resource.attributes, 'process.executable.name'), 'hot');
    assert.equal(getAttribute(resource.resource.attributes, 'process.executable.path'), hot);
    // The samples metric counts the same samples as the profiles.
    const counted = samplesMetric(r.metrics.received.at(-1), pid);
    assert.ok(counted, 'process.cpu.samples has a series for the program');
    assert.equal(Number(counted.user + counted.system), total);
    // Mostly user code; the writes of hot_syscalls are kernel time.
    assert.ok(counted.user > counted.system * 2n && counted.system > 0n, `user ${counted.user} system ${counted.system}`);
    // Nothing lost silently: every stack the kernel counted as lost is one [lost ... stack] frame
    // in some profile (the machine is busy, JIT code makes many distinct stacks: some collide).
    const all = r.profiles.received.flatMap((b) => b.resourceProfiles.flatMap((rp) => rp.scopeProfiles.flatMap((sp) => sp.profiles)));
    const lostFrames = all.reduce((n, p) => n + p.samples.reduce((m, s) => m + s.frames.filter((f) => f.function.startsWith('[lost ')).length * s.values[0]!, 0), 0);
    assert.equal(lostFrames, r.telemetry.counters.get('receiver_perf_sampling_lost') ?? 0);
    const program = profiles.reduce((n, p) => n + p.samples.reduce((m, s) => m + (s.frames.some((f) => f.function.startsWith('[lost ')) ? s.values[0]! : 0), 0), 0);
    assert.ok(program <= total * 0.01, `${program} of the program's ${total} samples lost a stack`);
    assert.ok((r.telemetry.counters.get('receiver_perf_sampling_samples') ?? 0) >= total);
  });

  it('a process that lives and dies between two reads is named from the copy of its mappings taken at its first sample', async () => {
    const r = await startReceiver({ frequency: 999, window: '60s', read_interval: '60s' });
    let pid = 0;
    try {
      const child = await startProgram(hot, ['0.4']);
      pid = child.pid!;
      assert.equal(await exited(child), 0);
      await new Promise((resolve) => setTimeout(resolve, 300)); // gone from /proc when the maps are read
    } finally {
      await r.stop();
    }
    const profiles = profilesOf(r.profiles.received, pid);
    const self = selfCounts(profiles, (f) => f.kind === 'kernel');
    assert.deepEqual(top(self, 2).map(([n]) => n), ['hot_a', 'hot_b'], JSON.stringify(top(self)));
    assert.ok(totalCount(profiles, (f) => f.function === 'main') > 0);
  });

  it('group_by container: one profile per container (a docker-<id>.scope cgroup), its processes told apart by their frames', async () => {
    const tree = new TestCgroupTree();
    const id = randomBytes(32).toString('hex');
    const container = tree.child(`docker-${id}.scope`);
    const r = await startReceiver({ frequency: 499, window: '60s', read_interval: '1s', group_by: 'container' });
    const pids: number[] = [];
    try {
      // Two processes in the container; sh joins the cgroup and execs the program (re-announced at the exec).
      for (const seconds of ['0.6', '0.3']) {
        const child = await whenReady(tree.track(container.spawn(hot, [seconds])));
        pids.push(child.pid!);
        assert.equal(await exited(child), 0);
      }
    } finally {
      await r.stop();
      await tree.remove();
    }
    const resources = r.profiles.received.flatMap((b) => b.resourceProfiles).filter((rp) => getAttribute(rp.resource.attributes, 'container.id') === id);
    assert.equal(resources.length, 1, 'one profile for the container');
    const rp = resources[0]!;
    assert.equal(getAttribute(rp.resource.attributes, 'process.pid'), undefined);
    assert.match(String(getAttribute(rp.resource.attributes, 'container.cgroup.path')), new RegExp(`/docker-${id}\.scope$`));
    assert.deepEqual(resourceFrames(rp.resource), [{ function: `container ${id.slice(0, 12)}`, kind: 'metadata' }]);
    const roots = new Map<string, number>();
    for (const s of rp.scopeProfiles[0]!.profiles[0]!.samples) roots.set(s.frames.at(-1)!.function, (roots.get(s.frames.at(-1)!.function) ?? 0) + s.values[0]!);
    for (const pid of pids) assert.ok((roots.get(`hot (pid ${pid})`) ?? 0) > 50, `samples of hot (pid ${pid}): ${JSON.stringify([...roots])}`);
    assert.ok(rp.scopeProfiles[0]!.profiles[0]!.samples.some((s) => s.frames.some((f) => f.function === 'hot_a')));
  });
});
