/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Ring buffers with loss accounting. BPFCOL_RINGBUF(events, 1 << 22) declares the
 * BPF_MAP_TYPE_RINGBUF map `events` and its companion per-CPU counter `events_lost`.
 * The user-space RingBuffer (src/bpf/ringbuf.ts) refuses a ring without its
 * `<name>_lost` companion, so every ring's losses reach bpfcol's metrics.
 *
 *   struct event *e = bpfcol_ringbuf_reserve(&events, &events_lost, sizeof(*e));
 *   if (!e) return 0;            // counted already
 *   ...fill e...
 *   bpf_ringbuf_submit(e, 0);
 */
#ifndef BPFCOL_RINGBUF_H
#define BPFCOL_RINGBUF_H

#include "common.h"

/* bytes: a power of two and a multiple of the page size; user space may resize it before load. */
#define BPFCOL_RINGBUF(name, bytes)                                            \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                            \
		__uint(max_entries, bytes);                                    \
	} name SEC(".maps");                                                   \
	BPFCOL_COUNTER(name##_lost)

/* Reserves a record; when the ring is full counts one lost record and returns NULL. */
static __always_inline void *bpfcol_ringbuf_reserve(void *ring, void *lost_counter, __u64 size)
{
	void *rec = bpf_ringbuf_reserve(ring, size, 0);

	if (!rec)
		bpfcol_count(lost_counter, 1);
	return rec;
}

/* Copies data into the ring; when the ring is full counts one lost record. */
static __always_inline long bpfcol_ringbuf_output(void *ring, void *lost_counter, void *data,
						  __u64 size)
{
	long err = bpf_ringbuf_output(ring, data, size, 0);

	if (err)
		bpfcol_count(lost_counter, 1);
	return err;
}

#endif /* BPFCOL_RINGBUF_H */
