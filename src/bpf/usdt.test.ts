// USDT: a probe defined with <sys/sdt.h> (Debian's systemtap-sdt-dev) in a tiny C program built
// here, attached through libbpf's attach_usdt; the program reads both probe arguments and the cookie.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { BpfObject, testObjectPath } from './object.ts';
import { compileC, requireKernel, tempDir, waitFor } from './testdata/support.ts';

let target = '';
let child: ChildProcess | undefined;
let cleanup = () => {};

before(async () => {
  requireKernel({ uprobes: true }, ['usdt_test']);
  if (!existsSync('/usr/include/x86_64-linux-gnu/sys/sdt.h') && !existsSync('/usr/include/sys/sdt.h')) {
    throw new Error('<sys/sdt.h> is missing: install the Debian package systemtap-sdt-dev (scripts/setup.sh does)');
  }
  const t = tempDir('usdt');
  cleanup = t.cleanup;
  target = compileC('usdt_target', t.dir, ['-O2']);
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

test('USDT probe: arguments and cookie reach the program', async () => {
  const obj = BpfObject.open(testObjectPath('usdt_test'));
  try {
    const seen = obj.map('seen');
    const at = (i: number) => seen.lookup(Buffer.from([i, 0, 0, 0]))?.readBigUInt64LE(0) ?? 0n;
    const link = obj.program('on_tick').attachUsdt({
      binaryPath: target,
      provider: 'bpfcol_test',
      name: 'tick',
      pid: child?.pid ?? -1,
      cookie: 0xc0ffeen,
    });
    assert.ok(await waitFor(() => at(0) >= 5n, 10_000), 'the probe fired');
    const a = at(1);
    const b = at(2);
    console.log(`usdt: ${at(0)} hits, last a=${a} b=${b}, cookie 0x${at(3).toString(16)}`);
    assert.ok(a > 0n);
    assert.ok(b === a + 1000n || b === a + 1001n, `b (${b}) is a (${a}) + 1000 (the reads may straddle a hit)`);
    assert.equal(at(3), 0xc0ffeen);
    link.destroy();
  } finally {
    obj.close();
  }
});

test('an unknown USDT probe fails with a message naming it', () => {
  const obj = BpfObject.open(testObjectPath('usdt_test'));
  try {
    assert.throws(
      () => obj.program('on_tick').attachUsdt({ binaryPath: target, provider: 'bpfcol_test', name: 'nope' }),
      /attaching program 'on_tick' to USDT bpfcol_test:nope in .*usdt_target failed/,
    );
  } finally {
    obj.close();
  }
});
