import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureOffsetNs, KernelClock } from './clock.ts';
import { FifoMatcher, KeyedMatcher } from './matcher.ts';
import type { Exchange, Framed } from './protocols/types.ts';
import { ByteStream, type Segment } from './stream.ts';

const seg = (position: number, data: string, length = data.length, t = position): Segment => ({ position, length, head: Buffer.from(data.slice(0, length)), enterNs: t, exitNs: t + 1 });

describe('byte stream', () => {
  it('joins captured segments, skips uncaptured bytes by length, reports gaps and stale records', () => {
    const s = new ByteStream();
    assert.equal(s.append(seg(0, 'hello ')), 'ok');
    assert.equal(s.append(seg(6, 'world')), 'ok');
    assert.equal(s.contiguous().toString(), 'hello world');
    assert.equal(s.skip(3), 3);
    assert.equal(s.contiguous().toString(), 'lo world');
    // a payload captured only in part: the rest is skipped by length
    assert.equal(s.append({ position: 11, length: 100, head: Buffer.from('abc'), enterNs: 11, exitNs: 12 }), 'ok');
    s.skip(8);
    assert.equal(s.contiguous().toString(), 'abc');
    s.skip(3);
    assert.equal(s.contiguous().length, 0, 'uncaptured');
    assert.equal(s.available(), 97);
    assert.equal(s.skip(97), 97);
    assert.equal(s.consumedExitNs, 12);
    assert.equal(s.append(seg(50, 'old')), 'stale');
    assert.equal(s.append(seg(200, 'after a loss')), 'gap');
    assert.equal(s.position, 200);
    assert.equal(s.contiguous().toString(), 'after a loss');
  });

  it('copies borrowed bytes it keeps', () => {
    const memory = Buffer.from('GET / HT');
    const s = new ByteStream();
    s.append({ position: 0, length: 8, head: memory, enterNs: 0, exitNs: 1, borrowed: true });
    s.retain();
    memory.fill(0x78);
    assert.equal(s.contiguous().toString(), 'GET / HT');
  });
});

const f = <T>(message: T, t: number, extra: Partial<Framed<T>> = {}): Framed<T> => ({ message, firstEnterNs: t, firstExitNs: t, lastExitNs: t, ...extra });

describe('matchers', () => {
  it('FIFO pairs in order, whichever side arrives first, and drops answers to requests never seen', () => {
    const m = new FifoMatcher<string, string>();
    const out: Exchange<string, string>[] = [];
    m.response(f('answer to an unseen request', 5), (e) => out.push(e));
    m.request(f('a', 10), (e) => out.push(e));
    m.request(f('close', 11, { noResponse: true }), (e) => out.push(e));
    m.request(f('b', 12), (e) => out.push(e));
    m.response(f('A', 20), (e) => out.push(e));
    m.response(f('B', 21), (e) => out.push(e));
    assert.deepEqual(out.map((e) => [e.request.message, e.response?.message]), [['a', 'A'], ['close', undefined], ['b', 'B']]);
    assert.equal(m.stats.unmatched, 1);
    m.request(f('c', 30), () => undefined);
    assert.equal(m.expire(31), 1);
    assert.equal(m.stats.unanswered, 1);
  });

  it('keyed pairs by key (stream ids, correlation ids, transaction ids)', () => {
    const m = new KeyedMatcher<string, string>();
    const out: string[] = [];
    m.request(f('q1', 1, { key: 1 }), (e) => out.push(`${e.request.message}:${e.response?.message}`));
    m.request(f('q3', 2, { key: 3 }), (e) => out.push(`${e.request.message}:${e.response?.message}`));
    m.response(f('r3', 3, { key: 3 }), (e) => out.push(`${e.request.message}:${e.response?.message}`));
    m.response(f('r1', 4, { key: 1 }), (e) => out.push(`${e.request.message}:${e.response?.message}`));
    assert.deepEqual(out, ['q3:r3', 'q1:r1']);
    assert.equal(m.pending, 0);
  });
});

describe('kernel clock', () => {
  it('knows realtime - monotonic to well under a millisecond, and converts kernel times', () => {
    const a = measureOffsetNs();
    const b = measureOffsetNs();
    assert.ok((a > b ? a - b : b - a) < 200_000n, `two measurements agree (${a - b} ns apart)`);
    const clock = new KernelClock();
    const mono = process.hrtime.bigint();
    const wall = BigInt(Date.now()) * 1_000_000n;
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, mono, true);
    const unix = clock.toUnixNano(clock.read(view, 0));
    assert.ok(unix - wall > -2_000_000n && unix - wall < 2_000_000n, `a kernel timestamp maps to the wall clock (${unix - wall} ns off)`);
    assert.equal(clock.toUnixNano(clock.relative(mono)), unix);
  });
});
