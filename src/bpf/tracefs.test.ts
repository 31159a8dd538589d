// tracefs is not mounted at boot on some machines, and libbpf needs it to attach tracepoints: the
// runtime mounts it at /sys/kernel/tracing, or says exactly what to run. Each case runs in a
// private mount namespace (unshare -m) where tracefs was unmounted, so the host is not touched.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { requireKernel } from './testdata/support.ts';

const CHILD = fileURLToPath(new URL('./testdata/tracefs-child.ts', import.meta.url));

/** Runs the child with tracefs unmounted in a private mount namespace; extra wraps the node command. */
function runUnmounted(mode: string, wrap: string[] = []): Record<string, unknown> {
  const script = 'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec "$@"';
  const out = execFileSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...wrap, process.execPath, CHILD, mode],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

before(() => requireKernel({ tracepoints: ['syscalls/sys_enter_getppid'] }, ['runtime_test']));

test('attaching a tracepoint mounts tracefs when it is missing', () => {
  const r = runUnmounted('attach');
  assert.deepEqual(r.before, { eventsDir: '/sys/kernel/tracing/events', mounted: false, mountPointExists: true });
  assert.deepEqual(r.after, { eventsDir: '/sys/kernel/tracing/events', mounted: true, mountPointExists: true });
  assert.equal(r.echo, '99', 'the tracepoint program ran');
});

test('without the right to mount it, the error says what is missing and the command to fix it', () => {
  const r = runUnmounted('ensure', ['setpriv', '--bounding-set', '-sys_admin']);
  assert.equal((r.before as { mounted: boolean }).mounted, false);
  assert.equal(r.code, 'EPERM');
  assert.match(
    String(r.error),
    /tracefs is not mounted at \/sys\/kernel\/tracing and mounting it failed .*run as root: mount -t tracefs nodev \/sys\/kernel\/tracing/,
  );
});
