/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Double-buffered aggregation maps, read without losing a count.
 *
 * A program that aggregates into maps kept twice (name_a, name_b) writes to the side named by
 * side_control[0] and announces itself in side_writers[side] while it does. User space
 * (src/bpf/double-buffer.ts) flips the side, waits until no program still writes to the old side,
 * then reads and empties it: nothing can land in it after the read, however long a program was
 * held up (a vCPU stolen by the host). A fixed grace period instead loses counts under load.
 *
 *	__u32 side = bpfcol_enter_side();
 *	... update (side ? &counts_b : &counts_a) ...
 *	bpfcol_leave_side(side);
 */
#pragma once

/* side_control[0]: which side (0: _a, 1: _b) programs write to. Written by user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} side_control SEC(".maps");

/* side_writers[side]: programs writing to that side right now (per CPU; user space sums). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} side_writers SEC(".maps");

static __always_inline __u32 bpfcol_active_side(void)
{
	__u32 zero = 0;
	__u32 *side = bpf_map_lookup_elem(&side_control, &zero);

	return side ? *side & 1 : 0;
}

/*
 * Announces a write to the active side and returns it. The side is read again after announcing
 * (the atomic add is a full barrier): a flip that came in between is seen, and the write moves to
 * the new side. Pair with bpfcol_leave_side().
 */
static __always_inline __u32 bpfcol_enter_side(void)
{
	__u32 side = bpfcol_active_side();
	__u64 *n = bpf_map_lookup_elem(&side_writers, &side);

	if (n)
		__sync_fetch_and_add(n, 1);
	__u32 now = bpfcol_active_side();

	if (now != side) {
		if (n)
			__sync_fetch_and_sub(n, 1);
		side = now;
		n = bpf_map_lookup_elem(&side_writers, &side);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return side;
}

static __always_inline void bpfcol_leave_side(__u32 side)
{
	__u64 *n = bpf_map_lookup_elem(&side_writers, &side);

	if (n)
		__sync_fetch_and_sub(n, 1);
}
