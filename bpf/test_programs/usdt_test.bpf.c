// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// USDT probe bpfcol_test:tick(a, b) of a tiny C program (<sys/sdt.h>) built by src/bpf/usdt.test.ts.
#include "common.h"
#include <bpf/usdt.bpf.h>

BPFCOL_LICENSE;

/* [0] hits, [1] last a, [2] last b, [3] cookie */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
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

SEC("usdt")
int BPF_USDT(on_tick, long a, long b)
{
	put(0, 1, true);
	put(1, (__u64)a, false);
	put(2, (__u64)b, false);
	put(3, bpf_usdt_cookie(ctx), false);
	return 0;
}
