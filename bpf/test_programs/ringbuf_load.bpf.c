// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// Test load for the ring buffer runtime (src/bpf/ringbuf.test.ts, lifecycle.test.ts): each
// getppid() of the process target_tgid emits records_per_call records. Every attempt is counted
// in `produced`; the ones the full ring refused are counted in `events_lost`, so the test can
// check delivered + lost == produced exactly.
#include "common.h"
#include "ringbuf.h"

BPFCOL_LICENSE;

#define LOAD_MAGIC 0x62706663u /* "bpfc" */

// Mirrored by LoadRecord in src/bpf/ringbuf.test.ts.
struct load_record {
	__u32 magic;
	__u32 cpu;
	__u64 seq;      /* per-CPU sequence number: the produced count before this record */
	__u64 payload[5];
};
BPFCOL_BTF_STRUCT(load_record);

const volatile __u32 target_tgid = 0;
const volatile __u32 records_per_call = 1;

BPFCOL_RINGBUF(events, 1 << 22);
BPFCOL_COUNTER(produced);
BPFCOL_COUNTER(samples);

struct produce_ctx {
	__u64 *seq;
	__u32 tgid;
};

static long produce_one(__u32 i, void *data)
{
	struct produce_ctx *c = data;
	__u64 s = *c->seq;

	*c->seq = s + 1;
	struct load_record *r = bpfcol_ringbuf_reserve(&events, &events_lost, sizeof(*r));
	if (!r)
		return 0;
	r->magic = LOAD_MAGIC;
	r->cpu = bpf_get_smp_processor_id();
	r->seq = s;
	r->payload[0] = s * 3;
	r->payload[1] = c->tgid;
	r->payload[2] = 0;
	r->payload[3] = 0;
	r->payload[4] = ~s;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int produce(void *ctx)
{
	__u32 zero = 0;
	struct produce_ctx c = { .tgid = bpf_get_current_pid_tgid() >> 32 };

	if (c.tgid != target_tgid)
		return 0;
	c.seq = bpf_map_lookup_elem(&produced, &zero);
	if (!c.seq)
		return 0;
	/* bpf_loop (Linux 5.17+): verified once, whatever the count */
	bpf_loop(records_per_call, produce_one, &c, 0);
	return 0;
}

SEC("perf_event")
int count_samples(struct bpf_perf_event_data *ctx)
{
	bpfcol_count(&samples, 1);
	return 0;
}
