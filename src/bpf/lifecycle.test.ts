// Programs detach however bpfcol stops: kill -9, an uncaught error, or close(). A child process
// loads and attaches (tracepoint + perf events + ring buffer); bpftool shows them attached; then
// the child dies (or closes) and bpftool must show none of its programs, links or maps left.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { requireKernel, waitFor } from './testdata/support.ts';

const CHILD = fileURLToPath(new URL('./testdata/lifecycle-child.ts', import.meta.url));
const WORKER = fileURLToPath(new URL('./testdata/lifecycle-worker.ts', import.meta.url));

interface Held {
  pid: number;
  programs: number[];
  maps: number[];
  links: number[];
}

interface KernelState {
  programs: Set<number>;
  maps: Set<number>;
  links: Set<number>;
  /** bpftool perf show: fd-based tracepoint/kprobe/uprobe attachments, with the owning pid. */
  perf: { pid: number; prog_id: number; tracepoint?: string }[];
}

function bpftool(...args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 }) || '[]');
}

function kernelState(): KernelState {
  const ids = (x: unknown) => new Set((x as { id: number }[]).map((e) => e.id));
  return {
    programs: ids(bpftool('prog', 'show')),
    maps: ids(bpftool('map', 'show')),
    links: ids(bpftool('link', 'show')),
    perf: bpftool('perf', 'show') as KernelState['perf'],
  };
}

/** What of `held` the kernel still has. */
function leftovers(held: Held, s = kernelState(), pidGone = true): string[] {
  return [
    ...held.programs.filter((id) => s.programs.has(id)).map((id) => `program ${id}`),
    ...held.links.filter((id) => s.links.has(id)).map((id) => `link ${id}`),
    ...held.maps.filter((id) => s.maps.has(id)).map((id) => `map ${id}`),
    ...s.perf.filter((p) => (pidGone ? p.pid === held.pid : held.programs.includes(p.prog_id))).map((p) => `perf attachment of pid ${p.pid} (prog ${p.prog_id})`),
  ];
}

async function startChild(mode: string): Promise<{ child: ChildProcessWithoutNullStreams; held: Held; lines: AsyncIterator<string> }> {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) {
    await once(child, 'exit').catch(() => {});
    throw new Error(`child exited before reporting (code ${child.exitCode}):\n${stderr}`);
  }
  const held = JSON.parse(first.value) as Held;
  assert.equal(held.pid, child.pid);
  return { child, held, lines };
}

/** Everything the child reported is attached and loaded, as bpftool sees it. */
function assertAttached(held: Held, checkPerfShow = true): void {
  const s = kernelState();
  assert.equal(held.programs.length, 2, 'a tracepoint program and a perf_event program');
  assert.ok(held.links.length >= 2, 'a tracepoint link and one perf event link per CPU');
  for (const id of held.programs) assert.ok(s.programs.has(id), `program ${id} is loaded`);
  for (const id of held.links) assert.ok(s.links.has(id), `link ${id} is attached`);
  for (const id of held.maps) assert.ok(s.maps.has(id), `map ${id} exists`);
  if (!checkPerfShow) return;
  const tp = s.perf.find((p) => p.pid === held.pid && p.tracepoint === 'sys_enter_getppid');
  assert.ok(tp && held.programs.includes(tp.prog_id), 'bpftool perf show lists the tracepoint attachment of the child');
}

async function assertAllGone(held: Held, what: string, pidGone = true): Promise<void> {
  // The kernel frees programs and maps shortly after the last fd closes (deferred work).
  const left = await waitFor(() => leftovers(held, kernelState(), pidGone).length === 0, 10_000, 50);
  assert.ok(left, `after ${what}, still in the kernel: ${leftovers(held, kernelState(), pidGone).join(', ')}`);
  console.log(`${what}: programs ${held.programs.join(',')}, links ${held.links.join(',')}, maps ${held.maps.join(',')} all gone`);
}

before(() => requireKernel({ tracepoints: ['syscalls/sys_enter_getppid'], perfEvents: true, ringBuffer: true }, ['ringbuf_load']));

test('kill -9 leaves no program, link or map of the killed process behind', async () => {
  const { child, held } = await startChild('hold');
  try {
    assertAttached(held);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(child.signalCode, 'SIGKILL');
    await assertAllGone(held, 'kill -9');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('an uncaught error ends the process and detaches everything', async () => {
  const { child, held } = await startChild('throw');
  try {
    assertAttached(held);
    child.stdin.write('go\n');
    await once(child, 'exit');
    assert.notEqual(child.exitCode, 0, 'the child died of its uncaught error');
    await assertAllGone(held, 'uncaught error');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('close() detaches and frees everything while the process lives on', async () => {
  const { child, held, lines } = await startChild('close');
  try {
    assertAttached(held);
    child.stdin.write('go\n');
    const next = await lines.next();
    assert.ok(!next.done, 'the child reported after close()');
    const closed = JSON.parse(next.value) as { closed: boolean; records: number };
    assert.equal(closed.closed, true);
    assert.ok(closed.records > 0, 'records flowed through the ring buffer before close()');
    assert.equal(child.exitCode, null, 'the child is still running');
    await assertAllGone(held, 'close()');
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => {});
  }
});

test('the environment teardown of a worker thread detaches what it left attached', async () => {
  const worker = new Worker(WORKER);
  try {
    const [held] = (await once(worker, 'message')) as [Held];
    assertAttached(held, false);
    assert.ok(held.links.length >= 2);
    await worker.terminate();
    // This process lives on: only the addon's cleanup hook can have detached the worker's programs.
    await assertAllGone(held, 'worker teardown', false);
  } finally {
    await worker.terminate();
  }
});
