/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Layouts shared by bpf/tcp_drop.bpf.c and receivers/tcp_drop/layout.ts. Every struct is
 * laid out by hand with explicit padding, so the TypeScript side decodes it at fixed offsets;
 * a change here is a change there (the receiver's tests compare both with the object's BTF).
 */
#ifndef BPFCOL_TCP_DROP_H
#define BPFCOL_TCP_DROP_H

/* What a flow-map entry counts (struct tcp_flow_key.kind). */
#define TCP_EV_DROP 1             /* skb:kfree_skb of a TCP packet, reason in key.reason */
#define TCP_EV_RETRANSMIT 2       /* tcp:tcp_retransmit_skb / tcp_retransmit_synack, count = segments */
#define TCP_EV_RESET_SENT 3       /* tcp:tcp_send_reset, key.reason = enum sk_rst_reason */
#define TCP_EV_RESET_RECEIVED 4   /* tcp:tcp_receive_reset */
#define TCP_EV_OPENED 5           /* -> ESTABLISHED */
#define TCP_EV_CLOSED 6           /* established connection -> CLOSE, with bytes and retransmits */
#define TCP_EV_CONNECT_FAILED 7   /* SYN_SENT -> CLOSE (refused, timed out, aborted) */

/* Bits of the `kinds` config: 1 << TCP_EV_* enables that kind. */
#define TCP_KIND_BIT(k) (1u << (k))

/* Bounds of the in-kernel filters (const volatile arrays). */
#define TCP_FILTER_MAX 16

/* Bytes of an executable name kept (with its terminating NUL). */
#define TCP_EXE_LEN 32

/* RTT histogram: bucket i counts RTTs r (microseconds) with 2^(i-1) < r <= 2^i; bucket 0 is r <= 1. */
#define TCP_RTT_BUCKETS 32

/*
 * One series: who (pid, cgroup), between which endpoints, what (kind, reason).
 * Addresses are in network byte order; IPv4 uses the first 4 bytes. Ports in host order.
 */
struct tcp_flow_key {
	__u64 cgroup_id;   /* cgroup v2 id of the owning process (0: unknown) */
	__u8 laddr[16];    /* local address */
	__u8 raddr[16];    /* remote (peer) address */
	__u32 pid;         /* owning process (tgid), 0: unknown */
	__u16 lport;
	__u16 rport;
	__u16 reason;      /* TCP_EV_DROP: enum skb_drop_reason; TCP_EV_RESET_SENT: enum sk_rst_reason */
	__u8 family;       /* 4 or 6 */
	__u8 kind;         /* TCP_EV_* */
	__u32 _pad;
	char exe[TCP_EXE_LEN];      /* the owner's executable (base name, truncated), "" when unknown */
};                         /* 88 bytes */

struct tcp_flow_value {
	__u64 count;           /* events (segments for retransmits) */
	__u64 bytes_sent;      /* TCP_EV_CLOSED: tcp_sock.bytes_acked summed */
	__u64 bytes_received;  /* TCP_EV_CLOSED: tcp_sock.bytes_received summed */
	__u64 retrans_segs;    /* TCP_EV_CLOSED: tcp_sock.total_retrans summed */
};                             /* 32 bytes */

/* RTT of closed connections, keyed by a tcp_flow_key with kind TCP_EV_CLOSED. */
struct tcp_rtt_value {
	__u64 count;
	__u64 sum_us;
	__u64 buckets[TCP_RTT_BUCKETS];
};                             /* 272 bytes */

/* Owner of a socket, remembered in process context (connect, listen, send). */
struct tcp_owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 _pad;
	char exe[TCP_EXE_LEN];      /* base name of the executable (mm->exe_file), else the main thread's comm:
			    * short-lived processes are gone from /proc by the time user space reads */
};

/* Listening sockets by (network namespace, port): the owner of connections accepted on them. */
struct tcp_listener_key {
	__u32 netns;       /* network namespace inode number */
	__u16 port;
	__u16 _pad;
};

struct tcp_listener {
	struct tcp_owner owner;
	__u64 sk;          /* the listening socket; 0 when user space found it in /proc at start */
};

/* One record per drop on the logs ring buffer (logs.enabled). */
struct tcp_drop_event {
	__u64 time_ns;         /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	struct tcp_flow_key key;
	__u32 netns;           /* network namespace inode number, 0: unknown */
	__u8 state;            /* socket state (TCP_*), 0: no socket */
	__u8 _pad[3];
	__u64 location;        /* kernel address that dropped the packet */
};                             /* 112 bytes */

/* Loss counters (BPFCOL_COUNTER maps, read by user space and exported as bpfcol's own metrics):
 * flows_full, rtt_full, owners_full, drop_log_ratelimited, and drop_log_lost (ring full). */

#endif /* BPFCOL_TCP_DROP_H */
