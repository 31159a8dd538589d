/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * resources / block_io: block request latency and bytes per cgroup, disk and direction, from the
 * block_rq_issue and block_rq_complete tracepoints (raw tracepoints: their struct request argument
 * says which cgroup the I/O is charged to, which the task that happens to run at issue or completion
 * does not: requests are often dispatched by kworkers and completed in interrupts).
 *
 * Aggregated here; user space reads once per interval. Two copies of the aggregation map exist
 * (stats_a, stats_b), flipped and read without racing an increment (double_buffer.h).
 */
#include "common.h"
#include "double_buffer.h"
#include "resources_blockio.h"

BPFCOL_LICENSE;

#define REQ_OP_MASK ((1u << 8) - 1)
#define MINORBITS 20

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct blockio_inflight);
} inflight SEC(".maps");

#define STATS_MAP(name)                                                        \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__uint(max_entries, 4096);                                     \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__type(key, struct blockio_key);                               \
		__type(value, struct blockio_value);                           \
	} name SEC(".maps")
STATS_MAP(stats_a);
STATS_MAP(stats_b);


BPFCOL_COUNTER(inflight_full); /* requests not followed: the in-flight map was full */
BPFCOL_COUNTER(stats_full);    /* completions not counted: the stats map was full */

/* Puts the layouts in the object's BTF, so user space can check its decoders against them. */
struct blockio_key blockio_key_layout = {};
struct blockio_value blockio_value_layout = {};
struct blockio_inflight blockio_inflight_layout = {};

/* Pre-5.17 kernels named the disk in the request itself. */
struct request___old {
	struct gendisk *rq_disk;
};

static __always_inline __u32 request_dev(struct request *rq)
{
	struct gendisk *disk = NULL;

	if (bpf_core_field_exists(rq->q->disk))
		disk = BPF_CORE_READ(rq, q, disk);
	else if (bpf_core_field_exists(((struct request___old *)rq)->rq_disk))
		disk = BPF_CORE_READ((struct request___old *)rq, rq_disk);
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) | (__u32)BPF_CORE_READ(disk, first_minor);
}

/* The cgroup the request's I/O is charged to (blkcg of its first bio), or the current task's. */
static __always_inline void request_cgroup(struct request *rq, struct blockio_key *key)
{
	struct bio *bio = BPF_CORE_READ(rq, bio);

	if (bio && bpf_core_field_exists(bio->bi_blkg)) {
		struct cgroup *cgrp = BPF_CORE_READ(bio, bi_blkg, blkcg, css.cgroup);

		if (cgrp) {
			key->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
			key->hierarchy = BPF_CORE_READ(cgrp, root, hierarchy_id);
			return;
		}
	}
	key->cgroup_id = bpf_get_current_cgroup_id();
	key->hierarchy = 0;
}

/* Bucket of a latency in microseconds: ceil(log2(us)), 0 for us <= 1, capped at the last bucket. */
static __always_inline __u32 latency_bucket(__u64 us)
{
	__u64 v;
	__u32 r, shift;

	if (us <= 1)
		return 0;
	v = us - 1; /* floor(log2(us - 1)) + 1 == ceil(log2(us)) */
	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r = shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (__u32)(v >> 1);
	r += 1;
	return r < BLOCKIO_BUCKETS ? r : BLOCKIO_BUCKETS - 1;
}

SEC("raw_tracepoint/block_rq_issue")
int on_rq_issue(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	struct blockio_inflight f = {};
	__u64 addr = (__u64)rq;

	if (op != BLOCKIO_OP_READ && op != BLOCKIO_OP_WRITE)
		return 0; /* flushes, discards, zone commands: not reads or writes of data */
	f.issued_ns = bpf_ktime_get_ns();
	f.key.op = op;
	f.key.dev = request_dev(rq);
	request_cgroup(rq, &f.key);
	bpfcol_map_update_counted(&inflight, &addr, &f, BPF_ANY, &inflight_full);
	return 0;
}

SEC("raw_tracepoint/block_rq_complete")
int on_rq_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	__u32 nr_bytes = (__u32)ctx->args[2];
	__u64 addr = (__u64)rq;
	struct blockio_inflight *f = bpf_map_lookup_elem(&inflight, &addr);
	struct blockio_value *v;
	void *stats;
	bool done;
	__u64 ns;
	__u32 side;

	if (!f)
		return 0; /* issued before we attached, or not a read or write */
	/* A request may complete in parts (blk_update_request per part): it is done when what
	 * remains (__data_len, not yet reduced by this part) is no more than this part. */
	done = BPF_CORE_READ(rq, __data_len) <= nr_bytes;
	ns = bpf_ktime_get_ns() - f->issued_ns;
	side = bpfcol_enter_side();
	stats = side ? (void *)&stats_b : (void *)&stats_a;
	v = bpf_map_lookup_elem(stats, &f->key);
	if (!v) {
		struct blockio_value zero = {};

		bpfcol_map_update_counted(stats, &f->key, &zero, BPF_NOEXIST, &stats_full);
		v = bpf_map_lookup_elem(stats, &f->key);
	}
	if (v) {
		__sync_fetch_and_add(&v->bytes, nr_bytes);
		if (done) {
			__u32 b = latency_bucket(ns / 1000);

			__sync_fetch_and_add(&v->count, 1);
			__sync_fetch_and_add(&v->latency_ns, ns);
			if (b < BLOCKIO_BUCKETS)
				__sync_fetch_and_add(&v->buckets[b], 1);
		}
	}
	bpfcol_leave_side(side);
	if (done)
		bpf_map_delete_elem(&inflight, &addr);
	return 0;
}
