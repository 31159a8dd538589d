// The generic runtime against the running kernel (needs root): read-only config set before load,
// map resizing, tracepoint / raw tracepoint / perf event attach, and every map operation on real
// maps of bpf/test_programs/runtime_test.bpf.c.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PerfSoftware, PerfType } from './attach/perf-event.ts';
import { defineStruct, sumPerCpu } from './layout.ts';
import { readCounter } from './map.ts';
import { native } from './native.ts';
import { BpfObject, testObjectPath } from './object.ts';
import { requireKernel, waitFor } from './testdata/support.ts';

// Mirrors struct pair_value in bpf/test_programs/runtime_test.bpf.c.
const PairValue = defineStruct({ calls: 'u64', last_tgid: 'u32', flag: 'bool', tag: ['char', 8] });
const U32 = defineStruct({ v: 'u32' });
const U64 = defineStruct({ v: 'u64' });
const key32 = (v: number) => U32.encode({ v });
const key64 = (v: bigint) => U64.encode({ v });
const u64 = (v: bigint) => U64.encode({ v });

/** getppid() n times from this process: fires the sys_enter_getppid programs filtered on our pid. */
function getppid(n: number): void {
  for (let i = 0; i < n; i++) void process.ppid;
}

before(() =>
  requireKernel(
    { tracepoints: ['syscalls/sys_enter_getppid'], perfEvents: true },
    ['runtime_test'],
  ),
);

describe('read-only config and attach', () => {
  let obj: BpfObject;
  before(() => {
    obj = BpfObject.open(testObjectPath('runtime_test'), {
      rodata: { magic: 0x1122334455667788n, target_tgid: process.pid, flag: true, tag: Buffer.from('bpfcol'), small: -5 },
      maxEntries: { by_key: 2048 },
    });
  });
  after(() => obj.close());

  test('rodata set before load reaches the program', () => {
    obj.program('on_getppid').attachTracepoint('syscalls', 'sys_enter_getppid');
    getppid(3);
    const echo = obj.map('echo');
    assert.equal(echo.lookup(key32(0))?.readBigUInt64LE(0), 0x1122334455667788n, 'u64 magic');
    assert.equal(echo.lookup(key32(2))?.readBigInt64LE(0), -5n, 'negative s16');
    const v = PairValue.decode(obj.map('by_key').lookup(key32(7)) ?? Buffer.alloc(0));
    assert.deepEqual(v, { calls: 3n, last_tgid: process.pid, flag: true, tag: 'bpfcol' });
  });

  test('maxEntries resizes a map before load', () => {
    assert.equal(obj.map('by_key').maxEntries, 2048);
    assert.equal(obj.map('percpu_by_key').maxEntries, 64);
  });

  test('the TypeScript layout matches the compiler layout from BTF; a drift is reported', () => {
    obj.checkLayout('pair_value', PairValue);
    const wrong = defineStruct({ calls: 'u64', last_tgid: 'u64', flag: 'bool', tag: ['char', 8] });
    assert.throws(() => obj.checkLayout('pair_value', wrong), /field 'last_tgid' at 8 \(8 bytes\), C has 8 \(4 bytes\)/);
  });

  test('raw tracepoint', () => {
    const link = obj.program('on_sys_enter').attachRawTracepoint('sys_enter');
    const hits = () => obj.map('echo').lookup(key32(1))?.readBigUInt64LE(0) ?? 0n;
    const before = hits();
    getppid(10);
    assert.ok(hits() >= before + 10n, 'every syscall of this process ran the program');
    link.destroy();
    assert.equal(link.attached, false);
    const frozen = hits();
    getppid(10);
    assert.equal(hits(), frozen, 'a destroyed link runs nothing');
  });

  test('perf event by frequency on every online CPU, then by period', async () => {
    const samples = obj.map('perf_samples');
    const byFreq = obj.program('on_perf_sample').attachPerfEvent({ type: PerfType.SOFTWARE, config: PerfSoftware.CPU_CLOCK, frequency: 199 });
    assert.ok(byFreq.linkIds().length >= 1);
    assert.ok(await waitFor(() => readCounter(samples) > 10n, 5000), 'samples arrive at 199 Hz');
    byFreq.destroy();
    const atStop = readCounter(samples);
    const byPeriod = obj.program('on_perf_sample').attachPerfEvent({
      type: PerfType.SOFTWARE,
      config: PerfSoftware.CPU_CLOCK,
      period: 1_000_000n, // one sample per ms of CPU clock
      cpus: [0],
    });
    assert.equal(byPeriod.linkIds().length, 1, 'one perf event for the one CPU asked');
    assert.ok(await waitFor(() => readCounter(samples) > atStop + 10n, 5000), 'samples arrive by period');
    byPeriod.destroy();
  });

  test('clear errors: unknown program, map, tracepoint, rodata variable', () => {
    assert.throws(() => obj.program('nope'), /has no program 'nope' \(it has: on_getppid, on_sys_enter, on_perf_sample\)/);
    assert.throws(() => obj.map('nope'), /has no map 'nope'/);
    assert.throws(() => obj.program('on_getppid').attachTracepoint('nope', 'nothing'), (err: Error & { code?: string }) => {
      assert.match(err.message, /tracepoint nope:nothing does not exist in this kernel/);
      assert.equal(err.code, 'ENOENT');
      return true;
    });
    assert.throws(
      () => BpfObject.open(testObjectPath('runtime_test'), { rodata: { nope: 1 } }),
      /has no read-only global 'nope' \(const volatile globals: magic, target_tgid, flag, tag, small\)/,
    );
    assert.throws(() => BpfObject.open(testObjectPath('runtime_test'), { rodata: { small: 70000 } }), /'small' \(2 bytes\) cannot hold 70000/);
    assert.throws(() => BpfObject.open('/nonexistent.bpf.o'), /opening BPF object \/nonexistent.bpf.o failed: No such file/);
  });
});

describe('map operations', () => {
  let obj: BpfObject;
  before(() => {
    obj = BpfObject.open(testObjectPath('runtime_test'), { rodata: { target_tgid: process.pid } });
  });
  after(() => obj.close());

  test('hash: update, lookup, delete, update modes, keys, entries', () => {
    const m = obj.map('by_key');
    assert.equal(m.typeName, 'hash');
    assert.equal(m.keySize, 4);
    assert.equal(m.valueSize, PairValue.size);
    const v = (calls: bigint) => PairValue.encode({ calls, last_tgid: 1, tag: 'x' });
    for (let i = 0; i < 100; i++) m.update(key32(i), v(BigInt(i)));
    assert.equal(PairValue.decode(m.lookup(key32(42)) ?? Buffer.alloc(0)).calls, 42n);
    assert.equal(m.lookup(key32(1000)), undefined);
    assert.throws(() => m.update(key32(1), v(0n), 'noexist'), /EEXIST/);
    assert.throws(() => m.update(key32(1000), v(0n), 'exist'), /ENOENT/);
    m.update(key32(1), v(111n), 'exist');
    assert.equal(PairValue.decode(m.lookup(key32(1)) ?? Buffer.alloc(0)).calls, 111n);
    assert.equal(m.delete(key32(1)), true);
    assert.equal(m.delete(key32(1)), false);
    assert.equal(m.keys().length, 99);
    const entries = m.entries();
    assert.equal(entries.length, 99);
    const sum = entries.reduce((s, e) => s + PairValue.decode(e.value).calls, 0n);
    assert.equal(sum, 4950n - 1n);
    assert.throws(() => m.lookup(Buffer.alloc(3)), /key must be 4 bytes, got 3/);
  });

  test('hash: lookupAndDeleteAll reads and resets in one batch call', () => {
    const m = obj.map('by_key');
    for (const e of m.entries()) m.delete(e.key);
    for (let i = 0; i < 1000; i++) m.update(key32(i), PairValue.encode({ calls: BigInt(i) }));
    const got = m.lookupAndDeleteAll();
    assert.equal(got.length, 1000);
    assert.deepEqual(
      got.map((e) => e.key.readUInt32LE(0)).sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    for (const e of got) assert.equal(PairValue.decode(e.value).calls, BigInt(e.key.readUInt32LE(0)));
    assert.equal(m.keys().length, 0, 'the map is empty afterwards');
    assert.deepEqual(m.lookupAndDeleteAll(), [], 'an empty map reads as nothing');
  });

  test('per-CPU hash: one value per CPU, a reducer sums them, read-and-reset', () => {
    const m = obj.map('percpu_by_key');
    assert.equal(m.perCpu, true);
    assert.throws(() => m.lookup(key32(7)), /per-CPU .* use lookupPerCpu\(\)/);
    const cpus = m.lookupPerCpu(key32(99))?.length ?? 0;
    assert.equal(cpus, 0, 'no entry yet');
    m.update(key32(99), [u64(5n), ...Array.from({ length: possibleCpus() - 1 }, (_, i) => u64(BigInt(i + 10)))]);
    const values = m.lookupPerCpu(key32(99)) ?? [];
    assert.equal(values.length, possibleCpus());
    assert.equal(values[0]?.readBigUInt64LE(0), 5n);
    const total = 5n + Array.from({ length: possibleCpus() - 1 }, (_, i) => BigInt(i + 10)).reduce((a, b) => a + b, 0n);
    assert.deepEqual(m.lookupPerCpu(key32(99), sumPerCpu(U64)), { v: total });
    m.update(key32(98), u64(3n)); // one value: written to every CPU
    assert.deepEqual(m.lookupPerCpu(key32(98), sumPerCpu(U64)), { v: 3n * BigInt(possibleCpus()) });
    const all = m.lookupAndDeleteAllPerCpu(sumPerCpu(U64));
    assert.deepEqual(
      all.map((e) => [e.key.readUInt32LE(0), e.value.v]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [98, 3n * BigInt(possibleCpus())],
        [99, total],
      ],
    );
    assert.equal(m.keys().length, 0);
  });

  test('the kernel program feeds a per-CPU hash read by entriesPerCpu', () => {
    obj.program('on_getppid').attachTracepoint('syscalls', 'sys_enter_getppid');
    getppid(25);
    const e = obj.map('percpu_by_key').entriesPerCpu(sumPerCpu(U64));
    assert.deepEqual(e.map((x) => [x.key.readUInt32LE(0), x.value.v]), [[7, 25n]]);
  });

  test('LRU hash: 64-bit keys, batch read-and-reset', () => {
    const m = obj.map('lru');
    assert.equal(m.typeName, 'lru_hash');
    for (let i = 0n; i < 50n; i++) m.update(key64(i << 40n), u64(i));
    const got = m.lookupAndDeleteAll();
    assert.equal(got.length, 50);
    for (const e of got) assert.equal(e.key.readBigUInt64LE(0) >> 40n, e.value.readBigUInt64LE(0));
    assert.equal(m.entries().length, 0);
  });

  test('array: entries, but read-and-reset is refused with the reason', () => {
    const m = obj.map('echo');
    m.update(key32(3), u64(77n));
    const e = m.entries();
    assert.equal(e.length, 4, 'arrays always hold max_entries entries');
    assert.equal(e[3]?.value.readBigUInt64LE(0), 77n);
    assert.throws(() => m.delete(key32(3)), /EINVAL/, 'array entries cannot be deleted');
    assert.throws(() => m.lookupAndDeleteAll(), /is an array: its entries cannot be deleted/);
  });
});

function possibleCpus(): number {
  return native().possibleCpus();
}
