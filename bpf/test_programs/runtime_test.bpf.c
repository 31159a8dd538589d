// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// Exercises the generic runtime (src/bpf/runtime.test.ts): read-only config set before load,
// map operations on every common map type, tracepoint, raw tracepoint and perf event attach.
#include "common.h"

BPFCOL_LICENSE;

// Mirrored by the layouts in src/bpf/runtime.test.ts.
struct pair_value {
	__u64 calls;
	__u32 last_tgid;
	__u8 flag;
	char tag[8];
};

const volatile __u64 magic = 0;
const volatile __u32 target_tgid = 0;
const volatile bool flag = false;
const volatile char tag[8] = {};
const volatile __s16 small = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pair_value);
} by_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} percpu_by_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u64);
} lru SEC(".maps");

/* [0] magic, [1] raw tracepoint hits, [2] small (sign-extended) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} echo SEC(".maps");

BPFCOL_COUNTER(perf_samples);
BPFCOL_COUNTER(update_failures);

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 k0 = 0, k2 = 2, key = 7;

	if (tgid != target_tgid)
		return 0;
	__u64 m = magic;
	bpf_map_update_elem(&echo, &k0, &m, BPF_ANY);
	__u64 s = (__u64)(__s64)small;
	bpf_map_update_elem(&echo, &k2, &s, BPF_ANY);

	struct pair_value *v = bpf_map_lookup_elem(&by_key, &key);
	if (v) {
		__sync_fetch_and_add(&v->calls, 1);
	} else {
		struct pair_value nv = { .calls = 1, .last_tgid = tgid, .flag = flag };
		for (int i = 0; i < 8; i++)
			nv.tag[i] = tag[i];
		bpfcol_map_update_counted(&by_key, &key, &nv, BPF_NOEXIST, &update_failures);
	}

	__u64 *c = bpf_map_lookup_elem(&percpu_by_key, &key);
	if (c) {
		*c += 1;
	} else {
		__u64 one = 1;
		bpfcol_map_update_counted(&percpu_by_key, &key, &one, BPF_NOEXIST, &update_failures);
	}
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 k1 = 1;

	if (tgid != target_tgid)
		return 0;
	__u64 *hits = bpf_map_lookup_elem(&echo, &k1);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	return 0;
}

SEC("perf_event")
int on_perf_sample(struct bpf_perf_event_data *ctx)
{
	bpfcol_count(&perf_samples, 1);
	return 0;
}
