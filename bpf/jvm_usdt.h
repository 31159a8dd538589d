/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Layouts shared by bpf/jvm_usdt.bpf.c and receivers/jvm_usdt/layout.ts. Every struct is laid
 * out by hand with explicit padding so the TypeScript side decodes it at fixed offsets; a change
 * here is a change there (the receiver's tests compare both with the object's BTF).
 */
#ifndef BPFCOL_JVM_USDT_H
#define BPFCOL_JVM_USDT_H

/* Bytes kept of a name from a probe (GC manager, memory pool, VM operation), NUL included. */
#define JVM_NAME_LEN 64
/* Bytes kept of the GC cause read from the JVM's hsperfdata memory (sun.gc.cause). */
#define JVM_CAUSE_LEN 64
/* Explicit histogram bounds: at most JVM_MAX_BOUNDS, so JVM_MAX_BOUNDS + 1 buckets. */
#define JVM_MAX_BOUNDS 16
#define JVM_BUCKETS (JVM_MAX_BOUNDS + 1)

/* struct jvm_gc_key.action */
#define JVM_GC_MINOR 0       /* gc__begin(full = false) */
#define JVM_GC_MAJOR 1       /* gc__begin(full = true) */
#define JVM_GC_CONCURRENT 2  /* memory manager stats outside a gc__begin/gc__end pause (ZGC, Shenandoah cycles) */

/* struct jvm_proc_event.kind */
#define JVM_PROC_EXEC 1      /* sched:sched_process_exec of any process */
#define JVM_PROC_EXIT 2      /* the last thread of a tracked JVM exited */

/* A histogram of durations in nanoseconds over the configured bounds (upper bound inclusive). */
struct jvm_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[JVM_BUCKETS];
};                                   /* 152 bytes */

/* jvm.gc.duration series: one per (JVM, memory manager = jvm.gc.name, action). */
struct jvm_gc_key {
	__u32 pid;
	__u32 action;                /* JVM_GC_* */
	char manager[JVM_NAME_LEN];  /* "G1 Young Generation" */
};                                   /* 72 bytes */

/* A memory pool of a JVM. */
struct jvm_pool_key {
	__u32 pid;
	__u32 _pad;
	char pool[JVM_NAME_LEN];     /* "G1 Eden Space" */
};                                   /* 72 bytes */

/* A MemoryUsage as the mem__pool__gc__* probes give it (max is (u64)-1 when undefined). */
struct jvm_usage {
	__u64 init;
	__u64 used;
	__u64 committed;
	__u64 max;
};                                   /* 32 bytes */

/* The latest collection that touched a pool: usage just before and just after it. */
struct jvm_pool_value {
	__u64 collections;           /* mem__pool__gc__end seen for this pool */
	__u64 end_ns;                /* bpf_ktime_get_ns() of the latest one */
	struct jvm_usage before;     /* from the paired mem__pool__gc__begin of the same thread */
	struct jvm_usage after;
};                                   /* 80 bytes */

/* Pairs mem__pool__gc__begin with mem__pool__gc__end: per (thread, pool). */
struct jvm_pool_begin_key {
	__u32 tid;
	__u32 _pad;
	char pool[JVM_NAME_LEN];
};                                   /* 72 bytes */

/* Per-JVM counters of the probes that only count (since bpfcol attached). */
struct jvm_counts {
	__u64 classes_loaded;        /* class__loaded */
	__u64 shared_classes_loaded; /* class__loaded with is_shared (from the CDS archive) */
	__u64 classes_unloaded;      /* class__unloaded */
	__u64 threads_started[2];    /* thread__start, [is_daemon] */
	__u64 threads_stopped[2];    /* thread__stop, [is_daemon] */
};                                   /* 56 bytes */

/* jvm.vm_operation.duration series (vmops__begin/end). */
struct jvm_vmop_key {
	__u32 pid;
	__u32 _pad;
	char name[JVM_NAME_LEN];     /* "G1CollectForAllocation" */
};                                   /* 72 bytes */

/* What user space tells the programs about a JVM it attached to. */
struct jvm_info {
	__u64 cause_addr;            /* address of sun.gc.cause in the JVM's hsperfdata mapping, 0: none */
	__u32 cause_len;             /* its vector length */
	__u32 _pad;
};                                   /* 16 bytes */

/* A GC in progress on a thread: from gc__begin (or the first mem__pool__gc__begin) to its end. */
struct jvm_gc_state {
	__u64 begin_ns;
	__u64 used_before;           /* sum of the pools' used at mem__pool__gc__begin */
	__u64 used_after;            /* sum of the pools' used at mem__pool__gc__end */
	__u32 pools_open;            /* pools begun and not yet ended */
	__u8 action;                 /* JVM_GC_* */
	__u8 marker;                 /* 1: opened by gc__begin, closed by gc__end */
	__u8 _pad[2];
	char manager[JVM_NAME_LEN];
	char cause[JVM_CAUSE_LEN];
};                                   /* 160 bytes */

/* One collection, on the gc_events ring (logs.enabled). */
struct jvm_gc_event {
	__u64 begin_ns;              /* bpf_ktime_get_ns() */
	__u64 duration_ns;
	__u64 used_before;           /* summed over every pool the collection reported */
	__u64 used_after;
	__u32 pid;
	__u32 tid;
	__u32 action;                /* JVM_GC_* */
	__u32 _pad;
	char manager[JVM_NAME_LEN];
	char cause[JVM_CAUSE_LEN];
};                                   /* 176 bytes */

/* A process event on the proc_events ring: an exec anywhere, the exit of a tracked JVM. */
struct jvm_proc_event {
	__u32 pid;
	__u32 kind;                  /* JVM_PROC_* */
};                                   /* 8 bytes */

#endif /* BPFCOL_JVM_USDT_H */
