/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Shared prelude of every bpfcol BPF program: kernel types (CO-RE, from the running
 * kernel's BTF), libbpf helpers, the license, and loss counting helpers.
 *
 * Rule (see DESIGN.md "Kernel side rules"): nothing is lost silently. Every place a
 * program can drop data (ring buffer full, map full) counts it in a map that
 * user space reads and exports as bpfcol's own metrics.
 */
#ifndef BPFCOL_COMMON_H
#define BPFCOL_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* GPL-compatible license: needed for bpf_probe_read_*, perf events and ring buffers. */
#define BPFCOL_LICENSE char LICENSE[] SEC("license") = "Dual BSD/GPL"

/*
 * Records sent through a ring buffer never appear in the object's BTF on their own (only map,
 * global and function types do). BPFCOL_BTF_STRUCT(name) puts struct name there, so user space
 * can check its TypeScript layout against the compiler's (BpfObject.checkLayout).
 */
#define BPFCOL_BTF_STRUCT(name) struct name *const __bpfcol_btf_##name __attribute__((used)) = 0

/*
 * A loss counter: a per-CPU array of one u64, so incrementing it needs no atomics.
 * User space sums it over CPUs. Declare with BPFCOL_COUNTER(name), bump with
 * bpfcol_count(&name, n).
 */
#define BPFCOL_COUNTER(name)                                                   \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                       \
		__uint(max_entries, 1);                                        \
		__type(key, __u32);                                            \
		__type(value, __u64);                                          \
	} name SEC(".maps")

static __always_inline void bpfcol_count(void *counter_map, __u64 n)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(counter_map, &zero);

	if (v)
		*v += n;
}

/*
 * Updates a map entry and counts a failure (map full: -E2BIG, or no memory) in
 * the given counter instead of losing it silently.
 */
static __always_inline long bpfcol_map_update_counted(void *map, const void *key,
						      const void *value, __u64 flags,
						      void *lost_counter)
{
	long err = bpf_map_update_elem(map, key, value, flags);

	if (err && err != -17 /* -EEXIST: BPF_NOEXIST on an existing key is not a loss */)
		bpfcol_count(lost_counter, 1);
	return err;
}

#endif /* BPFCOL_COMMON_H */
