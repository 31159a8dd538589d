// Ring buffer under load, in the running kernel (needs root): a child process calls getppid() at a
// fixed rate, the test program bpf/test_programs/ringbuf_load.bpf.c turns each call into records,
// and every record produced must be either delivered to JavaScript or counted as lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { defineStruct } from './layout.ts';
import { readCounter } from './map.ts';
import { BpfObject, testObjectPath } from './object.ts';
import { RingBuffer } from './ringbuf.ts';
import { compileC, requireKernel, tempDir, waitFor } from './testdata/support.ts';

// Mirrors struct load_record in bpf/test_programs/ringbuf_load.bpf.c.
const LoadRecord = defineStruct({ magic: 'u32', cpu: 'u32', seq: 'u64', payload: ['u64', 5] });
const MAGIC = 0x62706663;

let trigger = '';
let cleanup = () => {};

before(() => {
  requireKernel({ tracepoints: ['syscalls/sys_enter_getppid'], ringBuffer: true }, ['ringbuf_load']);
  const t = tempDir('ringbuf');
  cleanup = t.cleanup;
  trigger = compileC('trigger', t.dir);
});
after(() => cleanup());

interface LoadResult {
  produced: bigint;
  delivered: number;
  lost: bigint;
  malformed: number;
  duplicates: number;
  seconds: number;
  batches: number;
  wakeups: number;
  timerDrains: number;
  /** Longest pause between two batches (ms): the event loop stalls that a loss would follow. */
  maxGapMs: number;
}

/** Runs the trigger for `seconds` at callsPerSecond × recordsPerCall records/s through a ring of ringBytes. */
async function runLoad(callsPerSecond: number, recordsPerCall: number, seconds: number, ringBytes: number): Promise<LoadResult> {
  const child = spawn(trigger, [String(callsPerSecond), String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  let obj: BpfObject | undefined;
  try {
    obj = BpfObject.open(testObjectPath('ringbuf_load'), {
      rodata: { target_tgid: child.pid ?? 0, records_per_call: recordsPerCall },
      maxEntries: { events: ringBytes },
    });
    obj.checkLayout('load_record', LoadRecord);
    obj.program('produce').attachTracepoint('syscalls', 'sys_enter_getppid');
    let delivered = 0;
    let malformed = 0;
    let duplicates = 0;
    const seen = new Map<number, Uint8Array>(); // per CPU: seq -> seen once
    let last = 0;
    let maxGapMs = 0;
    const ring = new RingBuffer(obj, 'events', (batch) => {
      const now = performance.now();
      if (last) maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      batch.forEach((view, offset, length) => {
        delivered++;
        const magic = view.getUint32(offset, true);
        const cpu = view.getUint32(offset + LoadRecord.offsets.cpu, true);
        const seq = view.getBigUint64(offset + LoadRecord.offsets.seq, true);
        const p0 = view.getBigUint64(offset + LoadRecord.offsets.payload, true);
        if (length !== LoadRecord.size || magic !== MAGIC || p0 !== seq * 3n) {
          malformed++;
          return;
        }
        const s = Number(seq);
        let bits = seen.get(cpu);
        if (!bits || bits.length <= s >> 3) {
          const grown = new Uint8Array(Math.max(1 << 16, (s >> 3) * 2 + 1));
          if (bits) grown.set(bits);
          bits = grown;
          seen.set(cpu, bits);
        }
        const mask = 1 << (s & 7);
        if ((bits[s >> 3] ?? 0) & mask) duplicates++;
        bits[s >> 3] = (bits[s >> 3] ?? 0) | mask;
      });
    });
    child.stdin.write('go\n');
    await exited;
    assert.equal(child.exitCode, 0, 'trigger exited with an error');
    const [calls = '0', secs = '0'] = out.trim().split(' ');
    const produced = readCounter(obj.map('produced'));
    assert.equal(produced, BigInt(calls) * BigInt(recordsPerCall), 'the kernel saw every getppid() call');
    // Everything produced is in the ring or counted lost by now: wait until it is consumed.
    await waitFor(() => BigInt(delivered) + ring.lost() === produced, 10_000);
    ring.stop();
    const stats = ring.stats();
    return {
      produced,
      delivered,
      lost: stats.lost,
      malformed,
      duplicates,
      seconds: Number(secs),
      batches: stats.batches,
      wakeups: stats.wakeups,
      timerDrains: stats.timerDrains,
      maxGapMs,
    };
  } finally {
    obj?.close();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function report(name: string, r: LoadResult): void {
  const rate = Math.round(Number(r.produced) / r.seconds);
  console.log(
    `${name}: produced ${r.produced} in ${r.seconds.toFixed(2)} s (${rate} records/s), delivered ${r.delivered}, ` +
      `lost ${r.lost}, batches ${r.batches} (${Math.round(r.delivered / Math.max(1, r.batches))} records/batch), ` +
      `wake-ups ${r.wakeups}, safety-timer drains ${r.timerDrains}, longest pause between batches ${r.maxGapMs.toFixed(0)} ms`,
  );
}

test('a 4 MiB ring at 250,000 records/s for 10 s: delivered + lost == produced', async () => {
  const r = await runLoad(5000, 50, 10, 1 << 22);
  report('ring 4 MiB', r);
  assert.ok(r.produced >= 2_000_000n, `at least 200,000 records/s for 10 s were produced (${r.produced})`);
  assert.equal(BigInt(r.delivered) + r.lost, r.produced);
  assert.equal(r.malformed, 0, 'every delivered record is intact');
  assert.equal(r.duplicates, 0, 'no record is delivered twice');
  assert.ok(r.batches < r.delivered, 'records cross into JavaScript in batches');
});

test('a ring too small for the bursts loses records and counts every one', async () => {
  // 2000-record bursts of 64 bytes into a 16 KiB ring (256 records): most of each burst is lost.
  const r = await runLoad(200, 2000, 2, 1 << 14);
  report('ring 16 KiB', r);
  assert.ok(r.lost > 0n, 'the small ring overflowed');
  assert.equal(BigInt(r.delivered) + r.lost, r.produced);
  assert.equal(r.malformed, 0);
  assert.equal(r.duplicates, 0);
});
