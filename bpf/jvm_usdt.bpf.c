// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * jvm_usdt: JVM garbage collection, memory pools, safepoints, VM operations, threads and classes
 * from HotSpot's USDT probes (libjvm.so's .note.stapsdt: providers hotspot and hs_private), plus
 * the process events that let user space find JVMs as they start and forget them as they exit.
 *
 * The USDT programs are attached per JVM (pid-filtered uprobes, so JVMs not watched pay nothing);
 * the two sched tracepoints are attached once. Everything a metric needs is aggregated here:
 *  - gc__begin/gc__end, with the memory manager named by mem__pool__gc__begin/end in between, pair
 *    per thread into jvm.gc.duration histograms per (pid, manager, action); a manager's stats
 *    outside a pause (concurrent collectors) pair from its first pool begin to its last pool end;
 *  - mem__pool__gc__begin/end pair per (thread, pool) into the usage before and after the latest
 *    collection of each pool;
 *  - safepoint__begin/end and vmops__begin/end pair per thread into histograms;
 *  - thread and class probes count per pid.
 * User space reads these maps once per interval (values are cumulative, never reset) and deletes
 * a JVM's entries after its last read. With logs enabled, one record per collection goes through
 * the gc_events ring, with the cause read from the JVM's own hsperfdata memory (sun.gc.cause holds
 * the cause while a collection runs).
 */
#include "common.h"
#include "ringbuf.h"
/* Spec slots for USDT attachments: each attached probe site takes one until detached. User space
 * sizes the map for its JVM limit (maxEntries: __bpf_usdt_specs). */
#define BPF_USDT_MAX_SPEC_CNT 1024
#include <bpf/usdt.bpf.h>
#include "jvm_usdt.h"

BPFCOL_LICENSE;

BPFCOL_BTF_STRUCT(jvm_gc_event);
BPFCOL_BTF_STRUCT(jvm_proc_event);

/* Histogram upper bounds in nanoseconds (inclusive), ascending; set from the config before load. */
const volatile __u32 n_gc_bounds = 0;
const volatile __u64 gc_bounds_ns[JVM_MAX_BOUNDS] = {};
const volatile __u32 n_pause_bounds = 0;
const volatile __u64 pause_bounds_ns[JVM_MAX_BOUNDS] = {};
/* 1: one jvm_gc_event per collection on the gc_events ring. */
const volatile __u8 log_gcs = 0;

/* Series maps: user space sizes them for its JVM limit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct jvm_gc_key);
	__type(value, struct jvm_hist);
} gc_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct jvm_pool_key);
	__type(value, struct jvm_pool_value);
} pools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct jvm_hist);
} safepoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct jvm_vmop_key);
	__type(value, struct jvm_hist);
} vmops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct jvm_counts);
} counts SEC(".maps");

/* The JVMs user space attached to (pid -> info): their exits are reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct jvm_info);
} jvms SEC(".maps");

/* In-flight pairing state, per thread: LRU so threads of a JVM killed mid-collection age out;
 * per-CPU LRU lists (begin and end run on the same thread, mostly the same CPU) keep updates cheap. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct jvm_gc_state);
} gc_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 16384);
	__type(key, struct jvm_pool_begin_key);
	__type(value, struct jvm_usage);
} pool_begin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} safepoint_begin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} vmop_begin SEC(".maps");

/* Scratch space too big for the 512-byte stack, one per CPU. */
struct scratch {
	struct jvm_gc_state state;
	struct jvm_pool_key pool_key;
	struct jvm_pool_value pool_value;
	struct jvm_pool_begin_key begin_key;
	struct jvm_gc_key gc_key;
	struct jvm_vmop_key vmop_key;
	struct jvm_hist hist;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

BPFCOL_RINGBUF(proc_events, 1 << 18);
BPFCOL_RINGBUF(gc_events, 1 << 18);

/* Losses: a series map was full (the series is missing), a pairing map was full (one duration lost). */
BPFCOL_COUNTER(series_full);
BPFCOL_COUNTER(pairing_full);

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_space, &zero);
}

/* Copies min(len, JVM_NAME_LEN - 1) bytes of a probe's string argument; dst is zeroed first. */
static __always_inline void read_name(char *dst, const void *src, long len)
{
	__u32 n = len < 0 ? 0 : (__u32)len;

	__builtin_memset(dst, 0, JVM_NAME_LEN);
	if (n > JVM_NAME_LEN - 1)
		n = JVM_NAME_LEN - 1;
	/* Keep the compiler from reusing an unbounded copy of n: the verifier needs the mask here. */
	barrier_var(n);
	n &= JVM_NAME_LEN - 1;
	bpf_probe_read_user(dst, n, src);
}

/* Bucket of a duration: how many bounds it exceeds (bounds are inclusive upper bounds). */
static __always_inline __u32 bucket_of(__u64 ns, const volatile __u64 *bounds, __u32 n)
{
	__u32 b = 0;

#pragma unroll
	for (int i = 0; i < JVM_MAX_BOUNDS; i++) {
		if (i < n && ns > bounds[i])
			b = i + 1;
	}
	return b;
}

/* Adds one duration to the histogram at key in map, creating it (zeroed) the first time. */
static __always_inline void hist_add(void *map, const void *key, __u64 ns, const volatile __u64 *bounds,
				     __u32 n, struct jvm_hist *zero)
{
	struct jvm_hist *h = bpf_map_lookup_elem(map, key);

	if (!h) {
		__builtin_memset(zero, 0, sizeof(*zero));
		bpfcol_map_update_counted(map, key, zero, BPF_NOEXIST, &series_full);
		h = bpf_map_lookup_elem(map, key);
		if (!h)
			return;
	}
	__u32 b = bucket_of(ns, bounds, n);

	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	if (b < JVM_BUCKETS)
		__sync_fetch_and_add(&h->buckets[b], 1);
}

static __always_inline struct jvm_counts *counts_of(__u32 pid)
{
	struct jvm_counts *c = bpf_map_lookup_elem(&counts, &pid);

	if (c)
		return c;
	struct jvm_counts zero = {};

	bpfcol_map_update_counted(&counts, &pid, &zero, BPF_NOEXIST, &series_full);
	return bpf_map_lookup_elem(&counts, &pid);
}

/* ---- garbage collection ---------------------------------------------------------------------- */

/* Reads sun.gc.cause from the JVM's hsperfdata memory (the probe runs in the JVM: its addresses). */
static __always_inline void read_cause(char *dst, __u32 pid)
{
	struct jvm_info *info = bpf_map_lookup_elem(&jvms, &pid);

	if (!info || !info->cause_addr)
		return;
	bpf_probe_read_user_str(dst, JVM_CAUSE_LEN, (const void *)info->cause_addr);
}

static __always_inline void gc_finish(struct jvm_gc_state *st, __u32 pid, __u32 tid, struct scratch *s)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 ns = now - st->begin_ns;

	/* A pause that reported no memory manager (G1 remark and cleanup on JDK 17) has no
	 * jvm.gc.name: it is in the safepoint histogram, not here, as in JMX. */
	if (st->manager[0] == 0)
		return;
	__builtin_memset(&s->gc_key, 0, sizeof(s->gc_key));
	s->gc_key.pid = pid;
	s->gc_key.action = st->action;
	__builtin_memcpy(s->gc_key.manager, st->manager, JVM_NAME_LEN);
	hist_add(&gc_hist, &s->gc_key, ns, gc_bounds_ns, n_gc_bounds, &s->hist);

	if (!log_gcs)
		return;
	struct jvm_gc_event *e = bpfcol_ringbuf_reserve(&gc_events, &gc_events_lost, sizeof(*e));

	if (!e)
		return;
	e->begin_ns = st->begin_ns;
	e->duration_ns = ns;
	e->used_before = st->used_before;
	e->used_after = st->used_after;
	e->pid = pid;
	e->tid = tid;
	e->action = st->action;
	e->_pad = 0;
	__builtin_memcpy(e->manager, st->manager, JVM_NAME_LEN);
	__builtin_memcpy(e->cause, st->cause, JVM_CAUSE_LEN);
	bpf_ringbuf_submit(e, 0);
}

SEC("usdt")
int BPF_USDT(on_gc_begin, long full)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct scratch *s = scratch();

	if (!s)
		return 0;
	__builtin_memset(&s->state, 0, sizeof(s->state));
	s->state.begin_ns = bpf_ktime_get_ns();
	s->state.action = (full & 0xff) ? JVM_GC_MAJOR : JVM_GC_MINOR;
	s->state.marker = 1;
	read_cause(s->state.cause, id >> 32);
	bpfcol_map_update_counted(&gc_active, &tid, &s->state, BPF_ANY, &pairing_full);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_gc_end)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct jvm_gc_state *st = bpf_map_lookup_elem(&gc_active, &tid);
	struct scratch *s = scratch();

	if (!st || !s)
		return 0;
	if (st->marker)
		gc_finish(st, id >> 32, tid, s);
	bpf_map_delete_elem(&gc_active, &tid);
	return 0;
}

/* mem__pool__gc__begin(manager, manager_len, pool, pool_len, init, used, committed, max): once per
 * pool of the JVM at the start of a collection by `manager`. */
SEC("usdt")
int BPF_USDT(on_pool_begin, void *manager, long manager_len, void *pool, long pool_len, __u64 init, __u64 used,
	     __u64 committed, __u64 max)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct scratch *s = scratch();

	if (!s)
		return 0;
	struct jvm_gc_state *st = bpf_map_lookup_elem(&gc_active, &tid);

	if (!st) {
		/* A manager's stats outside a pause: a concurrent cycle. It ends with its last pool. */
		__builtin_memset(&s->state, 0, sizeof(s->state));
		s->state.begin_ns = bpf_ktime_get_ns();
		s->state.action = JVM_GC_CONCURRENT;
		read_cause(s->state.cause, id >> 32);
		if (bpfcol_map_update_counted(&gc_active, &tid, &s->state, BPF_ANY, &pairing_full))
			return 0;
		st = bpf_map_lookup_elem(&gc_active, &tid);
		if (!st)
			return 0;
	}
	if (st->manager[0] == 0)
		read_name(st->manager, manager, manager_len);
	st->pools_open++;
	st->used_before += used;

	__builtin_memset(&s->begin_key, 0, sizeof(s->begin_key));
	s->begin_key.tid = tid;
	read_name(s->begin_key.pool, pool, pool_len);
	struct jvm_usage u = { .init = init, .used = used, .committed = committed, .max = max };

	bpfcol_map_update_counted(&pool_begin, &s->begin_key, &u, BPF_ANY, &pairing_full);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_pool_end, void *manager, long manager_len, void *pool, long pool_len, __u64 init, __u64 used,
	     __u64 committed, __u64 max)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	__u32 tid = (__u32)id;
	struct scratch *s = scratch();

	if (!s)
		return 0;

	__builtin_memset(&s->begin_key, 0, sizeof(s->begin_key));
	s->begin_key.tid = tid;
	read_name(s->begin_key.pool, pool, pool_len);

	__builtin_memset(&s->pool_key, 0, sizeof(s->pool_key));
	s->pool_key.pid = pid;
	__builtin_memcpy(s->pool_key.pool, s->begin_key.pool, JVM_NAME_LEN);

	struct jvm_pool_value *v = bpf_map_lookup_elem(&pools, &s->pool_key);

	if (!v) {
		__builtin_memset(&s->pool_value, 0, sizeof(s->pool_value));
		bpfcol_map_update_counted(&pools, &s->pool_key, &s->pool_value, BPF_NOEXIST, &series_full);
		v = bpf_map_lookup_elem(&pools, &s->pool_key);
		if (!v)
			return 0;
	}
	struct jvm_usage *before = bpf_map_lookup_elem(&pool_begin, &s->begin_key);

	if (before)
		v->before = *before;
	else
		__builtin_memset(&v->before, 0, sizeof(v->before));
	v->after.init = init;
	v->after.used = used;
	v->after.committed = committed;
	v->after.max = max;
	v->end_ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->collections, 1);
	if (before)
		bpf_map_delete_elem(&pool_begin, &s->begin_key);

	struct jvm_gc_state *st = bpf_map_lookup_elem(&gc_active, &tid);

	if (!st)
		return 0;
	/* Without the begin probe (attached only where needed), the first pool's end names the manager. */
	if (st->manager[0] == 0)
		read_name(st->manager, manager, manager_len);
	st->used_after += used;
	if (st->pools_open > 0)
		st->pools_open--;
	if (!st->marker && st->pools_open == 0) {
		gc_finish(st, pid, tid, s);
		bpf_map_delete_elem(&gc_active, &tid);
	}
	return 0;
}

/* ---- safepoints and VM operations ------------------------------------------------------------ */

static __always_inline void begin_now(void *map)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpfcol_map_update_counted(map, &tid, &now, BPF_ANY, &pairing_full);
}

/* Nanoseconds since the thread's begin in map (removed), or 0 when none was seen. */
static __always_inline __u64 end_now(void *map)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *begin = bpf_map_lookup_elem(map, &tid);
	__u64 ns;

	if (!begin)
		return 0;
	ns = bpf_ktime_get_ns() - *begin;
	bpf_map_delete_elem(map, &tid);
	return ns;
}

SEC("usdt")
int BPF_USDT(on_safepoint_begin)
{
	begin_now(&safepoint_begin);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_safepoint_end)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 ns = end_now(&safepoint_begin);
	struct scratch *s = scratch();

	if (ns && s)
		hist_add(&safepoints, &pid, ns, pause_bounds_ns, n_pause_bounds, &s->hist);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_vmop_begin, void *name, long name_len, long mode)
{
	begin_now(&vmop_begin);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_vmop_end, void *name, long name_len, long mode)
{
	__u64 ns = end_now(&vmop_begin);
	struct scratch *s = scratch();

	if (!ns || !s)
		return 0;
	__builtin_memset(&s->vmop_key, 0, sizeof(s->vmop_key));
	s->vmop_key.pid = bpf_get_current_pid_tgid() >> 32;
	read_name(s->vmop_key.name, name, name_len);
	hist_add(&vmops, &s->vmop_key, ns, pause_bounds_ns, n_pause_bounds, &s->hist);
	return 0;
}

/* ---- threads and classes --------------------------------------------------------------------- */

/* thread__start/stop(name, name_len, java_tid, native_tid, is_daemon) */
SEC("usdt")
int BPF_USDT(on_thread_start, void *name, long name_len, long java_tid, long native_tid, long daemon)
{
	struct jvm_counts *c = counts_of(bpf_get_current_pid_tgid() >> 32);

	if (c)
		__sync_fetch_and_add(&c->threads_started[(daemon & 0xff) ? 1 : 0], 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_thread_stop, void *name, long name_len, long java_tid, long native_tid, long daemon)
{
	struct jvm_counts *c = counts_of(bpf_get_current_pid_tgid() >> 32);

	if (c)
		__sync_fetch_and_add(&c->threads_stopped[(daemon & 0xff) ? 1 : 0], 1);
	return 0;
}

/* class__loaded(name, name_len, class_loader, is_shared) */
SEC("usdt")
int BPF_USDT(on_class_loaded, void *name, long name_len, void *loader, long shared)
{
	struct jvm_counts *c = counts_of(bpf_get_current_pid_tgid() >> 32);

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->classes_loaded, 1);
	if (shared & 0xff)
		__sync_fetch_and_add(&c->shared_classes_loaded, 1);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_class_unloaded, void *name, long name_len, void *loader, long shared)
{
	struct jvm_counts *c = counts_of(bpf_get_current_pid_tgid() >> 32);

	if (c)
		__sync_fetch_and_add(&c->classes_unloaded, 1);
	return 0;
}

/* ---- process events -------------------------------------------------------------------------- */

static __always_inline void proc_event(__u32 pid, __u32 kind)
{
	struct jvm_proc_event *e = bpfcol_ringbuf_reserve(&proc_events, &proc_events_lost, sizeof(*e));

	if (!e)
		return;
	e->pid = pid;
	e->kind = kind;
	bpf_ringbuf_submit(e, 0);
}

/* Every exec: user space looks for libjvm.so in the new image's mappings shortly after. */
SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	proc_event(bpf_get_current_pid_tgid() >> 32, JVM_PROC_EXEC);
	return 0;
}

/* The exit of a watched JVM's last thread (signal->live reached 0), so user space detaches. */
SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!bpf_map_lookup_elem(&jvms, &pid))
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	proc_event(pid, JVM_PROC_EXIT);
	return 0;
}
