// JVMs of other kinds: already running when the receiver starts (found by the /proc scan), run
// by another user (hsperfdata in another directory), without hsperfdata (-XX:-UsePerfData), a
// HotSpot without USDT probes, Temurin when installed, and JVMs the filters leave alone.
// Needs root and uprobes: fails loudly without them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkRequirements } from '../../src/bpf/probe.ts';
import { getAttribute } from '../../src/pdata/common.ts';
import {
  type CompiledPrograms,
  type JmxState,
  Workload,
  compilePrograms,
  debianJdk,
  histogram,
  installedJdks,
  jdkWithoutProbes,
  perfAttachments,
  resourceOf,
  startReceiver,
  sumValue,
  until,
} from './testing.ts';

const INTERVAL = '300ms';
const NOBODY = 65534;

const gcCount = (s: JmxState, name: string) => s.gcs.find((g) => g.name === name)?.count ?? 0;
const afterGc = (s: JmxState, name: string) => s.pools.find((p) => p.name === name)?.afterGc?.used;

let programs: CompiledPrograms;
before(() => {
  const missing = checkRequirements({ uprobes: true, ringBuffer: true, tracepoints: ['sched/sched_process_exec', 'sched/sched_process_exit'] });
  if (missing.length) throw new Error(`the jvm_usdt tests need root and these kernel features:\n  ${missing.join('\n  ')}`);
  programs = compilePrograms();
});
after(() => programs?.cleanup());

describe('a JVM already running, owned by another user', () => {
  let jvm: Workload;
  before(async () => {
    jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx128m'], uid: NOBODY, gid: NOBODY });
  });
  after(async () => jvm?.stop());

  it('is found by the /proc scan, its hsperfdata read from /tmp/hsperfdata_nobody', async () => {
    const r = await startReceiver({ collection_interval: INTERVAL, filters: { pids: [jvm.pid] } });
    try {
      const tracked = r.receiver.jvms().find((j) => j.pid === jvm.pid);
      assert.ok(tracked, 'found before start() returned');
      assert.equal(tracked.probes, 'attached');
      assert.equal(r.telemetry.counters.get('receiver_jvm_usdt_jvms_discovered'), 1);
      assert.ok(r.logLines.some((l) => l.includes('JVM found') && l.includes('via=scan')));
      const state = await jvm.command('threads 2');
      const data = await until('thread counts from hsperfdata', async () => {
        const d = await r.nextBatches(1);
        return sumValue(d, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': false }) !== undefined ? d : undefined;
      });
      assert.equal(tracked.hsperfPath, `/proc/${jvm.pid}/root/tmp/hsperfdata_nobody/${jvm.pid}`);
      assert.equal(sumValue(data, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': false }), state.threads.live - state.threads.daemon);
      const res = resourceOf(data, jvm.pid)!.resource.attributes;
      assert.equal(getAttribute(res, 'process.owner'), 'nobody');
      const gc = await jvm.command('gc');
      const after = await r.nextBatches();
      assert.equal(histogram(after, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Old Generation' })?.count, gcCount(gc, 'G1 Old Generation'));
      await jvm.command('stopthreads');
    } finally {
      await r.stop();
    }
  });
});

describe('a JVM without hsperfdata (-XX:-UsePerfData)', () => {
  it('gets its metrics from the probes alone', async () => {
    const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] } });
    const jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx128m', '-XX:-UsePerfData'] });
    try {
      const tracked = await until('attached', () => r.receiver.jvms().find((j) => j.pid === jvm.pid && j.probes === 'attached'));
      const base = await jvm.command('jmx');
      const before = await r.nextBatches();
      const loaded0 = sumValue(before, jvm.pid, 'jvm.class.loaded') ?? 0;
      await jvm.command('classes 5');
      await jvm.command('alloc 200');
      const end = await jvm.command('gc');
      const data = await r.nextBatches();
      assert.equal(tracked.hsperfPath, undefined, 'no hsperfdata file');
      assert.equal(sumValue(data, jvm.pid, 'jvm.thread.count'), undefined, 'thread counts need hsperfdata');
      assert.equal(sumValue(data, jvm.pid, 'jvm.class.count'), undefined);
      assert.equal((sumValue(data, jvm.pid, 'jvm.class.loaded') ?? 0) - loaded0, end.classes.loaded - base.classes.loaded, 'class__loaded counts what JMX counts');
      assert.equal(histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Old Generation' })?.count, gcCount(end, 'G1 Old Generation'));
      assert.equal(histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Young Generation' })?.count ?? 0, gcCount(end, 'G1 Young Generation'));
      for (const name of ['G1 Old Gen', 'G1 Eden Space', 'Metaspace']) {
        const jmx = end.pools.find((p) => p.name === name)!;
        const used = sumValue(data, jvm.pid, 'jvm.memory.used', { 'jvm.memory.pool.name': name });
        assert.ok(used !== undefined, `${name}: usage as of the last collection`);
        if (jmx.afterGc) assert.equal(used, jmx.afterGc.used, `${name} used after the last collection`);
        assert.equal(sumValue(data, jvm.pid, 'jvm.memory.committed', { 'jvm.memory.pool.name': name }), jmx.afterGc?.committed ?? sumValue(data, jvm.pid, 'jvm.memory.committed', { 'jvm.memory.pool.name': name }));
      }
      assert.equal(sumValue(data, jvm.pid, 'jvm.memory.limit', { 'jvm.memory.pool.name': 'G1 Old Gen' }), 128 << 20);
      const res = resourceOf(data, jvm.pid)!.resource.attributes;
      assert.match(String(getAttribute(res, 'process.runtime.version')), /^17\.0\.\d+\+\d+/, 'from the JDK release file');
      assert.equal(getAttribute(res, 'jvm.main_class'), 'Workload');
    } finally {
      await jvm.stop();
      await r.stop();
    }
  });
});

describe('a HotSpot built without USDT probes', () => {
  let jdk: ReturnType<typeof jdkWithoutProbes>;
  before(() => {
    jdk = jdkWithoutProbes(debianJdk());
  });
  after(() => jdk?.cleanup());

  it('is reported once in the log and still gets hsperfdata metrics', async () => {
    const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] } });
    const jvms = [await Workload.start({ jdk, programs, jvmArgs: ['-Xmx64m'] }), await Workload.start({ jdk, programs, jvmArgs: ['-Xmx64m'] })];
    try {
      for (const jvm of jvms) await until(`JVM ${jvm.pid} found`, () => r.receiver.jvms().find((j) => j.pid === jvm.pid));
      for (const jvm of jvms) assert.equal(r.receiver.jvms().find((j) => j.pid === jvm.pid)?.probes, 'none');
      const lines = r.logLines.filter((l) => l.includes('has no USDT probes'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /its JVMs get hsperfdata metrics only/);
      const state = await jvms[0]!.command('gc');
      const data = await until('hsperfdata metrics', async () => {
        const d = await r.nextBatches(1);
        return sumValue(d, jvms[0]!.pid, 'jvm.memory.committed', { 'jvm.memory.pool.name': 'G1 Old Gen' }) !== undefined ? d : undefined;
      });
      const pid = jvms[0]!.pid;
      assert.equal(sumValue(data, pid, 'jvm.memory.committed', { 'jvm.memory.pool.name': 'G1 Old Gen', 'jvm.memory.type': 'heap' }), state.pools.find((p) => p.name === 'G1 Old Gen')!.usage.committed);
      assert.equal(sumValue(data, pid, 'jvm.thread.count', { 'jvm.thread.daemon': true }), state.threads.daemon);
      assert.equal(sumValue(data, pid, 'jvm.class.loaded'), state.classes.loaded);
      assert.equal(histogram(data, pid, 'jvm.gc.duration'), undefined, 'no probes, no GC durations');
      assert.equal(perfAttachments(r.receiver.kernel!.usdtProgramIds()).filter((a) => a.pid === process.pid).length, 0, 'nothing attached');
    } finally {
      for (const j of jvms) await j.stop();
      await r.stop();
    }
  });
});

for (const [flag, cycles, pauses] of [
  ['ZGC', 'ZGC Cycles', 'ZGC Pauses'],
  ['ShenandoahGC', 'Shenandoah Cycles', 'Shenandoah Pauses'],
] as const) {
  describe(`a concurrent collector (-XX:+Use${flag})`, () => {
    it('gets mem__pool__gc__begin attached and every cycle JMX counts timed', async () => {
      const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] } });
      const jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx256m', `-XX:+Use${flag}`] });
      try {
        const tracked = await until('attached', () => r.receiver.jvms().find((j) => j.pid === jvm.pid && j.probes === 'attached'));
        assert.equal(tracked.poolBegin, true, 'the begin probe is attached for a concurrent collector');
        const base = await jvm.command('jmx');
        const before = await r.nextBatches();
        const count = (d: typeof before) => histogram(d, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': cycles, 'jvm.gc.action': 'end of GC cycle' })?.count ?? 0;
        await jvm.command('alloc 600');
        await jvm.command('gc');
        // The collector runs cycles of its own after System.gc(): compare once JMX stands still over a batch.
        const { data, state } = await until('JMX and a batch agree on a quiet moment', async () => {
          const s1 = await jvm.command('jmx');
          const d = await r.nextBatches();
          const s2 = await jvm.command('jmx');
          return gcCount(s1, cycles) === gcCount(s2, cycles) ? { data: d, state: s2 } : undefined;
        }, 60_000);
        const jmx = gcCount(state, cycles) - gcCount(base, cycles);
        console.log(`${flag} ${cycles}: probes +${count(data) - count(before)}, JMX +${jmx}; ${pauses} (no pool stats: not reported) JMX +${gcCount(state, pauses) - gcCount(base, pauses)}`);
        assert.ok(jmx > 0, 'cycles happened');
        assert.equal(count(data) - count(before), jmx);
        assert.equal(histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': pauses }), undefined);
        assert.ok(histogram(data, jvm.pid, 'jvm.safepoint.duration')!.count > 0, 'its pauses are safepoints');
      } finally {
        await jvm.stop();
        await r.stop();
      }
    });
  });
}

describe('a G1 JVM without GC records', () => {
  it('is attached without mem__pool__gc__begin, its pools still read after each collection', async () => {
    const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] } });
    const jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx128m'] });
    try {
      const tracked = await until('attached, hsperfdata read', () => r.receiver.jvms().find((j) => j.pid === jvm.pid && j.probes === 'attached' && j.hsperf));
      assert.equal(tracked.poolBegin, false);
      const end = await jvm.command('gc');
      const data = await r.nextBatches();
      assert.equal(histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Old Generation', 'jvm.gc.action': 'end of major GC' })?.count, gcCount(end, 'G1 Old Generation'), 'the manager is named by the pools\' end');
      assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used_after_last_gc', { 'jvm.memory.pool.name': 'G1 Old Gen' }), afterGc(end, 'G1 Old Gen'));
    } finally {
      await jvm.stop();
      await r.stop();
    }
  });
});

describe('filters', () => {
  it('leave a JVM whose main class does not match alone: nothing attached, no metrics', async () => {
    const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['com.example.*'] } });
    const jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx64m'] });
    try {
      await until('the JVM was looked at', () => (r.logLines.some((l) => l.includes('JVM left alone by the filters') && l.includes(`pid=${jvm.pid} `)) ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 1000)); // a few collection intervals
      assert.ok(r.metrics.received.every((d) => resourceOf(d, jvm.pid) === undefined), 'no metrics of it');
      assert.equal(r.receiver.jvms().length, 0);
      assert.equal(perfAttachments(r.receiver.kernel!.usdtProgramIds()).filter((a) => a.pid === process.pid).length, 0);
    } finally {
      await jvm.stop();
      await r.stop();
    }
  });
});

for (const jdk of installedJdks().filter((j) => !j.home.includes('java-17-openjdk'))) {
  describe(`${jdk.name} (${jdk.home})`, () => {
    it('is attached; collections and pool usage after them match JMX', async () => {
      const r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] }, logs: { enabled: true } }, { logs: true });
      const jvm = await Workload.start({ jdk, programs, jvmArgs: ['-Xmx256m'] });
      try {
        await until('attached', () => r.receiver.jvms().find((j) => j.pid === jvm.pid && j.probes === 'attached'));
        const base = await jvm.command('jmx');
        const before = await r.nextBatches();
        const count = (d: typeof before, name: string) => {
          const points = ['end of minor GC', 'end of major GC', 'end of GC cycle'].map((a) => histogram(d, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': name, 'jvm.gc.action': a })?.count ?? 0);
          return points.reduce((a, b) => a + b, 0);
        };
        await jvm.command('alloc 400');
        const end = await jvm.command('gc');
        const data = await r.nextBatches();
        for (const g of end.gcs) {
          const jmx = g.count - gcCount(base, g.name);
          console.log(`${jdk.name} ${g.name}: probes +${count(data, g.name) - count(before, g.name)}, JMX +${jmx}`);
          assert.equal(count(data, g.name) - count(before, g.name), jmx, g.name);
        }
        for (const name of ['G1 Eden Space', 'G1 Old Gen']) {
          assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used_after_last_gc', { 'jvm.memory.pool.name': name }), afterGc(end, name), name);
        }
        const res = resourceOf(data, jvm.pid)!.resource.attributes;
        assert.match(String(getAttribute(res, 'process.runtime.version')), new RegExp(`^${jdk.feature}\\.`));
      } finally {
        await jvm.stop();
        await r.stop();
      }
    });
  });
}
