// JIT frames from perf maps: a JVM (frame pointers kept, its perf map written on request with
// `jcmd PID Compiler.perfmap`) and Node (--perf-basic-prof) burning CPU in known methods, sampled by
// the real kernel program. Needs root, Java 17+ (java, javac, jcmd) and Node: fails without them.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame, Profile } from '../../src/pdata/profiles.ts';
import { TESTDATA, exited, profilesOf, requireRoot, selfCounts, startProgram, startReceiver, tempDir, top } from './testing.ts';

/** Samples by leaf frame (kernel frames skipped), for frames matching `match`. */
function selfWhere(profiles: Profile[], match: (name: string) => boolean): number {
  let n = 0;
  for (const [name, count] of selfCounts(profiles, (f) => f.kind === 'kernel')) if (match(name)) n += count;
  return n;
}

function framesOf(profiles: Profile[]): Frame[] {
  return profiles.flatMap((p) => p.samples.flatMap((s) => s.frames));
}

async function sampleFor(pid: number, ms: number) {
  const r = await startReceiver({ frequency: 499, window: '2s', read_interval: '1s', filters: { pids: [pid] } });
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    await r.stop();
  }
  return profilesOf(r.profiles.received, pid);
}

function stop(child: ChildProcess): Promise<unknown> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  return exited(child);
}

describe('perf_sampling: JIT frames from perf maps', () => {
  const dir = tempDir('bpfcol-jit-');
  const maps: string[] = [];
  before(() => {
    requireRoot();
    copyFileSync(join(TESTDATA, 'Hot.java'), join(dir.path, 'Hot.java'));
    execFileSync('javac', ['-d', dir.path, join(dir.path, 'Hot.java')]);
  });
  after(() => {
    for (const m of maps) rmSync(m, { force: true });
    dir.remove();
  });

  it('a JVM: the hot Java methods by name (Hot.hotA above Hot.hotB), under libjvm frames and the process frame', async () => {
    // Kept from inlining so each method has its own frame (an inlined method shows as its caller,
    // as in any profiler without debug info).
    const child = await startProgram('java', [
      '-XX:+PreserveFramePointer',
      '-XX:+UnlockDiagnosticVMOptions',
      '-XX:+DumpPerfMapAtExit',
      '-XX:CompileCommand=quiet',
      '-XX:CompileCommand=dontinline,Hot::hot*',
      '-cp',
      dir.path,
      'Hot',
      '30',
    ]);
    const pid = child.pid!;
    maps.push(`/tmp/perf-${pid}.map`);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500)); // C2 compiles the hot methods
      execFileSync('jcmd', [String(pid), 'Compiler.perfmap']);
      const profiles = await sampleFor(pid, 3000);
      const frames = framesOf(profiles);
      const a = selfWhere(profiles, (n) => n === 'long Hot.hotA(long)');
      const b = selfWhere(profiles, (n) => n === 'long Hot.hotB(long)');
      const counts = top(selfCounts(profiles, (f) => f.kind === 'kernel'), 8);
      assert.ok(a > 0 && b > 0, `hot methods among the leaves: ${JSON.stringify(counts)}`);
      assert.ok(a > b * 1.5, `hotA ${a} > hotB ${b}: ${JSON.stringify(counts)}`);
      assert.equal(counts[0]?.[0], 'long Hot.hotA(long)', JSON.stringify(counts));
      const hotA = frames.find((f) => f.function === 'long Hot.hotA(long)')!;
      assert.equal(hotA.kind, 'jit');
      assert.equal(hotA.module, `/proc/${pid}/root/tmp/perf-${pid}.map`);
      // Below the JIT code: the JVM's own native frames (libjvm.so), then the process frame.
      assert.ok(frames.some((f) => f.kind === 'native' && f.module?.endsWith('/libjvm.so') && !f.function.includes('+0x')), 'named libjvm.so frames');
      assert.ok(profiles.every((p) => p.samples.every((s) => s.frames.at(-1)!.function === `java (pid ${pid})`)));
    } finally {
      await stop(child);
    }
  });

  it('a JVM asked for its perf map by the receiver itself (symbolizer.jvm_perf_maps: the attach protocol, no jcmd)', async () => {
    const child = await startProgram('java', ['-XX:+PreserveFramePointer', '-XX:CompileCommand=quiet', '-XX:CompileCommand=dontinline,Hot::hot*', '-cp', dir.path, 'Hot', '30']);
    const pid = child.pid!;
    maps.push(`/tmp/perf-${pid}.map`);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500)); // C2 compiles the hot methods
      assert.equal(existsSync(`/tmp/perf-${pid}.map`), false, 'no perf map before the receiver asks');
      const r = await startReceiver({
        frequency: 499,
        window: '1s',
        read_interval: '1s',
        filters: { pids: [pid] },
        symbolizer: { jvm_perf_maps: true, jvm_perf_map_interval: '10s' },
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 4000));
      } finally {
        await r.stop();
      }
      assert.ok(existsSync(`/tmp/perf-${pid}.map`), 'the JVM wrote its perf map');
      // The first window was symbolized before the map existed; the last ones name the methods.
      const last = profilesOf(r.profiles.received.slice(-2), pid);
      const a = selfWhere(last, (n) => n === 'long Hot.hotA(long)');
      assert.ok(a > 0, `hotA named in the last windows: ${JSON.stringify(top(selfCounts(last, (f) => f.kind === 'kernel'), 6))}`);
      assert.doesNotMatch(stdout, /Full thread dump/, 'the SIGQUIT started the attach listener, no thread dump');
    } finally {
      await stop(child);
    }
  });

  it('Node with --perf-basic-prof: hotA and hotB by name, optimized code marked JIT', async () => {
    const child = await startProgram(process.execPath, ['--perf-basic-prof', join(TESTDATA, 'hot.js'), '30']);
    const pid = child.pid!;
    maps.push(`/tmp/perf-${pid}.map`);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // optimized by then
      const profiles = await sampleFor(pid, 3000);
      const counts = top(selfCounts(profiles, (f) => f.kind === 'kernel'), 8);
      const a = selfWhere(profiles, (n) => /^JS:[*+^~]?hotA /.test(n));
      const b = selfWhere(profiles, (n) => /^JS:[*+^~]?hotB /.test(n));
      assert.ok(a > 0 && b > 0, `hot functions among the leaves: ${JSON.stringify(counts)}`);
      assert.ok(a > b * 1.5, `hotA ${a} > hotB ${b}: ${JSON.stringify(counts)}`);
      const optimized = framesOf(profiles).find((f) => /^JS:\*hotA /.test(f.function));
      assert.ok(optimized, `TurboFan code of hotA: ${JSON.stringify(counts)}`);
      assert.equal(optimized.kind, 'jit');
      assert.match(optimized.function, /hot\.js:\d+:\d+$/);
      assert.ok(framesOf(profiles).some((f) => f.kind === 'native' && f.function.startsWith('node::')), 'named frames of the node binary');
    } finally {
      await stop(child);
    }
  });
});
