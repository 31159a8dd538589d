/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Layouts shared by bpf/resources_blockio.bpf.c and receivers/resources/block-io.ts (which checks
 * them against the object's BTF when it opens it). Laid out by hand with explicit padding.
 */
#ifndef BPFCOL_RESOURCES_BLOCKIO_H
#define BPFCOL_RESOURCES_BLOCKIO_H

/* Latency histogram: bucket i counts requests that took t microseconds with 2^(i-1) < t <= 2^i;
 * bucket 0 is t <= 1, the last one everything above 2^30. */
#define BLOCKIO_BUCKETS 32

#define BLOCKIO_OP_READ 0
#define BLOCKIO_OP_WRITE 1

/* One series: the cgroup the request is charged to, the disk, the direction. */
struct blockio_key {
	__u64 cgroup_id;   /* kernfs id (directory inode) of the cgroup, in hierarchy `hierarchy` */
	__u32 hierarchy;   /* cgroup hierarchy id: 0 is v2; a v1 blkio hierarchy has its own (/proc/PID/cgroup) */
	__u32 dev;         /* whole disk, (major << 20) | minor as the kernel's dev_t */
	__u32 op;          /* BLOCKIO_OP_* */
	__u32 _pad;
};                         /* 24 bytes */

struct blockio_value {
	__u64 count;           /* requests completed */
	__u64 bytes;           /* bytes completed */
	__u64 latency_ns;      /* sum of issue -> completion times */
	__u64 buckets[BLOCKIO_BUCKETS];
};                             /* 280 bytes */

/* A request in flight, keyed by its address. */
struct blockio_inflight {
	__u64 issued_ns;
	struct blockio_key key;
};                             /* 32 bytes */

#endif
