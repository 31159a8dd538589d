// probeKernel / checkRequirements on this machine (root, BTF kernel: everything present) and on
// requirements it cannot meet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequirements, formatProbeReport, probeKernel } from './probe.ts';

test('this machine offers what bpfcol needs', () => {
  const r = probeKernel({ tracepoints: ['skb/kfree_skb', 'tcp/tcp_retransmit_skb', 'syscalls/sys_enter_getppid'] });
  console.log(formatProbeReport(r));
  for (const [name, c] of Object.entries({ privileges: r.privileges, btf: r.btf, tracefs: r.tracefs, perfEvents: r.perfEvents, uprobes: r.uprobes, ringBuffer: r.ringBuffer })) {
    assert.ok(c.ok, `${name}: ${c.detail}`);
  }
  for (const [tp, c] of Object.entries(r.tracepoints)) assert.ok(c.ok, `${tp}: ${c.detail}`);
  assert.match(r.libbpf, /^1\.\d+$/);
  assert.deepEqual(
    checkRequirements({ tracepoints: ['skb/kfree_skb', 'sock/inet_sock_set_state'], perfEvents: true, uprobes: true, ringBuffer: true }),
    [],
  );
});

test('missing features are listed one sentence each', () => {
  const missing = checkRequirements({ tracepoints: ['skb/kfree_skb', 'bpfcol/no_such_event', 'tcp:no_such_either'] });
  assert.deepEqual(missing, [
    'tracepoint bpfcol/no_such_event: bpfcol:no_such_event does not exist in this kernel',
    'tracepoint tcp:no_such_either: tcp:no_such_either does not exist in this kernel',
  ]);
});

test('a report lacking features turns into the reasons', () => {
  const r = probeKernel({ tracepoints: ['skb/kfree_skb'] });
  const broken = {
    ...r,
    btf: { ok: false, detail: '/sys/kernel/btf/vmlinux missing' },
    uprobes: { ok: false, detail: 'no uprobe PMU' },
    tracepoints: { 'skb/kfree_skb': { ok: false, detail: 'skb:kfree_skb does not exist in this kernel' } },
  };
  assert.deepEqual(checkRequirements({ tracepoints: ['skb/kfree_skb'], uprobes: true, perfEvents: true }, broken), [
    'BTF: /sys/kernel/btf/vmlinux missing',
    'tracepoint skb/kfree_skb: skb:kfree_skb does not exist in this kernel',
    'uprobes: no uprobe PMU',
  ]);
  assert.match(formatProbeReport(broken), /MISSING  BTF/);
});
