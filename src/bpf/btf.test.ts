// Kernel enums read from the running kernel's BTF (the drop reasons tcp_drop names come from here).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { kernelEnumNames, readKernelEnum } from './btf.ts';
import { requireKernel } from './testdata/support.ts';

before(() => requireKernel({}));

test('enum skb_drop_reason comes from the kernel BTF with its names and values', () => {
  const entries = readKernelEnum('skb_drop_reason');
  assert.ok(entries, 'this kernel has enum skb_drop_reason');
  const names = new Set(entries.map((e) => e.name));
  for (const n of ['SKB_DROP_REASON_NOT_SPECIFIED', 'SKB_DROP_REASON_NO_SOCKET', 'SKB_DROP_REASON_TCP_INVALID_SEQUENCE']) {
    assert.ok(names.has(n), `${n} is in the enum`);
  }
  const reasons = kernelEnumNames('skb_drop_reason', 'SKB_DROP_REASON_');
  const noSocket = entries.find((e) => e.name === 'SKB_DROP_REASON_NO_SOCKET')?.value;
  assert.equal(typeof noSocket, 'number');
  assert.equal(reasons.get(noSocket as number), 'NO_SOCKET');
  assert.ok([...reasons.values()].includes('TCP_INVALID_SEQUENCE'));
  console.log(`skb_drop_reason: ${entries.length} names, NO_SOCKET = ${noSocket}`);
});

test('an enum the kernel lacks reads as undefined, and kernelEnumNames says so', () => {
  assert.equal(readKernelEnum('bpfcol_no_such_enum'), undefined);
  assert.throws(() => kernelEnumNames('bpfcol_no_such_enum'), /this kernel's BTF has no enum bpfcol_no_such_enum/);
});
