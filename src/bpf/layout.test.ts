// Struct layouts: C alignment, decoding, encoding, per-CPU sums (no kernel needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineStruct, sumPerCpu } from './layout.ts';

test('offsets and size follow C alignment', () => {
  // struct { u8 a; u64 b; u16 c; u32 d[3]; char comm[5]; } : a@0 b@8 c@16 d@20 comm@32, size 40
  const S = defineStruct({ a: 'u8', b: 'u64', c: 'u16', d: ['u32', 3], comm: ['char', 5] });
  assert.deepEqual(S.offsets, { a: 0, b: 8, c: 16, d: 20, comm: 32 });
  assert.equal(S.size, 40);
  assert.equal(S.align, 8);
  const P = defineStruct({ a: 'u8', b: 'u64' }, { packed: true });
  assert.equal(P.size, 9);
});

test('decode and encode round-trip every kind of field', () => {
  const Inner = defineStruct({ x: 'u16', y: 's32' });
  const S = defineStruct({
    pid: 'u32',
    ts: 'u64',
    neg: 's64',
    small: 's8',
    ok: 'bool',
    port: 'be16',
    addr: ['u8', 16],
    comm: ['char', 16],
    counts: ['u64', 2],
    inner: Inner,
    pairs: [Inner, 2],
  });
  const value = {
    pid: 4242,
    ts: 1_700_000_000_123_456_789n,
    neg: -7n,
    small: -3,
    ok: true,
    port: 8080,
    addr: Uint8Array.from({ length: 16 }, (_, i) => i),
    comm: 'nginx',
    counts: [1n, 2n ** 63n],
    inner: { x: 1, y: -1 },
    pairs: [
      { x: 2, y: 3 },
      { x: 4, y: -5 },
    ],
  };
  const bytes = S.encode(value);
  assert.equal(bytes.length, S.size);
  assert.deepEqual(S.decode(bytes), value);
  assert.equal(bytes.readUInt16BE(S.offsets.port), 8080, 'be16 is network byte order');
  // Decoding at an offset inside a larger buffer, through a DataView.
  const big = Buffer.alloc(S.size + 24);
  S.encode(value, big, 24);
  assert.deepEqual(S.decode(new DataView(big.buffer, big.byteOffset, big.byteLength), 24), value);
  assert.throws(() => S.decode(Buffer.alloc(S.size - 1)), RangeError);
});

test('missing fields encode as zero; a full-length char array has no NUL', () => {
  const S = defineStruct({ a: 'u32', name: ['char', 4] });
  assert.deepEqual(S.decode(S.encode({ name: 'abcdef' })), { a: 0, name: 'abcd' });
});

test('sumPerCpu adds numbers, bigints and arrays across CPUs', () => {
  const S = defineStruct({ packets: 'u64', bytes: 'u64', hist: ['u32', 3], tag: ['char', 4] });
  const cpu0 = S.encode({ packets: 1n, bytes: 100n, hist: [1, 2, 3], tag: 'a' });
  const cpu1 = S.encode({ packets: 2n, bytes: 50n, hist: [10, 20, 30], tag: 'b' });
  assert.deepEqual(sumPerCpu(S)([cpu0, cpu1]), { packets: 3n, bytes: 150n, hist: [11, 22, 33], tag: 'a' });
});
