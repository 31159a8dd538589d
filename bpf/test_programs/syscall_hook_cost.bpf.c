// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// What each way of hooking syscalls costs a busy server (bench/socket_trace-hooks.ts): count-only
// programs on the per-syscall tracepoints (syscalls:sys_enter_X / sys_exit_X) against one program
// on each raw tracepoint (raw_syscalls:sys_enter / sys_exit) dispatching on the syscall id, with
// and without the (tgid, fd) lookup socket_trace does on the syscalls it cares about.
#include "common.h"

BPFCOL_LICENSE;

BPFCOL_COUNTER(hits);

struct fd_key {
	__u32 tgid;
	__u32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, __u64);
} fds SEC(".maps");

#define TP(name)                                                               \
	SEC("tracepoint/syscalls/" #name)                                      \
	int tp_##name(void *ctx)                                               \
	{                                                                      \
		bpfcol_count(&hits, 1);                                        \
		return 0;                                                      \
	}
TP(sys_enter_read) TP(sys_exit_read) TP(sys_enter_write) TP(sys_exit_write)
TP(sys_enter_readv) TP(sys_exit_readv) TP(sys_enter_writev) TP(sys_exit_writev)
TP(sys_enter_recvfrom) TP(sys_exit_recvfrom) TP(sys_enter_sendto) TP(sys_exit_sendto)
TP(sys_enter_recvmsg) TP(sys_exit_recvmsg) TP(sys_enter_sendmsg) TP(sys_exit_sendmsg)
TP(sys_enter_connect) TP(sys_exit_connect) TP(sys_enter_accept) TP(sys_exit_accept)
TP(sys_enter_accept4) TP(sys_exit_accept4) TP(sys_enter_close) TP(sys_exit_close)

static __always_inline bool wanted(long id)
{
	switch (id) {
	case 0: case 1: case 3: case 19: case 20: case 42: case 43: case 44:
	case 45: case 46: case 47: case 288:
		return true;
	}
	return false;
}

SEC("raw_tracepoint/sys_enter")
int raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (!wanted(ctx->args[1]))
		return 0;
	bpfcol_count(&hits, 1);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = BPF_CORE_READ(regs, orig_ax);

	if (!wanted(id))
		return 0;
	bpfcol_count(&hits, 1);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_enter_lookup(struct bpf_raw_tracepoint_args *ctx)
{
	if (!wanted(ctx->args[1]))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	struct fd_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (__u32)BPF_CORE_READ(regs, di) };

	if (bpf_map_lookup_elem(&fds, &k))
		bpfcol_count(&hits, 2);
	bpfcol_count(&hits, 1);
	return 0;
}

/* The syscall id read from the task's registers with a direct (BTF) load instead of a probe read. */
SEC("raw_tracepoint/sys_exit")
int raw_exit_btf(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long id = regs->orig_ax;

	if (!wanted(id))
		return 0;
	bpfcol_count(&hits, 1);
	return 0;
}
