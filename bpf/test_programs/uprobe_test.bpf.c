// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// Uprobe and uretprobe on a function of a tiny C program built by src/bpf/uprobe.test.ts.
#include "common.h"

BPFCOL_LICENSE;

/* [0] calls seen at entry, [1] last argument, [2] returns seen, [3] last return value,
 * [4] calls seen by the offset-attached probe */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

static __always_inline void put(__u32 k, __u64 v, bool add)
{
	__u64 *p = bpf_map_lookup_elem(&seen, &k);

	if (!p)
		return;
	if (add)
		__sync_fetch_and_add(p, v);
	else
		*p = v;
}

SEC("uprobe")
int BPF_KPROBE(on_entry, int x)
{
	put(0, 1, true);
	put(1, (__u64)x, false);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return, int ret)
{
	put(2, 1, true);
	put(3, (__u64)ret, false);
	return 0;
}

SEC("uprobe")
int on_entry_by_offset(struct pt_regs *ctx)
{
	put(4, 1, true);
	return 0;
}
