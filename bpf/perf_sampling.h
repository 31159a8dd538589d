/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Layouts shared by bpf/perf_sampling.bpf.c and receivers/perf_sampling/layout.ts. Laid out by
 * hand with explicit padding; the receiver compares both with the object's BTF when it opens it.
 */
#ifndef BPFCOL_PERF_SAMPLING_H
#define BPFCOL_PERF_SAMPLING_H

/* Frames kept per stack: the kernel's default perf_event_max_stack. */
#define PERF_MAX_DEPTH 127

#define PERF_COMM_LEN 16

/* Bound of the in-kernel pid filter (const volatile array). */
#define PERF_FILTER_MAX 16

/* A stack id that was not asked for (no kernel stack for a sample taken in user mode, no user
 * stack for a kernel thread): not a loss. Errors of bpf_get_stackid are negative errnos. */
#define PERF_NO_STACK (-1)

/* Set in a stack id that names an entry of the overflow stack map. */
#define PERF_OVERFLOW_STACK 0x40000000

/* Counters of the stats map (per side). */
#define PERF_STAT_SAMPLES 0              /* every sample the program saw (idle and filtered ones included) */
#define PERF_STAT_COUNTS_FULL 1          /* samples not counted: counts map full */
#define PERF_STAT_STACK_COLLISIONS 2     /* stacks lost: their bucket held another stack in both stack maps */
#define PERF_STAT_USER_STACK_ERRORS 3    /* user stacks that could not be walked (-EFAULT, ...) */
#define PERF_STAT_KERNEL_STACK_ERRORS 4
#define PERF_STAT_COUNT 5

/* What identical samples share: counted together in the counts map. */
struct perf_sample_key {
	__u64 cgroup_id;      /* cgroup v2 id of the task */
	__u32 tgid;           /* process id */
	__u32 pid;            /* thread id */
	__s32 user_stack_id;  /* in the stacks map, PERF_NO_STACK, or -errno when the stack was lost */
	__s32 kernel_stack_id;
	char comm[PERF_COMM_LEN]; /* the thread's name */
};

/* Sent once per process the first time it is sampled (and again after an exec), so user space
 * reads /proc/PID/maps while the process still lives. */
struct perf_new_process {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 _pad;
	char comm[PERF_COMM_LEN]; /* the process's (group leader's) name */
};

#endif /* BPFCOL_PERF_SAMPLING_H */
