// The config's defaults and errors, the filters, and the hsperfdata -> JMX pool view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jvmUsdtConfigSchema } from './config.ts';
import { compileFilters, filtersEmpty, globToRegExp } from './filters.ts';
import { HsperfSnapshot, buildHsperfdata, parseHsperfdata } from './hsperfdata.ts';
import { collectorOf, hsperfClasses, hsperfPools, hsperfRuntime, hsperfThreads, poolType, runtimeNameOf } from './hsperf-view.ts';

function issues(config: unknown): string[] {
  const r = jvmUsdtConfigSchema.safeParse(config);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('config', () => {
  it('has a documented default for every key', () => {
    assert.deepEqual(jvmUsdtConfigSchema.parse({}), {
      collection_interval: 10_000,
      probes: ['gc', 'safepoints', 'vm_operations', 'threads', 'classes'],
      hsperfdata: true,
      filters: { pids: [], executables: [], main_classes: [], cgroups: [] },
      discovery: { attach_wait: 10_000, rescan_interval: 60_000 },
      max_jvms: 64,
      gc_duration_buckets: [0.01, 0.1, 1, 10],
      pause_duration_buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      logs: { enabled: false },
    });
  });

  it('says what it expected', () => {
    assert.deepEqual(issues({ collection_interval: '10' }), ['collection_interval: expected a duration like 10s, got "10"']);
    assert.deepEqual(issues({ collection_interval: '10ms' }), ['collection_interval: expected a duration of at least 100ms']);
    assert.match(issues({ probes: ['gc', 'heap'] })[0]!, /^probes\.1: expected one of gc, safepoints, vm_operations, threads, classes/);
    assert.deepEqual(issues({ filters: { pids: [0] } }), ['filters.pids.0: expected a process id above 0']);
    assert.deepEqual(issues({ filters: { cgroups: ['system.slice'] } }), ['filters.cgroups.0: expected a cgroup path starting with /']);
    assert.deepEqual(issues({ filters: { main_classes: [''] } }), ['filters.main_classes.0: expected a main class pattern, got an empty string']);
    assert.deepEqual(issues({ filters: { classes: [] } }), ['filters: Unrecognized key: "classes"']);
    assert.deepEqual(issues({ gc_duration_buckets: [1, 0.1] }), ['gc_duration_buckets: expected bucket bounds in increasing order']);
    assert.deepEqual(issues({ gc_duration_buckets: [0] }), ['gc_duration_buckets.0: expected bounds above 0 seconds']);
    assert.deepEqual(issues({ pause_duration_buckets: Array.from({ length: 17 }, (_, i) => i + 1) }), ['pause_duration_buckets: at most 16 bucket bounds (the kernel histogram\'s size)']);
    assert.deepEqual(issues({ max_jvms: 0 }), ['max_jvms: expected a number above 0']);
    assert.deepEqual(issues({ logs: { enabled: 'yes' } }), ['logs.enabled: expected true or false']);
    assert.deepEqual(issues({ unknown: 1 }), [': Unrecognized key: "unknown"']);
  });
});

describe('filters', () => {
  const parse = (filters: unknown) => jvmUsdtConfigSchema.parse({ filters }).filters;

  it('globs', () => {
    assert.ok(globToRegExp('com.example.*').test('com.example.Main'));
    assert.ok(!globToRegExp('com.example.*').test('comXexample.Main'), 'dots are literal');
    assert.ok(globToRegExp('App?').test('App1'));
    assert.ok(!globToRegExp('App?').test('App12'));
  });

  it('matches every non-empty list, any entry of a list', () => {
    assert.equal(filtersEmpty(parse({})), true);
    const all = compileFilters(parse({}));
    assert.equal(all({ pid: 1 }), true);

    const f = compileFilters(parse({ executables: ['java'], main_classes: ['com.example.*', 'Workload'], cgroups: ['/system.slice/app.service'] }));
    const ok = { pid: 7, exe: '/usr/lib/jvm/x/bin/java', mainClass: 'Workload', cgroupPath: '/system.slice/app.service' };
    assert.equal(f(ok), true);
    assert.equal(f({ ...ok, mainClass: 'com.example.Main' }), true);
    assert.equal(f({ ...ok, cgroupPath: '/system.slice/app.service/sub' }), true, 'a cgroup below');
    assert.equal(f({ ...ok, cgroupPath: '/system.slice/app.service2' }), false, 'a prefix is a whole path component');
    assert.equal(f({ ...ok, mainClass: 'Other' }), false);
    assert.equal(f({ ...ok, mainClass: undefined }), false, 'an unknown fact does not match');
    assert.equal(f({ ...ok, exe: '/usr/bin/python3' }), false);
    assert.equal(compileFilters(parse({ executables: ['/usr/lib/jvm/*'] }))(ok), true, 'full paths match too');
    assert.equal(compileFilters(parse({ pids: [7, 8] }))(ok), true);
    assert.equal(compileFilters(parse({ pids: [8] }))(ok), false);
    assert.equal(compileFilters(parse({ cgroups: ['/'] }))(ok), true);
  });
});

describe('the hsperfdata view in JMX terms', () => {
  const snapshot = (entries: [string, bigint | string][]) => new HsperfSnapshot(parseHsperfdata(buildHsperfdata(entries.map(([name, value]) => ({ name, value })))));
  const heap = (eden: bigint[], s0: bigint[], s1: bigint[], old: bigint[]): [string, bigint][] => {
    const out: [string, bigint][] = [];
    const add = (p: string, [used, cap, max]: bigint[]) => out.push([`${p}.used`, used!], [`${p}.capacity`, cap!], [`${p}.maxCapacity`, max!]);
    add('sun.gc.generation.0.space.0', eden);
    add('sun.gc.generation.0.space.1', s0);
    add('sun.gc.generation.0.space.2', s1);
    add('sun.gc.generation.1.space.0', old);
    return out;
  };
  const meta: [string, bigint][] = [
    ['sun.gc.metaspace.used', 75208n],
    ['sun.gc.metaspace.capacity', 327680n],
    ['sun.gc.metaspace.maxCapacity', 1140850688n],
    ['sun.gc.compressedclassspace.used', 3400n],
    ['sun.gc.compressedclassspace.capacity', 131072n],
    ['sun.gc.compressedclassspace.maxCapacity', 1073741824n],
  ];

  it('G1: pools under their JMX names, padding removed, no maximum where JMX has none', () => {
    const s = snapshot([['sun.gc.policy.name', 'GarbageFirst'], ...heap([100n, 8388616n, 6320816136n], [5n, 1048584n, 8n], [0n, 8n, 6320816136n], [4207392n, 33554440n, 6320816136n]), ...meta]);
    assert.equal(collectorOf(s), 'g1');
    assert.deepEqual(hsperfPools(s), [
      { name: 'G1 Eden Space', type: 'heap', used: 100, committed: 8388608, max: undefined },
      { name: 'G1 Survivor Space', type: 'heap', used: 5, committed: 1048576, max: undefined },
      { name: 'G1 Old Gen', type: 'heap', used: 4207392, committed: 33554432, max: 6320816128 },
      { name: 'Metaspace', type: 'non_heap', used: 75208, committed: 327680 },
      { name: 'Compressed Class Space', type: 'non_heap', used: 3400, committed: 131072, max: 1073741824 },
    ]);
  });

  it('Parallel and Serial: their names; survivors are one pool the size of one space', () => {
    const spaces = heap([10n, 100n, 1000n], [0n, 20n, 200n], [7n, 20n, 200n], [30n, 300n, 3000n]);
    const ps = hsperfPools(snapshot([['sun.gc.policy.name', 'ParScav:MSC'], ...spaces]));
    assert.deepEqual(ps, [
      { name: 'PS Eden Space', type: 'heap', used: 10, committed: 100, max: 1000 },
      { name: 'PS Survivor Space', type: 'heap', used: 7, committed: 20, max: 200 },
      { name: 'PS Old Gen', type: 'heap', used: 30, committed: 300, max: 3000 },
    ]);
    const serial = hsperfPools(snapshot([['sun.gc.policy.name', 'Copy:MSC'], ...spaces]));
    assert.deepEqual(serial.map((p) => p.name), ['Eden Space', 'Survivor Space', 'Tenured Gen']);
  });

  it('Shenandoah and Z are found from their collector names; Z heap pools come from the probes only', () => {
    const shen = snapshot([['sun.gc.collector.0.name', 'Shenandoah partial'], ['sun.gc.generation.1.space.0.used', 1n], ['sun.gc.generation.1.space.0.capacity', 2n], ['sun.gc.generation.1.space.0.maxCapacity', 3n]]);
    assert.equal(collectorOf(shen), 'shenandoah');
    assert.deepEqual(hsperfPools(shen), [{ name: 'Shenandoah', type: 'heap', used: 1, committed: 2, max: 3 }]);
    const z = snapshot([['sun.gc.collector.2.name', 'Z concurrent cycle pauses'], ...meta]);
    assert.equal(collectorOf(z), 'z');
    assert.deepEqual(hsperfPools(z).map((p) => p.name), ['Metaspace', 'Compressed Class Space']);
    assert.equal(collectorOf(snapshot([])), 'unknown');
  });

  it('threads, classes (shared ones included) and the runtime', () => {
    const s = snapshot([
      ['java.threads.live', 6n],
      ['java.threads.daemon', 5n],
      ['java.cls.loadedClasses', 4n],
      ['java.cls.sharedLoadedClasses', 396n],
      ['java.cls.unloadedClasses', 1n],
      ['java.cls.sharedUnloadedClasses', 2n],
      ['java.property.java.vm.name', 'OpenJDK 64-Bit Server VM'],
      ['java.property.java.vm.vendor', 'Debian'],
      ['java.property.java.vm.version', '17.0.15+6-Debian-1deb12u1'],
    ]);
    assert.deepEqual(hsperfThreads(s), { live: 6, daemon: 5 });
    assert.deepEqual(hsperfClasses(s), { loaded: 400, unloaded: 3 });
    assert.deepEqual(hsperfRuntime(s), {
      name: 'OpenJDK Runtime Environment',
      version: '17.0.15+6-Debian-1deb12u1',
      description: 'Debian OpenJDK 64-Bit Server VM 17.0.15+6-Debian-1deb12u1',
    });
    assert.equal(runtimeNameOf('Java HotSpot(TM) 64-Bit Server VM'), 'Java(TM) SE Runtime Environment');
    assert.equal(hsperfThreads(snapshot([])), undefined);
  });

  it('types pools by name', () => {
    for (const n of ["CodeHeap 'non-nmethods'", 'CodeCache', 'Code Cache', 'Metaspace', 'Compressed Class Space']) assert.equal(poolType(n), 'non_heap', n);
    for (const n of ['G1 Eden Space', 'G1 Old Gen', 'PS Survivor Space', 'Tenured Gen', 'ZHeap', 'Shenandoah']) assert.equal(poolType(n), 'heap', n);
  });
});
