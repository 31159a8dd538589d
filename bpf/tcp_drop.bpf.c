/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * tcp_drop: TCP drops (with the kernel's drop reason), retransmits, resets, connections opened
 * and closed (bytes, retransmits and RTT read from the socket at close), per pair of endpoints,
 * owning process and cgroup. Raw tracepoints only (why: above on_kfree_skb).
 *
 * Counts are aggregated here in hash maps; user space reads them once per interval. Two copies of
 * every aggregation map exist (_a and _b), read without racing an increment (double_buffer.h).
 *
 * Softirq-time events (drops, retransmits, resets, state changes on packet arrival) run in
 * whatever task happened to be interrupted: the owner of a socket is remembered in process
 * context (connect, listen, send) in `owners` and looked up by socket address.
 */
#include "common.h"
#include "double_buffer.h"
#include "ringbuf.h"
#include "tcp_drop.h"
#include <bpf/bpf_endian.h>

BPFCOL_LICENSE;

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define EEXIST 17

/* ---- configuration (set by user space before load) ---------------------------------------- */
const volatile __u32 kinds = 0xffffffff;     /* TCP_KIND_BIT(TCP_EV_*) */
const volatile __u32 n_ports = 0;            /* keep events where either port is listed */
const volatile __u16 ports[TCP_FILTER_MAX] = {};
const volatile __u32 n_pids = 0;             /* keep events whose owning process is listed */
const volatile __u32 pids[TCP_FILTER_MAX] = {};
const volatile __u32 n_cgroups = 0;          /* keep events whose owner's cgroup is listed */
const volatile __u64 cgroups[TCP_FILTER_MAX] = {};
const volatile __u32 log_drops = 0;          /* 1: one ring-buffer record per drop */
/* Ephemeral port range (net.ipv4.ip_local_port_range); 0..0 keeps every port. */
const volatile __u16 ephemeral_lo = 0;
const volatile __u16 ephemeral_hi = 0;
const volatile __u32 log_max_per_second = 100;

/* ---- maps ---------------------------------------------------------------------------------- */
#define FLOW_MAP(name, entries)                                                \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__uint(max_entries, entries);                                  \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__type(key, struct tcp_flow_key);                              \
		__type(value, struct tcp_flow_value);                          \
	} name SEC(".maps")
FLOW_MAP(flows_a, 16384);
FLOW_MAP(flows_b, 16384);

#define RTT_MAP(name, entries)                                                 \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__uint(max_entries, entries);                                  \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__type(key, struct tcp_flow_key);                              \
		__type(value, struct tcp_rtt_value);                           \
	} name SEC(".maps")
RTT_MAP(rtt_a, 4096);
RTT_MAP(rtt_b, 4096);


/* Socket address -> owner. Entries leave when the socket reaches TCP_CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tcp_owner);
} owners SEC(".maps");

/* Listeners by (netns, port). Filled at listen(); user space adds those that existed before the
 * programs were attached (from /proc), without replacing any entry the programs made. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_listener_key);
	__type(value, struct tcp_listener);
} listeners SEC(".maps");

/* Per-second window of the drop-record rate limit. */
struct log_window {
	__u64 second;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct log_window);
} log_rate SEC(".maps");

BPFCOL_RINGBUF(drop_log, 1 << 20);

BPFCOL_COUNTER(flows_full);          /* events not counted: flow map full */
BPFCOL_COUNTER(rtt_full);            /* RTT samples not counted: rtt map full */
BPFCOL_COUNTER(owners_full);         /* owners not remembered: owner/listener map full */
BPFCOL_COUNTER(drop_log_ratelimited); /* drop records over logs.max_per_second */

/* Puts the event layout in the object's BTF, so user space can check its decoder against it. */
struct tcp_drop_event tcp_drop_event_layout = {};

/* ---- helpers ------------------------------------------------------------------------------- */
static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline __u64 sk_cgroup(const struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

/*
 * The current process as an owner: tgid, cgroup, and the base name of its executable (what
 * process.executable.name means); kernel threads have none and give their main thread's comm.
 */
static __always_inline void current_owner(struct tcp_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	const unsigned char *name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);

	o->cgroup_id = bpf_get_current_cgroup_id();
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->_pad = 0;
	if (!name || bpf_probe_read_kernel_str(o->exe, sizeof(o->exe), name) <= 0)
		BPF_CORE_READ_STR_INTO(&o->exe, task, group_leader, comm);
}

static __always_inline void remember_owner(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct tcp_owner *cur = bpf_map_lookup_elem(&owners, &key);
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (cur && cur->pid == pid && cur->cgroup_id == bpf_get_current_cgroup_id())
		return;
	struct tcp_owner o = {};

	current_owner(&o);
	bpfcol_map_update_counted(&owners, &key, &o, BPF_ANY, &owners_full);
}

/* TCP_NEW_SYN_RECV and TCP_TIME_WAIT sockets are not full sockets: only sock_common is there. */
static __always_inline bool is_full_sock(__u8 state)
{
	return state != TCP_NEW_SYN_RECV && state != TCP_TIME_WAIT;
}

/*
 * Fills pid and cgroup of key from what is known about sk. Never from the current task: these
 * hooks often run in softirq, in whatever task was interrupted, and a BPF tracepoint program
 * cannot tell (the kernel overwrites the record's common fields, flags included, for BPF).
 */
static __always_inline void resolve_owner(const struct sock *sk, __u16 local_port, __u32 netns,
					  struct tcp_flow_key *key)
{
	if (sk) {
		__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

		if (state == TCP_NEW_SYN_RECV) /* request socket: its listener owns it */
			sk = BPF_CORE_READ(sk, __sk_common.skc_listener);
		if (sk && state != TCP_TIME_WAIT) {
			__u64 k = (__u64)sk;
			struct tcp_owner *o = bpf_map_lookup_elem(&owners, &k);

			if (o) {
				key->pid = o->pid;
				key->cgroup_id = o->cgroup_id;
				__builtin_memcpy(key->exe, o->exe, sizeof(key->exe));
				return;
			}
			if (is_full_sock(BPF_CORE_READ(sk, __sk_common.skc_state)))
				key->cgroup_id = sk_cgroup(sk);
		}
	}
	if (netns && local_port) { /* a packet to or from a listening port: the listener's owner */
		struct tcp_listener_key lk = { .netns = netns, .port = local_port };
		struct tcp_listener *l = bpf_map_lookup_elem(&listeners, &lk);

		if (l) {
			key->pid = l->owner.pid;
			key->cgroup_id = l->owner.cgroup_id;
			__builtin_memcpy(key->exe, l->owner.exe, sizeof(key->exe));
		}
	}
}

static __always_inline bool filters_pass(const struct tcp_flow_key *key)
{
	if (n_ports) {
		bool hit = false;

		for (int i = 0; i < TCP_FILTER_MAX; i++) {
			if (i < n_ports && (ports[i] == key->lport || ports[i] == key->rport))
				hit = true;
		}
		if (!hit)
			return false;
	}
	if (n_pids) {
		bool hit = false;

		for (int i = 0; i < TCP_FILTER_MAX; i++) {
			if (i < n_pids && pids[i] == key->pid)
				hit = true;
		}
		if (!hit)
			return false;
	}
	if (n_cgroups) {
		bool hit = false;

		for (int i = 0; i < TCP_FILTER_MAX; i++) {
			if (i < n_cgroups && cgroups[i] == key->cgroup_id)
				hit = true;
		}
		if (!hit)
			return false;
	}
	return true;
}

static __always_inline struct tcp_flow_value *flow_entry(void *map, const struct tcp_flow_key *key)
{
	struct tcp_flow_value *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	struct tcp_flow_value zero = {};
	long err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);

	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/*
 * A client picks a new port for every connection: keyed by it, every connection would be an entry
 * (and a series) of its own. So the client's port is zeroed (user space then leaves it out):
 *  - the local port is a listener of this namespace: we are the server, the peer's port goes;
 *  - else a local port in the ephemeral range: we are a client, ours goes;
 *  - else a peer port in the ephemeral range: the peer is the client, its port goes.
 * Idempotent (a zeroed key stays as it is).
 */
static __always_inline void fold_ephemeral(struct tcp_flow_key *key, __u32 netns)
{
	if (!ephemeral_hi || !key->lport || !key->rport)
		return;
	struct tcp_listener_key lk = { .netns = netns, .port = key->lport };

	if (netns && bpf_map_lookup_elem(&listeners, &lk))
		key->rport = 0;
	else if (key->lport >= ephemeral_lo && key->lport <= ephemeral_hi)
		key->lport = 0;
	else if (key->rport >= ephemeral_lo && key->rport <= ephemeral_hi)
		key->rport = 0;
}

/* Adds an event to the key's entry (its client port folded first; netns 0: unknown). */
static __always_inline void flow_add(struct tcp_flow_key *key, __u32 netns, __u64 count, __u64 sent,
				     __u64 received, __u64 retrans)
{
	fold_ephemeral(key, netns);
	__u32 side = bpfcol_enter_side();
	struct tcp_flow_value *v = side ? flow_entry(&flows_b, key) : flow_entry(&flows_a, key);

	if (!v) {
		bpfcol_leave_side(side);
		bpfcol_count(&flows_full, 1);
		return;
	}
	__sync_fetch_and_add(&v->count, count);
	if (sent)
		__sync_fetch_and_add(&v->bytes_sent, sent);
	if (received)
		__sync_fetch_and_add(&v->bytes_received, received);
	if (retrans)
		__sync_fetch_and_add(&v->retrans_segs, retrans);
	bpfcol_leave_side(side);
}

static __always_inline struct tcp_rtt_value *rtt_entry(void *map, const struct tcp_flow_key *key)
{
	struct tcp_rtt_value *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* 272 bytes: too big for comfort on the stack next to the rest, so copy a zeroed entry in. */
	static const struct tcp_rtt_value zero = {};
	long err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);

	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/* Bucket i holds r with 2^(i-1) < r <= 2^i (microseconds); bucket 0 holds r <= 1. */
static __always_inline __u32 rtt_bucket(__u64 r)
{
	if (r <= 1)
		return 0;
	__u64 v = r - 1;
	__u32 log = 0;

	if (v >> 32) { v >>= 32; log += 32; }
	if (v >> 16) { v >>= 16; log += 16; }
	if (v >> 8) { v >>= 8; log += 8; }
	if (v >> 4) { v >>= 4; log += 4; }
	if (v >> 2) { v >>= 2; log += 2; }
	if (v >> 1) { log += 1; }
	log += 1;
	return log < TCP_RTT_BUCKETS ? log : TCP_RTT_BUCKETS - 1;
}

static __always_inline void rtt_add(struct tcp_flow_key *key, __u32 netns, __u64 rtt_us)
{
	fold_ephemeral(key, netns);
	__u32 side = bpfcol_enter_side();
	struct tcp_rtt_value *v = side ? rtt_entry(&rtt_b, key) : rtt_entry(&rtt_a, key);

	if (!v) {
		bpfcol_leave_side(side);
		bpfcol_count(&rtt_full, 1);
		return;
	}
	__u32 b = rtt_bucket(rtt_us);

	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->sum_us, rtt_us);
	if (b < TCP_RTT_BUCKETS)
		__sync_fetch_and_add(&v->buckets[b], 1);
	bpfcol_leave_side(side);
}

/* Addresses from the socket's own view (local first). False when the family is not IP. */
static __always_inline bool key_from_sock(const struct sock *sk, struct tcp_flow_key *key)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		key->family = 4;
		BPF_CORE_READ_INTO((__u32 *)key->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)key->raddr, sk, __sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		key->family = 6;
		BPF_CORE_READ_INTO(&key->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&key->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return false;
	}
	key->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	/* An accepted socket gives its port back (inet_put_port zeroes skc_num) just before its move
	 * to CLOSE: its source port is still in inet_sport (full sockets only). */
	if (!key->lport && is_full_sock(BPF_CORE_READ(sk, __sk_common.skc_state)))
		key->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	key->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return true;
}

/*
 * Addresses from the packet itself (skb head + network header). A packet being received
 * (skb_iif set) has the local side as destination; one being sent as source.
 * Returns 1 for a TCP packet, 0 for another protocol, -1 when the headers cannot be read.
 */
static __always_inline int key_from_skb(struct sk_buff *skb, __u16 ethertype, struct tcp_flow_key *key)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	bool received = BPF_CORE_READ(skb, skb_iif) != 0;
	__u8 *src, *dst;
	__u8 ip[40];
	__u16 th_off;
	__u16 tports[2];

	if (!head || nh == (__u16)~0U)
		return -1;
	if (ethertype == ETH_P_IP) {
		if (bpf_probe_read_kernel(ip, 20, head + nh))
			return -1;
		if ((ip[0] >> 4) != 4)
			return -1;
		if (ip[9] != IPPROTO_TCP)
			return 0;
		key->family = 4;
		src = &ip[12];
		dst = &ip[16];
		__builtin_memcpy(received ? key->raddr : key->laddr, src, 4);
		__builtin_memcpy(received ? key->laddr : key->raddr, dst, 4);
		if (((ip[6] & 0x1f) << 8 | ip[7]) != 0) /* a later fragment: no TCP header */
			return 1;
		th_off = nh + (ip[0] & 0x0f) * 4;
	} else if (ethertype == ETH_P_IPV6) {
		if (bpf_probe_read_kernel(ip, 40, head + nh))
			return -1;
		if ((ip[0] >> 4) != 6)
			return -1;
		if (ip[6] != IPPROTO_TCP) /* extension headers are not followed */
			return 0;
		key->family = 6;
		src = &ip[8];
		dst = &ip[24];
		__builtin_memcpy(received ? key->raddr : key->laddr, src, 16);
		__builtin_memcpy(received ? key->laddr : key->raddr, dst, 16);
		th_off = nh + 40;
	} else {
		return -1;
	}
	if (bpf_probe_read_kernel(tports, sizeof(tports), head + th_off))
		return 1;
	key->lport = bpf_ntohs(received ? tports[1] : tports[0]);
	key->rport = bpf_ntohs(received ? tports[0] : tports[1]);
	return 1;
}

static __always_inline void log_drop(const struct tcp_flow_key *key, __u32 netns, __u8 state,
				     __u64 location)
{
	__u32 zero = 0;
	struct log_window *w = bpf_map_lookup_elem(&log_rate, &zero);
	__u64 now = bpf_ktime_get_ns();
	__u64 second = now / 1000000000ULL;

	if (!w)
		return;
	/* A new second resets the window; racing CPUs may each reset it once, which lets a few more
	 * records through at the boundary, never fewer. */
	if (w->second != second) {
		w->second = second;
		w->sent = 0;
	}
	if (__sync_fetch_and_add(&w->sent, 1) >= log_max_per_second) {
		bpfcol_count(&drop_log_ratelimited, 1);
		return;
	}
	struct tcp_drop_event *e = bpfcol_ringbuf_reserve(&drop_log, &drop_log_lost, sizeof(*e));

	if (!e)
		return;
	e->time_ns = now;
	e->key = *key;
	e->netns = netns;
	e->state = state;
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	e->location = location;
	bpf_ringbuf_submit(e, 0);
}

/*
 * Raw tracepoints, not the tracefs kind: the kernel runs a tracefs tracepoint's program only when
 * no other BPF program is running on that CPU (trace_call_bpf's bpf_prog_active), so a drop or a
 * retransmit in a softirq that interrupted any BPF program (this object's own sock_send_length,
 * say) is silently skipped. A raw tracepoint only refuses to nest a program in itself. Arguments
 * are the tracepoint's TP_PROTO, in order; fields the tracefs record computed are read from the
 * socket or the packet here. Optional trailing arguments are read only when the kernel's record
 * type has the field that came with them (CO-RE), through bpf_probe_read_kernel so the verifier
 * does not count them against the tracepoint's number of arguments at attach.
 */
#define RAW_ARG(ctx, i) ((ctx)->args[i])

static __always_inline __u64 raw_arg_opt(struct bpf_raw_tracepoint_args *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx->args[i]);
	return v;
}

/* ---- skb:kfree_skb(skb, location, reason, rx_sk) ------------------------------------------- */
SEC("raw_tracepoint/kfree_skb")
int on_kfree_skb(struct bpf_raw_tracepoint_args *ctx)
{
	if (!(kinds & TCP_KIND_BIT(TCP_EV_DROP)))
		return 0;
	__u32 reason = (__u32)RAW_ARG(ctx, 2);

	if (reason == 0) /* SKB_NOT_DROPPED_YET */
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;

	struct sk_buff *skb = (struct sk_buff *)RAW_ARG(ctx, 0);
	__u64 location = RAW_ARG(ctx, 1);
	struct sock *sk = NULL;
	__u8 state = 0;
	__u32 netns = 0;

	if (bpf_core_field_exists(struct trace_event_raw_kfree_skb, rx_sk))
		sk = (struct sock *)raw_arg_opt(ctx, 3);
	if (!sk)
		sk = BPF_CORE_READ(skb, sk);

	struct tcp_flow_key key;

	__builtin_memset(&key, 0, sizeof(key));
	int pkt = key_from_skb(skb, bpf_ntohs(BPF_CORE_READ(skb, protocol)), &key);

	if (sk) {
		__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

		if (family != AF_INET && family != AF_INET6)
			return 0;
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (is_full_sock(state)) {
			if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
			    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
				return 0;
		}
		/* mini sockets (request, timewait) exist for TCP only */
		if (pkt < 0 && !key_from_sock(sk, &key))
			return 0;
		netns = sk_netns(sk);
	} else {
		if (pkt != 1)
			return 0; /* no socket and no TCP header: not ours to count */
		netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	}
	if (pkt == 0)
		return 0; /* the packet says it is not TCP */

	key.kind = TCP_EV_DROP;
	key.reason = reason;
	resolve_owner(sk, key.lport, netns, &key);
	if (!filters_pass(&key))
		return 0;
	if (log_drops) /* before flow_add folds the ports: records keep both */
		log_drop(&key, netns, state, location);
	flow_add(&key, netns, 1, 0, 0, 0);
	return 0;
}

/* ---- tcp:tcp_retransmit_skb(sk, skb[, err]) / tcp_retransmit_synack(sk, req) ----------------- */
SEC("raw_tracepoint/tcp_retransmit_skb")
int on_retransmit_skb(struct bpf_raw_tracepoint_args *ctx)
{
	if (!(kinds & TCP_KIND_BIT(TCP_EV_RETRANSMIT)))
		return 0;
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0);
	const struct sk_buff *skb = (const struct sk_buff *)RAW_ARG(ctx, 1);
	struct tcp_flow_key key;
	__u16 segs = 1;

	__builtin_memset(&key, 0, sizeof(key));
	if (!sk || !key_from_sock(sk, &key))
		return 0;
	/* The kernel counts TcpRetransSegs in segments: tcp_skb_pcount() = TCP_SKB_CB(skb)->tcp_gso_segs. */
	if (skb) {
		struct tcp_skb_cb *cb = (struct tcp_skb_cb *)&((struct sk_buff *)skb)->cb[0];

		segs = BPF_CORE_READ(cb, tcp_gso_segs);
		if (segs == 0)
			segs = 1;
	}
	key.kind = TCP_EV_RETRANSMIT;
	__u32 netns = sk_netns(sk);

	resolve_owner(sk, key.lport, netns, &key);
	if (!filters_pass(&key))
		return 0;
	flow_add(&key, netns, segs, 0, 0, 0);
	return 0;
}

SEC("raw_tracepoint/tcp_retransmit_synack")
int on_retransmit_synack(struct bpf_raw_tracepoint_args *ctx)
{
	if (!(kinds & TCP_KIND_BIT(TCP_EV_RETRANSMIT)))
		return 0;
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0); /* the listener */
	/* A request sock begins with a sock_common holding the connection's addresses and ports. */
	const struct sock *req = (const struct sock *)RAW_ARG(ctx, 1);
	struct tcp_flow_key key;

	__builtin_memset(&key, 0, sizeof(key));
	if (!req || !key_from_sock(req, &key))
		return 0;
	key.kind = TCP_EV_RETRANSMIT;
	__u32 netns = sk ? sk_netns(sk) : 0;

	resolve_owner(sk, key.lport, netns, &key);
	if (!filters_pass(&key))
		return 0;
	flow_add(&key, netns, 1, 0, 0, 0);
	return 0;
}

/* ---- tcp:tcp_send_reset(sk, skb[, reason]) / tcp_receive_reset(sk) --------------------------- */
SEC("raw_tracepoint/tcp_send_reset")
int on_send_reset(struct bpf_raw_tracepoint_args *ctx)
{
	if (!(kinds & TCP_KIND_BIT(TCP_EV_RESET_SENT)))
		return 0;
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0);
	struct sk_buff *skb = (struct sk_buff *)RAW_ARG(ctx, 1);
	struct tcp_flow_key key;
	__u32 netns = 0;

	__builtin_memset(&key, 0, sizeof(key));
	/* The sender of the reset is the local side: the socket's own view, or, with no socket, the
	 * packet being answered (received: its destination is local). */
	if (sk) {
		if (!key_from_sock(sk, &key))
			return 0;
		netns = sk_netns(sk);
	} else if (skb) {
		if (key_from_skb(skb, bpf_ntohs(BPF_CORE_READ(skb, protocol)), &key) != 1)
			return 0;
		netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	} else {
		return 0;
	}
	if (bpf_core_field_exists(struct trace_event_raw_tcp_send_reset, reason))
		key.reason = (__u32)raw_arg_opt(ctx, 2);
	key.kind = TCP_EV_RESET_SENT;
	resolve_owner(sk, key.lport, netns, &key);
	if (!filters_pass(&key))
		return 0;
	flow_add(&key, netns, 1, 0, 0, 0);
	return 0;
}

SEC("raw_tracepoint/tcp_receive_reset")
int on_receive_reset(struct bpf_raw_tracepoint_args *ctx)
{
	if (!(kinds & TCP_KIND_BIT(TCP_EV_RESET_RECEIVED)))
		return 0;
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0);
	struct tcp_flow_key key;

	__builtin_memset(&key, 0, sizeof(key));
	if (!sk || !key_from_sock(sk, &key))
		return 0;
	key.kind = TCP_EV_RESET_RECEIVED;
	__u32 netns = sk_netns(sk);

	resolve_owner(sk, key.lport, netns, &key);
	if (!filters_pass(&key))
		return 0;
	flow_add(&key, netns, 1, 0, 0, 0);
	return 0;
}

/* ---- sock:inet_sock_set_state(sk, oldstate, newstate): owners, connections opened and closed */
SEC("raw_tracepoint/inet_sock_set_state")
int on_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0);
	int old = (int)RAW_ARG(ctx, 1), new = (int)RAW_ARG(ctx, 2);

	/* Ten transitions per connection, four of them of no interest: leave those at once. */
	if (new != TCP_SYN_SENT && new != TCP_LISTEN && new != TCP_ESTABLISHED && new != TCP_CLOSE &&
	    !(old == TCP_LISTEN && new == TCP_SYN_RECV))
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;

	struct tcp_flow_key key;

	__builtin_memset(&key, 0, sizeof(key));
	if (!key_from_sock(sk, &key))
		return 0;
	__u16 sport = key.lport;
	__u64 skk = (__u64)sk;
	__u32 netns = sk_netns(sk);

	/* Owners first: they are needed whatever kinds are enabled. */
	if (new == TCP_SYN_SENT) { /* connect(): process context */
		remember_owner(sk);
	} else if (new == TCP_LISTEN) { /* listen(): process context */
		struct tcp_listener_key lk = { .netns = netns, .port = sport };
		struct tcp_listener l = { .sk = skk };

		current_owner(&l.owner);
		remember_owner(sk);
		bpfcol_map_update_counted(&listeners, &lk, &l, BPF_ANY, &owners_full);
	} else if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* a passive child is born in softirq: its listener's owner until a send says otherwise */
		struct tcp_listener_key lk = { .netns = netns, .port = sport };
		struct tcp_listener *l = bpf_map_lookup_elem(&listeners, &lk);

		if (l)
			bpfcol_map_update_counted(&owners, &skk, &l->owner, BPF_ANY, &owners_full);
	}

	if (new == TCP_ESTABLISHED && (kinds & TCP_KIND_BIT(TCP_EV_OPENED))) {
		key.kind = TCP_EV_OPENED;
		resolve_owner(sk, key.lport, netns, &key);
		if (filters_pass(&key))
			flow_add(&key, netns, 1, 0, 0, 0);
	} else if (new == TCP_CLOSE) {
		if (old == TCP_SYN_SENT && (kinds & TCP_KIND_BIT(TCP_EV_CONNECT_FAILED))) {
			key.kind = TCP_EV_CONNECT_FAILED;
			resolve_owner(sk, key.lport, netns, &key);
			if (filters_pass(&key))
				flow_add(&key, netns, 1, 0, 0, 0);
		} else if (old != TCP_SYN_SENT && old != TCP_SYN_RECV && old != TCP_LISTEN &&
			   old != TCP_CLOSE && (kinds & TCP_KIND_BIT(TCP_EV_CLOSED))) {
			const struct tcp_sock *tp = (const struct tcp_sock *)sk;

			key.kind = TCP_EV_CLOSED;
			resolve_owner(sk, key.lport, netns, &key);
			if (filters_pass(&key)) {
				__u64 acked = BPF_CORE_READ(tp, bytes_acked);
				__u64 received = BPF_CORE_READ(tp, bytes_received);
				__u32 retrans = BPF_CORE_READ(tp, total_retrans);
				__u32 srtt = BPF_CORE_READ(tp, srtt_us) >> 3; /* kept as 8 * smoothed RTT */

				flow_add(&key, netns, 1, acked, received, retrans);
				if (srtt)
					rtt_add(&key, netns, srtt);
			}
		}
		if (old == TCP_LISTEN) {
			struct tcp_listener_key lk = { .netns = netns, .port = sport };
			struct tcp_listener *l = bpf_map_lookup_elem(&listeners, &lk);

			if (l && (l->sk == skk || l->sk == 0))
				bpf_map_delete_elem(&listeners, &lk);
		}
		bpf_map_delete_elem(&owners, &skk);
	}
	return 0;
}

/* ---- send path: owners in process context ------------------------------------------------ */
/*
 * No syscall tracepoints (accept4 and the like): enabling any of them puts every syscall of every
 * process on the kernel's slow path. A socket accepted by another process than the listener's
 * owner (a pre-forked worker) gets its owner on its first send instead.
 */
/* Also sockets that existed before bpfcol started get their owner on their next send (Linux 6.3+).
 * sock:sock_send_length(sk, ret, flags). */
SEC("raw_tracepoint/sock_send_length")
int on_send_length(struct bpf_raw_tracepoint_args *ctx)
{
	const struct sock *sk = (const struct sock *)RAW_ARG(ctx, 0);

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	__u64 k = (__u64)sk;
	struct tcp_owner *o = bpf_map_lookup_elem(&owners, &k);

	if (o && o->pid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE)
		return 0;
	remember_owner(sk);
	return 0;
}
