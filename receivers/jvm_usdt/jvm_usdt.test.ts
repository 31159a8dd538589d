// The receiver against real JVMs: the kernel programs attached through libbpf's USDT support to
// Debian's OpenJDK 17 (and Temurin when installed), and every number compared with what the JVM
// says of itself through JMX. Needs root and uprobes: fails loudly without them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getAttribute } from '../../src/pdata/common.ts';
import { checkRequirements } from '../../src/bpf/probe.ts';
import { BpfObject, bpfObjectPath } from '../../src/bpf/object.ts';
import { LAYOUTS } from './layout.ts';
import {
  type CompiledPrograms,
  type JmxState,
  type RunningReceiver,
  Workload,
  compilePrograms,
  debianJdk,
  histogram,
  installedJdks,
  loadedProgramIds,
  logRecordsOf,
  perfAttachments,
  resourceOf,
  startReceiver,
  sumValue,
  until,
} from './testing.ts';

const INTERVAL = '300ms';

function requireRoot(): void {
  const missing = checkRequirements({ uprobes: true, ringBuffer: true, tracepoints: ['sched/sched_process_exec', 'sched/sched_process_exit'] });
  if (missing.length) throw new Error(`the jvm_usdt tests need root and these kernel features:\n  ${missing.join('\n  ')}`);
}

const gcCount = (s: JmxState, name: string) => s.gcs.find((g) => g.name === name)?.count ?? 0;
const pool = (s: JmxState, name: string) => {
  const p = s.pools.find((x) => x.name === name);
  if (!p) throw new Error(`JMX has no pool ${name}: ${s.pools.map((x) => x.name).join(', ')}`);
  return p;
};

let programs: CompiledPrograms;
before(() => {
  requireRoot();
  programs = compilePrograms();
});
after(() => programs?.cleanup());

describe('the kernel object', () => {
  it('matches the TypeScript layouts and loads', () => {
    const obj = BpfObject.open(bpfObjectPath('jvm_usdt'));
    try {
      for (const [name, layout] of Object.entries(LAYOUTS)) obj.checkLayout(name, layout);
    } finally {
      obj.close();
    }
  });
});

describe('a JVM started after the receiver (Debian OpenJDK 17)', () => {
  let r: RunningReceiver;
  let jvm: Workload;
  let attachedIds: number[] = [];

  before(async () => {
    r = await startReceiver({ collection_interval: INTERVAL, filters: { main_classes: ['Workload'] }, logs: { enabled: true } }, { logs: true });
    jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx256m', '-XX:+UseG1GC'] });
  });
  after(async () => {
    jvm?.kill();
    await r?.stop();
  });

  it('is found through its exec and attached', async () => {
    const tracked = await until('the receiver attaches to the new JVM', () => r.receiver.jvms().find((j) => j.pid === jvm.pid && j.probes === 'attached'));
    assert.equal(tracked.description.mainClass, 'Workload');
    assert.equal(r.telemetry.counters.get('receiver_jvm_usdt_jvms_discovered'), 1);
    assert.ok(r.logLines.some((l) => l.includes('JVM found') && l.includes('via=exec') && l.includes(`pid=${jvm.pid} `)), r.logLines.join('\n'));
    attachedIds = r.receiver.kernel!.usdtProgramIds();
    const mine = perfAttachments(attachedIds).filter((a) => a.pid === process.pid);
    assert.ok(mine.length >= 12, `uprobes of the 12 probes are attached (bpftool perf: ${mine.length})`);
    assert.ok(mine.every((a) => a.filename?.endsWith('/libjvm.so')), JSON.stringify(mine.slice(0, 3)));
  });

  it('carries the resource of the JVM: pid, runtime, main class, owner', async () => {
    const data = await until('a batch with the JVM and its hsperfdata', async () => {
      const d = await r.nextBatches(1);
      return sumValue(d, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': true }) !== undefined ? d : undefined;
    });
    const res = resourceOf(data, jvm.pid)!.resource.attributes;
    assert.equal(getAttribute(res, 'process.runtime.name'), 'OpenJDK Runtime Environment');
    assert.match(String(getAttribute(res, 'process.runtime.version')), /^17\.0\.\d+/);
    assert.match(String(getAttribute(res, 'process.runtime.description')), /OpenJDK 64-Bit Server VM 17\./);
    assert.equal(getAttribute(res, 'jvm.main_class'), 'Workload');
    assert.equal(getAttribute(res, 'process.owner'), 'root');
    assert.equal(getAttribute(res, 'process.executable.name'), 'java');
    assert.ok(typeof getAttribute(res, 'container.cgroup.path') === 'string');
  });

  it('counts every collection JMX counts, by collector and action, and sees eden emptied', async () => {
    const base = await jvm.command('jmx');
    const before = await r.nextBatches();
    const young0 = histogram(before, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Young Generation', 'jvm.gc.action': 'end of minor GC' })?.count ?? 0;
    const old0 = histogram(before, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Old Generation', 'jvm.gc.action': 'end of major GC' })?.count ?? 0;
    await jvm.command('alloc 400');
    await jvm.command('gc');
    const end = await jvm.command('gc');
    const data = await r.nextBatches();
    const young = histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Young Generation', 'jvm.gc.action': 'end of minor GC' });
    const old = histogram(data, jvm.pid, 'jvm.gc.duration', { 'jvm.gc.name': 'G1 Old Generation', 'jvm.gc.action': 'end of major GC' });
    const youngJmx = gcCount(end, 'G1 Young Generation') - gcCount(base, 'G1 Young Generation');
    console.log(`gc: young ${young?.count}-${young0} (JMX +${youngJmx}), old ${old?.count}-${old0} (JMX +2), sums ${young?.sum?.toFixed(4)}s ${old?.sum?.toFixed(4)}s`);
    assert.ok(youngJmx > 0, 'allocating 400 MiB in a 256 MiB heap made young collections');
    assert.equal((young?.count ?? 0) - young0, youngJmx);
    assert.equal((old?.count ?? 0) - old0, gcCount(end, 'G1 Old Generation') - gcCount(base, 'G1 Old Generation'));
    assert.deepEqual(old?.explicitBounds, [0.01, 0.1, 1, 10]);
    assert.equal(old?.bucketCounts.reduce((a, b) => a + b, 0), old?.count);
    assert.ok((old?.sum ?? 0) > 0);
    // JMX times are whole milliseconds; the probes' pauses contain them.
    const jmxOldMs = (end.gcs.find((g) => g.name === 'G1 Old Generation')?.timeMs ?? 0) - (base.gcs.find((g) => g.name === 'G1 Old Generation')?.timeMs ?? 0);
    assert.ok((old?.sum ?? 0) * 1000 >= jmxOldMs - 2, `pause sum ${(old?.sum ?? 0) * 1000} ms vs JMX ${jmxOldMs} ms`);

    // After the last full collection: what JMX calls collection usage, per heap pool.
    for (const name of ['G1 Eden Space', 'G1 Survivor Space', 'G1 Old Gen']) {
      const jmx = pool(end, name).afterGc!;
      assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used_after_last_gc', { 'jvm.memory.pool.name': name, 'jvm.memory.type': 'heap' }), jmx.used, `${name} used after the last GC`);
    }
    assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used_after_last_gc', { 'jvm.memory.pool.name': 'G1 Eden Space' }), 0, 'a full GC empties eden');
    assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used_after_last_gc', { 'jvm.memory.pool.name': 'Metaspace' }), undefined, 'non-heap pools have no collection usage (as in JMX)');
  });

  it('reports pools with JMX names, types, committed sizes and limits', async () => {
    const state = await jvm.command('gc');
    const data = await r.nextBatches();
    for (const name of ['G1 Old Gen', 'G1 Eden Space', 'G1 Survivor Space', 'Metaspace', 'Compressed Class Space', "CodeHeap 'non-nmethods'"]) {
      const jmx = pool(state, name);
      const type = jmx.type === 'Heap memory' ? 'heap' : 'non_heap';
      const want = { 'jvm.memory.pool.name': name, 'jvm.memory.type': type };
      const committed = sumValue(data, jvm.pid, 'jvm.memory.committed', want);
      const used = sumValue(data, jvm.pid, 'jvm.memory.used', want);
      const limit = sumValue(data, jvm.pid, 'jvm.memory.limit', want);
      console.log(`${name}: used ${used} (JMX ${jmx.usage.used}) committed ${committed} (JMX ${jmx.usage.committed}) limit ${limit} (JMX ${jmx.usage.max})`);
      assert.equal(committed, jmx.usage.committed, `${name} committed`);
      assert.equal(limit, jmx.usage.max === -1 ? undefined : jmx.usage.max, `${name} limit`);
      assert.ok(used !== undefined, `${name} used`);
    }
    assert.equal(sumValue(data, jvm.pid, 'jvm.memory.used', { 'jvm.memory.pool.name': 'G1 Old Gen' }), pool(state, 'G1 Old Gen').usage.used, 'old gen used right after a full GC');
  });

  it('logs each collection with its cause, duration and the bytes it freed', async () => {
    await jvm.command('alloc 64');
    await jvm.command('gc');
    const records = await until('GC records with the System.gc() cause', () => {
      const l = logRecordsOf(r.logs.received, jvm.pid).filter((x) => getAttribute(x.attributes, 'jvm.gc.cause') === 'System.gc()');
      return l.length ? l : undefined;
    });
    const last = records.at(-1)!;
    assert.equal(last.eventName, 'jvm.gc');
    assert.equal(getAttribute(last.attributes, 'jvm.gc.name'), 'G1 Old Generation');
    assert.equal(getAttribute(last.attributes, 'jvm.gc.action'), 'end of major GC');
    const before = Number(getAttribute(last.attributes, 'jvm.gc.memory.used_before'));
    const afterGc = Number(getAttribute(last.attributes, 'jvm.gc.memory.used_after'));
    assert.ok(afterGc < before, `pool usage falls: ${before} -> ${afterGc}`);
    assert.equal(Number(getAttribute(last.attributes, 'jvm.gc.memory.freed')), before - afterGc);
    assert.ok(Number(getAttribute(last.attributes, 'jvm.gc.duration')) > 0);
    assert.ok(last.timeUnixNano > BigInt(Date.now() - 120_000) * 1_000_000n && last.timeUnixNano <= BigInt(Date.now() + 1000) * 1_000_000n, 'wall-clock time');
    const young = logRecordsOf(r.logs.received, jvm.pid).filter((x) => getAttribute(x.attributes, 'jvm.gc.name') === 'G1 Young Generation');
    assert.ok(young.length > 0 && young.every((x) => String(getAttribute(x.attributes, 'jvm.gc.cause')).startsWith('G1 ')), `young collections have G1 causes: ${young.map((x) => getAttribute(x.attributes, 'jvm.gc.cause')).join(', ')}`);
  });

  it('counts threads as JMX does, and the threads the probes saw start', async () => {
    const before = await r.nextBatches();
    const started0 = sumValue(before, jvm.pid, 'jvm.thread.started', { 'jvm.thread.daemon': false }) ?? 0;
    await jvm.command('threads 3');
    const state = await jvm.command('threads 2 daemon');
    const data = await r.nextBatches();
    assert.equal(sumValue(data, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': false }), state.threads.live - state.threads.daemon);
    assert.equal(sumValue(data, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': true }), state.threads.daemon);
    assert.equal((sumValue(data, jvm.pid, 'jvm.thread.started', { 'jvm.thread.daemon': false }) ?? 0) - started0, 3);
    const stopped0 = sumValue(data, jvm.pid, 'jvm.thread.stopped', { 'jvm.thread.daemon': false }) ?? 0;
    const done = await jvm.command('stopthreads');
    const later = await r.nextBatches();
    assert.equal((sumValue(later, jvm.pid, 'jvm.thread.stopped', { 'jvm.thread.daemon': false }) ?? 0) - stopped0, 3);
    assert.equal(sumValue(later, jvm.pid, 'jvm.thread.count', { 'jvm.thread.daemon': false }), done.threads.live - done.threads.daemon);
  });

  it('counts classes loaded and unloaded as JMX does', async () => {
    await jvm.command('classes 7');
    const loaded = await jvm.command('jmx');
    let data = await r.nextBatches();
    assert.equal(sumValue(data, jvm.pid, 'jvm.class.loaded'), loaded.classes.loaded);
    assert.equal(sumValue(data, jvm.pid, 'jvm.class.count'), loaded.classes.current);
    await jvm.command('dropclasses');
    const unloaded = await jvm.command('gc');
    assert.ok(unloaded.classes.unloaded >= 7, `JMX saw ${unloaded.classes.unloaded} classes unloaded`);
    data = await r.nextBatches();
    assert.equal(sumValue(data, jvm.pid, 'jvm.class.unloaded'), unloaded.classes.unloaded);
  });

  it('times safepoints and VM operations', async () => {
    await jvm.command('gc');
    const data = await r.nextBatches();
    const sp = histogram(data, jvm.pid, 'jvm.safepoint.duration');
    assert.ok(sp && sp.count > 0, 'safepoints');
    assert.deepEqual(sp.explicitBounds, [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]);
    const full = histogram(data, jvm.pid, 'jvm.vm_operation.duration', { 'jvm.vm_operation.name': 'G1CollectFull' });
    assert.ok(full && full.count >= 1, 'the System.gc() VM operation');
  });

  it('detaches when the JVM is killed: no uprobe of it is left', async () => {
    assert.ok(perfAttachments(attachedIds).some((a) => a.pid === process.pid));
    const pid = jvm.pid;
    jvm.kill();
    await jvm.exited;
    await until('the receiver forgets the JVM', () => (r.receiver.jvms().some((j) => j.pid === pid) ? undefined : true));
    const batchesAtExit = r.metrics.received.length;
    assert.deepEqual(perfAttachments(attachedIds).filter((a) => a.pid === process.pid), [], 'bpftool perf shows no uprobe of the receiver');
    assert.ok(r.logLines.some((l) => l.includes('JVM gone: detached') && l.includes(`pid=${pid} `) && l.includes('why=exit event')));
    assert.ok(!r.receiver.kernel!.trackedPids().includes(pid), 'its kernel entries are deleted');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // five collection intervals
    const later = r.metrics.received.slice(batchesAtExit).filter((d) => resourceOf(d, pid) !== undefined);
    assert.equal(later.length, 1, 'one last batch carries its final values, then its series stop');
  });

  it('unloads its programs at shutdown', async () => {
    const ids = r.receiver.kernel!.usdtProgramIds();
    assert.ok(ids.every((id) => loadedProgramIds().has(id)));
    await r.stop();
    const loaded = loadedProgramIds();
    assert.deepEqual(ids.filter((id) => loaded.has(id)), []);
  });
});
