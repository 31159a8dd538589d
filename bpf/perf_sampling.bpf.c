/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * perf_sampling: continuous CPU profiles. One PERF_COUNT_SW_CPU_CLOCK event per online CPU runs
 * on_sample `frequency` times a second; it counts identical samples (process, thread, cgroup,
 * user stack, kernel stack, thread name) in a hash map and keeps the stacks in stack-trace maps.
 * No per-sample record crosses to user space.
 *
 * Double buffering (common/double_buffer.h): counts, stacks and counters exist twice (_a, _b, or
 * indexed by side). The program announces itself on the side it writes to; user space flips the
 * side, waits until no program still writes to the old one, then reads and clears it: a read never
 * loses a sample of the next window.
 *
 * Losses are counted: samples not counted because the counts map was full, stacks lost because
 * their stack-map bucket held another stack (-EEXIST) or could not be walked (-EFAULT, others).
 * A sample whose stack was lost is still counted (with the negative id), so CPU per process stays
 * right and user space shows the lost stack as one frame instead of dropping the sample.
 */
#include "common.h"
#include "ringbuf.h"
#include "double_buffer.h"
#include "perf_sampling.h"

BPFCOL_LICENSE;

#define EEXIST 17
#define EFAULT 14
#define PF_KTHREAD 0x00200000
#define PF_EXITING 0x00000004

/* ---- configuration ------------------------------------------------------------------------- */
const volatile __u32 include_idle = 0;   /* count samples of the idle task (pid 0) */
const volatile __u32 kernel_stacks = 1;  /* walk kernel stacks */
const volatile __u32 user_stacks = 1;    /* walk user stacks */
const volatile __u32 n_pids = 0;         /* only these processes (0: every process) */
const volatile __u32 pids[PERF_FILTER_MAX] = {};

/* ---- maps ---------------------------------------------------------------------------------- */
#define COUNTS_MAP(name)                                                       \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__uint(max_entries, 16384);                                    \
		__type(key, struct perf_sample_key);                           \
		__type(value, __u64);                                          \
	} name SEC(".maps")
COUNTS_MAP(counts_a);
COUNTS_MAP(counts_b);

#define STACKS_MAP(name)                                                       \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                        \
		__uint(max_entries, 16384);                                    \
		__uint(key_size, sizeof(__u32));                               \
		__uint(value_size, PERF_MAX_DEPTH * sizeof(__u64));            \
	} name SEC(".maps")
STACKS_MAP(stacks_a);
STACKS_MAP(stacks_b);
/* Where a stack goes when its bucket in the main map holds another stack. A map of another size
 * puts it in another bucket (the bucket is the stack's hash modulo the size), so a stack is lost
 * only when it collides in both. Its ids carry PERF_OVERFLOW_STACK. */
STACKS_MAP(overflow_stacks_a);
STACKS_MAP(overflow_stacks_b);

/* Processes user space was told about (tgid -> 1). An exec or the exit of the process forgets it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u8);
} known_processes SEC(".maps");

BPFCOL_RINGBUF(new_processes, 1 << 18);

/*
 * Counters per side, so a drain reads exactly those of the samples it holds: stats[side *
 * PERF_STAT_COUNT + PERF_STAT_*]. Per-CPU (no atomics), monotonic: user space takes differences.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * PERF_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Puts the record layout in the object's BTF for the layout check. */
struct perf_new_process perf_new_process_layout = {};

static __always_inline void count_stat(__u32 side, __u32 stat)
{
	__u32 key = side * PERF_STAT_COUNT + stat;
	__u64 *v = bpf_map_lookup_elem(&stats, &key);

	if (v)
		*v += 1;
}

static __always_inline int wanted(__u32 tgid)
{
	for (int i = 0; i < PERF_FILTER_MAX; i++) {
		if (i >= n_pids)
			break;
		if (pids[i] == tgid)
			return 1;
	}
	return 0;
}

static __always_inline __s32 stack_id(struct bpf_perf_event_data *ctx, __u32 side, __u64 flags)
{
	long id = side ? bpf_get_stackid(ctx, &stacks_b, flags) : bpf_get_stackid(ctx, &stacks_a, flags);

	if (id >= 0)
		return (__s32)id;
	if (id == -EEXIST) {
		id = side ? bpf_get_stackid(ctx, &overflow_stacks_b, flags)
			  : bpf_get_stackid(ctx, &overflow_stacks_a, flags);
		if (id >= 0)
			return (__s32)(id | PERF_OVERFLOW_STACK);
	}
	if (id == -EEXIST)
		count_stat(side, PERF_STAT_STACK_COLLISIONS);
	else if (flags & BPF_F_USER_STACK)
		count_stat(side, PERF_STAT_USER_STACK_ERRORS);
	else
		count_stat(side, PERF_STAT_KERNEL_STACK_ERRORS);
	return (__s32)id;
}

static __always_inline void announce(__u32 tgid, __u64 cgroup_id, struct task_struct *task)
{
	__u8 one = 1;

	if (bpf_map_lookup_elem(&known_processes, &tgid))
		return;
	/* BPF_NOEXIST: of two CPUs sampling a new process at once, only one announces it. */
	if (bpf_map_update_elem(&known_processes, &tgid, &one, BPF_NOEXIST))
		return;
	struct perf_new_process *e = bpfcol_ringbuf_reserve(&new_processes, &new_processes_lost, sizeof(*e));
	if (!e)
		return;
	e->cgroup_id = cgroup_id;
	e->tgid = tgid;
	e->_pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, group_leader, comm);
	bpf_ringbuf_submit(e, 0);
}

/* One sample, on the side it announced itself on. */
static __always_inline void sample(struct bpf_perf_event_data *ctx, __u32 side)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	count_stat(side, PERF_STAT_SAMPLES);
	if (tgid == 0 && !include_idle)
		return;
	if (n_pids && !wanted(tgid))
		return;

	struct perf_sample_key key = {};

	key.cgroup_id = bpf_get_current_cgroup_id();
	key.tgid = tgid;
	key.pid = (__u32)id;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));

	/* A sample taken in user mode has no kernel stack: the CPL of the interrupted code says.
	 * (Context fields of perf_event programs are read 8 bytes at a time, cs included.) */
	__u64 cs = *(volatile __u64 *)&ctx->regs.cs;
	int in_kernel = (cs & 3) == 0;
	__u32 task_flags = BPF_CORE_READ(task, flags);
	int kthread = task_flags & PF_KTHREAD;

	key.kernel_stack_id = kernel_stacks && in_kernel ? stack_id(ctx, side, 0) : PERF_NO_STACK;
	key.user_stack_id = user_stacks && !kthread ? stack_id(ctx, side, BPF_F_USER_STACK) : PERF_NO_STACK;

	void *counts = side ? (void *)&counts_b : (void *)&counts_a;
	__u64 *count = bpf_map_lookup_elem(counts, &key);

	if (count) {
		__sync_fetch_and_add(count, 1);
	} else {
		__u64 one = 1;
		long err = bpf_map_update_elem(counts, &key, &one, BPF_NOEXIST);

		if (err == -EEXIST) { /* another CPU added it meanwhile */
			count = bpf_map_lookup_elem(counts, &key);
			if (count)
				__sync_fetch_and_add(count, 1);
		} else if (err) {
			count_stat(side, PERF_STAT_COUNTS_FULL);
		}
	}
	/* Not while exiting: its mappings are going (on_exit already forgot it). */
	if (!kthread && tgid && !(task_flags & PF_EXITING))
		announce(tgid, key.cgroup_id, task);
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u32 side = bpfcol_enter_side();

	sample(ctx, side);
	bpfcol_leave_side(side);
	return 0;
}

/* An exec replaces the mappings: announce the process again at its next sample. */
SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&known_processes, &tgid);
	return 0;
}

/* A process gone: its pid may come back as another process. */
SEC("tracepoint/sched/sched_process_exit")
int on_exit(struct trace_event_raw_sched_process_template *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (tgid == (__u32)id)
		bpf_map_delete_elem(&known_processes, &tgid);
	return 0;
}
