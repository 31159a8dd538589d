// Uprobes and uretprobes on a function of a tiny C program built here (gcc), attached by symbol
// name and by file offset, in the running kernel (needs root).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { BpfObject, testObjectPath } from './object.ts';
import { compileC, requireKernel, tempDir, waitFor } from './testdata/support.ts';

const SYMBOL = 'bpfcol_probe_target';
let target = '';
let child: ChildProcess | undefined;
let cleanup = () => {};

before(async () => {
  requireKernel({ uprobes: true }, ['uprobe_test']);
  const t = tempDir('uprobe');
  cleanup = t.cleanup;
  target = compileC('uprobe_target', t.dir, ['-O1', '-g']);
  const c = spawn(target, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  child = c;
  const [first] = (await once(c.stdout, 'data')) as [Buffer];
  assert.equal(first.toString().trim(), 'ready');
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  cleanup();
});

/** File offset of a function: its address minus the address of the LOAD segment holding it, plus the segment's offset. */
function fileOffsetOf(binary: string, symbol: string): bigint {
  const syms = execFileSync('readelf', ['-sW', binary], { encoding: 'utf8' });
  const line = syms.split('\n').find((l) => l.trim().endsWith(` ${symbol}`) && l.includes('FUNC'));
  assert.ok(line, `${symbol} in the symbol table`);
  const addr = BigInt(`0x${line.trim().split(/\s+/)[1]}`);
  const segs = execFileSync('readelf', ['-lW', binary], { encoding: 'utf8' });
  for (const l of segs.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f[0] !== 'LOAD' || !f[1] || !f[2] || !f[5]) continue;
    const [off, vaddr, memsz] = [BigInt(f[1]), BigInt(f[2]), BigInt(f[5])];
    if (addr >= vaddr && addr < vaddr + memsz) return addr - vaddr + off;
  }
  throw new Error(`no LOAD segment holds ${symbol}`);
}

test('uprobe and uretprobe by symbol, uprobe by file offset', async () => {
  const pid = child?.pid ?? -1;
  const obj = BpfObject.open(testObjectPath('uprobe_test'));
  try {
    const seen = obj.map('seen');
    const at = (i: number) => seen.lookup(Buffer.from([i, 0, 0, 0]))?.readBigUInt64LE(0) ?? 0n;
    const entry = obj.program('on_entry').attachUprobe({ binaryPath: target, symbol: SYMBOL, pid });
    const ret = obj.program('on_return').attachUprobe({ binaryPath: target, symbol: SYMBOL, pid, retprobe: true });
    const offset = fileOffsetOf(target, SYMBOL);
    const byOffset = obj.program('on_entry_by_offset').attachUprobe({ binaryPath: target, offset, pid });
    assert.match(byOffset.description, new RegExp(`uprobe .*uprobe_target:0x${offset.toString(16)}$`));

    assert.ok(await waitFor(() => at(0) >= 5n && at(2) >= 5n && at(4) >= 5n, 10_000), 'calls seen at entry, return and offset');
    const arg = at(1);
    const retval = at(3);
    console.log(`uprobe: ${at(0)} entries (last x=${arg}), ${at(2)} returns (last ${retval}), ${at(4)} hits by offset 0x${offset.toString(16)}`);
    assert.ok(arg > 0n, 'the argument was read from the registers');
    // bpfcol_probe_target(x) returns 2x+1; the return read may lag the entry read by one call.
    assert.ok(retval === 2n * arg + 1n || retval === 2n * (arg - 1n) + 1n, `return ${retval} matches argument ${arg}`);

    for (const l of [entry, ret, byOffset]) l.destroy();
    const frozen = at(0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(at(0), frozen, 'detached uprobes run nothing');
  } finally {
    obj.close();
  }
});

test('a missing symbol fails with libbpf\'s reason', () => {
  const obj = BpfObject.open(testObjectPath('uprobe_test'));
  try {
    assert.throws(() => obj.program('on_entry').attachUprobe({ binaryPath: target, symbol: 'no_such_function' }), /uprobe to .*:no_such_function failed/);
    assert.throws(() => obj.program('on_entry').attachUprobe({ binaryPath: '/nonexistent', symbol: 'x' }), /binary \/nonexistent does not exist/);
  } finally {
    obj.close();
  }
});
