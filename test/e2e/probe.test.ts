// `bpfcol probe` reports what the kernel offers and whether each eBPF receiver can run; bpfcol
// refuses to start a receiver whose kernel features (here: privileges) are missing, naming them,
// before it attaches anything. The unprivileged case is real: the test runs bpfcol as uid 0 with
// an empty capability bounding set, so it has no capability at all after exec.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { BPFCOL, runBpfcol, tempDir, writeConfig } from '../support/cli.ts';

function withoutCapabilities(args: string[]) {
  const r = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', BPFCOL, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bpfcol probe', () => {
  it('as root: every feature present, tcp_drop can run, its tracepoints listed', () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root');
    const r = runBpfcol(['probe']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok\s+BTF\s/m);
    assert.match(r.stdout, /^ok\s+tracepoint skb\/kfree_skb\s/m);
    assert.match(r.stdout, /^ok\s+ring buffer\s/m);
    assert.match(r.stdout, /^can run\s+receiver tcp_drop \(defaults\)$/m);
  });

  it('without privileges: says what is missing and exits 1', () => {
    const r = withoutCapabilities(['probe']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^MISSING\s+privileges\s+uid \d+ lacks CAP_BPF \+ CAP_PERFMON/m);
    assert.match(r.stdout, /^CANNOT\s+receiver tcp_drop \(defaults\):$/m);
  });

  it('without privileges, bpfcol refuses to start tcp_drop and names what is missing', () => {
    const dir = tempDir();
    try {
      const config = writeConfig(dir.path, `
receivers: { tcp_drop: {} }
exporters: { debug: {} }
service:
  telemetry: { metrics: { level: none } }
  pipelines: { metrics: { receivers: [tcp_drop], exporters: [debug] } }
`);
      const r = withoutCapabilities(['--config', config]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /this kernel cannot run the configured receivers \(nothing was attached; see bpfcol probe\)/);
      assert.match(r.stderr, /receivers\.tcp_drop: privileges: uid \d+ lacks CAP_BPF/);
    } finally {
      dir.cleanup();
    }
  });
});
