/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * socket_trace: the payloads of the TCP and Unix stream connections processes read and write,
 * for the receiver's protocol parsers (HTTP/1, PostgreSQL, MySQL, Redis, HTTP/2, Kafka, DNS). Raw syscall
 * tracepoints only: one program on raw_syscalls:sys_enter, one on sys_exit, dispatching on the
 * syscall id (bench/socket_trace-hooks.ts measured this at about half the cost per socket
 * syscall of the per-syscall tracepoints, which build a perf record before each program runs).
 *
 * Connections are tracked by (tgid, fd). An entry is made at accept()/connect() exit, or, for an
 * fd first met in a read or write (connections older than the programs, a socket accepted by a
 * parent before fork(), as PostgreSQL does), by resolving the fd to its socket once; fds that
 * are no stream socket get an entry too (protocol NONE), so they cost one lookup from then on.
 * Every entry gets a new id, so a reused fd never continues another connection's stream.
 *
 * The first bytes of a connection decide (a small sniff per enabled protocol) whether anything is
 * sent: a connection matching no protocol within a few payloads is never reported. Matching ones
 * send an open record, then per syscall a capped prefix of the payload (and its last bytes when
 * truncated), with the stream position so user space sees records the full ring dropped. With
 * spans.sampling_ratio below 1, HTTP/1.x server requests not sampled are measured here instead
 * and never sent (socket_trace_http1.h).
 *
 * Syscall arguments are read at exit from the task's saved user registers (the kernel leaves
 * them as the process passed them); only the entry time of writes is kept from sys_enter.
 *
 * DNS over UDP (when enabled): UDP sockets get an entry too, untraced for the stream path
 * (protocol NONE: the only check its cost sees) and followed by the datagram path while flagged
 * ST_CONN_DGRAM (ST_CONN_DNS once recognised). Each datagram is a
 * whole message: it is sent when its own peer (msg_name / the sockaddr argument, or the connected
 * socket's peer) or the socket's local port is one of dns_ports, as one record with the peer
 * after the payload (ST_DATA_PEER). sendmmsg/recvmmsg send one record per message.
 */
#include "common.h"
#include "ringbuf.h"
#include "socket_trace.h"
#include <bpf/bpf_endian.h>

BPFCOL_LICENSE;

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_UDP 17
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MSG_PEEK 2
#define EINPROGRESS 115

/* x86-64 syscall numbers. */
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_splice 275
#define NR_accept4 288
#define NR_recvmmsg 299
#define NR_sendmmsg 307

/* Payloads looked at before a connection is given up as matching no protocol. */
#define ST_SNIFF_TRIES 4
/* iovecs of one readv/writev/recvmsg/sendmsg captured. */
#define ST_IOV_MAX 16
/* Messages of one sendmmsg/recvmmsg captured (the rest counted in mmsg_uncaptured). */
#define ST_MMSG_MAX 16
/* struct mmsghdr: a struct user_msghdr (56 bytes), then unsigned int msg_len, padded to 64. */
#define MMSGHDR_SIZE 64
#define MMSGHDR_LEN_OFF 56

/* ---- configuration (set by user space before load) ---------------------------------------- */
const volatile __u32 self_tgid = 0;         /* bpfcol itself: never traced */
const volatile __u32 protocols = 0;         /* ST_PROTO_BIT(ST_PROTO_*) */
const volatile __u32 capture_bytes = 4096;  /* head captured per syscall, <= ST_CAPTURE_MAX */
const volatile __u32 filter_pids = 0;       /* 1: only tgids in pid_filter */
const volatile __u32 n_ports = 0;           /* keep connections with a local or peer port listed */
const volatile __u16 ports[ST_FILTER_MAX] = {};
const volatile __u32 n_exes = 0;            /* keep processes whose executable's base name is listed */
const volatile char exes[ST_FILTER_MAX][ST_EXE_LEN] = {};
const volatile __u64 wakeup_bytes = 65536;  /* wake user space up once the ring holds this much */
const volatile __u32 tls_enabled = 0;       /* 1: TLS connections are followed through the TLS probes (socket_trace_tls.h) */
const volatile __u32 n_dns_ports = 1;       /* DNS (ST_PROTO_DNS enabled): UDP datagrams to or from these ports */
const volatile __u16 dns_ports[ST_FILTER_MAX] = { 53 };

/* ---- maps ---------------------------------------------------------------------------------- */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_conn_key);
	__type(value, struct st_conn);
} conns SEC(".maps");

/* Sockets seen at accept()/connect(), by inode number: the role of a socket whose fd reaches a
 * read or write in another process (a child after fork()). Not by struct sock address: a freed
 * socket's memory is soon another socket's, which would inherit its role (a resolver's connected
 * UDP socket made the next DNS server at that address a "client", whose queries then never
 * matched its role). Socket inode numbers are not reused while the counter does not wrap. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} sock_roles SEC(".maps");

/* filter_pids: the tgids to trace (user space fills it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_FILTER_MAX);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

/* n_exes: whether a process's executable is listed, decided once per process image (an exec
 * gives the process a new mm, and the decision is made again: a forked child may look before it
 * execs). */
struct proc_verdict {
	__u64 mm;
	__u8 wanted;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct proc_verdict);
} procs SEC(".maps");

/* Entry time of the write-family syscall the thread is in. */
struct write_entry {
	__u64 ts;
	__s64 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct write_entry);
} write_entries SEC(".maps");

/* Where a data record is put together before it is copied into the ring at its real size. */
struct data_scratch {
	struct st_data_event hdr;
	/* head (<= ST_CAPTURE_MAX) then tail (<= ST_TAIL_MAX); sized for the masks the verifier sees */
	__u8 data[2 * ST_CAPTURE_MAX + 2 * ST_TAIL_MAX];
	/* for h2_data: how the syscall handed over its bytes (after the record: never sent) */
	__u64 ptr;
	__u64 count;
	__u32 via;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_scratch);
} scratch SEC(".maps");

BPFCOL_RINGBUF(events, 1 << 23);
BPFCOL_COUNTER(conns_full);          /* connections not tracked: conns map full */
BPFCOL_COUNTER(truncated);           /* payloads longer than capture_bytes (sent cut) */
BPFCOL_COUNTER(ignored_conns);       /* connections that matched no enabled protocol (given up, or closed unmatched) */
BPFCOL_COUNTER(mmsg_uncaptured);     /* messages of a sendmmsg/recvmmsg beyond ST_MMSG_MAX: not recorded */

BPFCOL_BTF_STRUCT(st_open_event);
BPFCOL_BTF_STRUCT(st_data_event);
BPFCOL_BTF_STRUCT(st_close_event);
BPFCOL_BTF_STRUCT(st_conn);
BPFCOL_BTF_STRUCT(st_conn_key);
BPFCOL_BTF_STRUCT(st_peer);

static __u64 next_conn_id = 0;

/* ---- processes ----------------------------------------------------------------------------- */
/*
 * Which program a process runs: its start time, plus its exec count above bit 52 (52 days of
 * start times in ns below). An exec closes the close-on-exec fds without any close(): entries
 * (tgid, fd) of the program before must not match the new program's sockets that reuse those fds
 * (`ip netns exec dnsmasq`: ip's netlink socket entry, untraced, on dnsmasq's UDP socket's fd).
 * User space only compares the value (the process cache is keyed by it).
 */
static __always_inline __u64 process_start(void)
{
	struct task_struct *leader = bpf_get_current_task_btf()->group_leader;

	return leader->start_time + ((__u64)leader->self_exec_id << 52);
}

static __always_inline bool name_listed(const char *name)
{
	for (__u32 i = 0; i < ST_FILTER_MAX; i++) {
		if (i >= n_exes)
			break;
		bool same = true;
		for (__u32 j = 0; j < ST_EXE_LEN; j++) {
			if (name[j] != exes[i][j]) {
				same = false;
				break;
			}
			if (name[j] == 0)
				break;
		}
		if (same)
			return true;
	}
	return false;
}

/* The executable's base name, or the name it was started as (comm: redis-server is a symlink). */
static __always_inline bool exe_listed(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const unsigned char *name = BPF_CORE_READ(t, mm, exe_file, f_path.dentry, d_name.name);
	char exe[ST_EXE_LEN] = {};

	if (name && bpf_probe_read_kernel_str(exe, sizeof(exe), name) > 0 && name_listed(exe))
		return true;
	__builtin_memset(exe, 0, sizeof(exe));
	BPF_CORE_READ_STR_INTO(&exe, t, group_leader, comm);
	return name_listed(exe);
}

/* Whether the current process is traced at all: the first check after the syscall id. */
static __always_inline bool process_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_pids && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return false;
	if (n_exes) {
		struct task_struct *t = bpf_get_current_task_btf();
		__u64 mm = (__u64)t->mm;
		struct proc_verdict *v = bpf_map_lookup_elem(&procs, &tgid);

		if (v && v->mm == mm)
			return v->wanted;
		struct proc_verdict nv = { .mm = mm, .wanted = exe_listed() };

		bpf_map_update_elem(&procs, &tgid, &nv, BPF_ANY); /* LRU: a miss only costs a recheck */
		return nv.wanted;
	}
	return true;
}

/* ---- sockets ------------------------------------------------------------------------------- */
static __always_inline struct file *fd_file(__u32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **files;
	struct file *f = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	files = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &files[fd]))
		return NULL;
	return f;
}

/* The struct sock of a TCP (v4/v6) or Unix stream socket fd, or (DNS enabled) of a UDP socket
 * (*dgram set), or NULL. */
static __always_inline struct sock *traced_sock(__u32 fd, __u8 *family, bool *dgram, __u64 *ino)
{
	struct file *f = fd_file(fd);
	struct socket *sock;
	struct sock *sk;

	if (!f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	*ino = BPF_CORE_READ(f, f_inode, i_ino);
	sock = (struct socket *)BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	short type = BPF_CORE_READ(sock, type);

	if (type != SOCK_STREAM && (type != SOCK_DGRAM || !(protocols & ST_PROTO_BIT(ST_PROTO_DNS))))
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (type == SOCK_DGRAM) {
		if ((*family != AF_INET && *family != AF_INET6) || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
			return NULL;
		*dgram = true;
		return sk;
	}
	if (*family != AF_INET && *family != AF_INET6 && *family != AF_UNIX)
		return NULL;
	return sk;
}

static __always_inline void read_addresses(struct st_conn *c, struct sock *sk)
{
	if (c->family == AF_INET) {
		BPF_CORE_READ_INTO(&c->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&c->raddr, sk, __sk_common.skc_daddr);
	} else if (c->family == AF_INET6) {
		BPF_CORE_READ_INTO(&c->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&c->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	if (c->family != AF_UNIX) {
		c->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		c->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
}

static __always_inline bool port_listed(__u16 lport, __u16 rport)
{
	for (__u32 i = 0; i < ST_FILTER_MAX; i++) {
		if (i >= n_ports)
			break;
		if (ports[i] == lport || ports[i] == rport)
			return true;
	}
	return false;
}

/*
 * Makes the entry of (tgid, fd): a traced connection when fd is a stream socket passing the
 * filters, else an untraced one (protocol NONE) so the next syscall on fd stops at the lookup.
 * UDP sockets (DNS enabled) are filtered per datagram, by the datagram's own peer.
 */
static __noinline struct st_conn *track(struct st_conn_key *key, __u8 role, __u64 start)
{
	struct st_conn c = {};
	bool dgram = false;
	__u64 ino = 0;
	struct sock *sk = traced_sock(key->fd, &c.family, &dgram, &ino);

	c.start_time = start;
	c.ts = bpf_ktime_get_ns();
	c.protocol = ST_PROTO_NONE;
	if (sk) {
		__u64 skey = (__u64)sk;

		c.sk = skey;
		c.id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
		read_addresses(&c, sk);
		if (role == ST_ROLE_UNKNOWN) {
			__u8 *known = bpf_map_lookup_elem(&sock_roles, &ino);

			if (known)
				role = *known;
		} else {
			bpf_map_update_elem(&sock_roles, &ino, &role, BPF_ANY); /* LRU */
		}
		c.role = role;
		if (dgram) {
			c.flags = ST_CONN_DGRAM; /* protocol stays NONE: see on_dgram */
		} else if (!n_ports || (c.family != AF_UNIX && port_listed(c.lport, c.rport))) {
			c.protocol = ST_PROTO_UNKNOWN;
		}
	}
	if (bpfcol_map_update_counted(&conns, key, &c, BPF_ANY, &conns_full))
		return NULL;
	return bpf_map_lookup_elem(&conns, key);
}

/* ---- protocol sniffing: does a payload start a request or a response of an enabled protocol? */
#define SNIFF_REQUEST 1
#define SNIFF_RESPONSE 2

static __always_inline __u32 be32(const __u8 *b)
{
	return ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
}

static __always_inline bool is4(const __u8 *b, char c0, char c1, char c2, char c3)
{
	return b[0] == c0 && b[1] == c1 && b[2] == c2 && b[3] == c3;
}

static __always_inline int sniff_http(const __u8 *b, __u32 n)
{
	if (n < 5)
		return 0;
	if (is4(b, 'G', 'E', 'T', ' ') || is4(b, 'P', 'U', 'T', ' ') || (is4(b, 'P', 'O', 'S', 'T') && b[4] == ' ') ||
	    (is4(b, 'H', 'E', 'A', 'D') && b[4] == ' ') || is4(b, 'D', 'E', 'L', 'E') || is4(b, 'P', 'A', 'T', 'C') ||
	    is4(b, 'O', 'P', 'T', 'I') || is4(b, 'T', 'R', 'A', 'C'))
		return SNIFF_REQUEST;
	if (n >= 8 && is4(b, 'H', 'T', 'T', 'P') && b[4] == '/' && b[5] == '1' && b[6] == '.')
		return SNIFF_RESPONSE;
	return 0;
}

static __always_inline int sniff_postgres(const __u8 *b, __u32 n)
{
	if (n >= 8) {
		__u32 len = be32(b), code = be32(b + 4);

		/* StartupMessage (protocol 3.0), SSLRequest, GSSENCRequest, CancelRequest */
		if ((code == 0x00030000 && len >= 9 && len < 10000) ||
		    ((code == 80877103 || code == 80877104) && len == 8) || (code == 80877102 && len == 16))
			return SNIFF_REQUEST;
	}
	if (n >= 6) {
		__u32 len = be32(b + 1);

		/* Query, Parse (mid-stream): a plausible length and text */
		if ((b[0] == 'Q' || b[0] == 'P') && len >= 5 && len < (1 << 24) && b[5] >= 0x20 && b[5] < 0x7f)
			return SNIFF_REQUEST;
		/* AuthenticationRequest: the server's first message */
		if (b[0] == 'R' && len >= 8 && len < 2048 && n >= 9 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] <= 12)
			return SNIFF_RESPONSE;
	}
	return 0;
}

static __always_inline int sniff_mysql(const __u8 *b, __u32 n)
{
	if (n < 6)
		return 0;
	__u32 len = b[0] | ((__u32)b[1] << 8) | ((__u32)b[2] << 16);

	/* the server's greeting: protocol 10, then a version like "10.11.6-MariaDB" */
	if (b[3] == 0 && b[4] == 0x0a && b[5] >= '1' && b[5] <= '9' && len >= 40 && len < 1024)
		return SNIFF_RESPONSE;
	/* COM_QUERY, COM_STMT_PREPARE (mid-stream) */
	if (b[3] == 0 && (b[4] == 0x03 || b[4] == 0x16) && len >= 2 && b[5] >= 0x20 && b[5] < 0x7f)
		return SNIFF_REQUEST;
	return 0;
}

static __always_inline int sniff_redis(const __u8 *b, __u32 n)
{
	/* a command: an array of bulk strings, *<count>\r\n$<len>\r\n */
	if (n < 6 || b[0] != '*' || b[1] < '1' || b[1] > '9')
		return 0;
	if (b[2] == '\r' && b[3] == '\n' && b[4] == '$')
		return SNIFF_REQUEST;
	if (b[2] >= '0' && b[2] <= '9' && b[3] == '\r' && b[4] == '\n' && b[5] == '$')
		return SNIFF_REQUEST;
	return 0;
}

/* ---- Kafka: a request header (api key, api version, correlation id, client id) ---------------- */
#define KAFKA_MAX_REQUEST (100u << 20) /* a broker's socket.request.max.bytes default */
#define KAFKA_MAX_API_KEY 127          /* keys go to 92 in Kafka 4.1 */
#define KAFKA_MAX_API_VERSION 31       /* versions go to 18 */
#define KAFKA_MAX_CLIENT_ID 255

static __always_inline bool printable(__u8 c)
{
	return c >= 0x20 && c < 0x7f;
}

/* h: a request header (without its size); size: the frame's size when known, else 0. */
static __always_inline bool kafka_header(const __u8 *h, __u32 n, __u32 size, bool need_client_id)
{
	if (h[0] != 0 || h[1] > KAFKA_MAX_API_KEY || h[2] != 0 || h[3] > KAFKA_MAX_API_VERSION)
		return false;
	/* PostgreSQL's StartupMessage (protocol 3.0) would read as Metadata v0, which no current client sends */
	if (h[1] == 3 && h[3] == 0)
		return false;
	__u32 client_id = ((__u32)h[8] << 8) | h[9];

	if (client_id == 0xffff) /* null */
		return !need_client_id;
	if (client_id > KAFKA_MAX_CLIENT_ID || (size && 10 + client_id > size) || (need_client_id && client_id == 0))
		return false;
	/* the client id's first bytes are text */
	if (client_id >= 1 && n >= 11 && !printable(h[10]))
		return false;
	if (client_id >= 2 && n >= 12 && !printable(h[11]))
		return false;
	return true;
}

static __always_inline int sniff_kafka(const __u8 *b, __u32 n, __u64 position, __u8 role, __u8 dir)
{
	/* a whole request: clients write one (its size first) in a single write or writev */
	if (n >= 14) {
		__u32 size = be32(b);

		if (size >= 10 && size <= KAFKA_MAX_REQUEST && kafka_header(b + 4, n - 4, size, false))
			return SNIFF_REQUEST;
	}
	/* A Java broker reads a request's size (4 bytes) first and the rest in the next read: its
	 * first request's header at stream position 4, on an accepted connection. */
	if (position == 4 && dir == ST_INGRESS && role == ST_ROLE_SERVER && n >= 12 && kafka_header(b, n, 0, true))
		return SNIFF_REQUEST;
	return 0;
}

/*
 * HTTP/2: the client's connection preface (its first 16 bytes, "PRI * HTTP/2.0\r\n"), or, for a
 * connection met mid-stream, a frame header that can only be what it says: length <= 16384 (the
 * default SETTINGS_MAX_FRAME_SIZE), a known type with the lengths and stream ids RFC 9113 requires,
 * no flag outside the type's. A frame says nothing of who sent it except a HEADERS frame, whose
 * header block starts with pseudo-header fields (RFC 9113 8.3): a static-table reference to
 * :method/:scheme/:path/:authority (indexes 1-7) is a request, to :status (8-14) a response. Other
 * frames are taken only on connections whose role is known (accept()/connect() seen); a connection
 * of unknown role waits for such a HEADERS frame (or is given up after ST_SNIFF_TRIES payloads).
 */
static __always_inline int sniff_http2(const __u8 *b, __u32 n, __u8 role, __u8 dir)
{
	if (n >= 16 && is4(b, 'P', 'R', 'I', ' ') && is4(b + 4, '*', ' ', 'H', 'T') && is4(b + 8, 'T', 'P', '/', '2') &&
	    is4(b + 12, '.', '0', '\r', '\n'))
		return SNIFF_REQUEST;
	if (n < 9)
		return 0;
	__u32 len = ((__u32)b[0] << 16) | ((__u32)b[1] << 8) | b[2];
	__u8 type = b[3], flags = b[4];
	__u32 id = be32(b + 5);

	if (len > 16384 || (id & 0x80000000))
		return 0;
	/* a payload captured whole holds the frame whole (writers send frames whole: 9 bytes alone too) */
	if (n > 9 && n < capture_bytes && len + 9 > n)
		return 0;
	switch (type) {
	case 1: { /* HEADERS: END_STREAM, END_HEADERS, PADDED, PRIORITY */
		if (!id || (flags & ~0x2d) || n < 10)
			return 0;
		__u32 at = 9;

		if (flags & 0x08)
			at++;
		if (flags & 0x20)
			at += 5;
		if (at >= n || at >= 15)
			return 0;
		__u8 f = b[at & 15];

		if ((f & 0xe0) == 0x20) /* a table size update first: look no further */
			return 0;
		__u32 idx = (f & 0x80) ? (f & 0x7f) : (f & 0x40) ? (f & 0x3f) : (f & 0x0f);

		if (idx >= 1 && idx <= 7)
			return SNIFF_REQUEST;
		if (idx >= 8 && idx <= 14)
			return SNIFF_RESPONSE;
		break; /* a dynamic-table reference: says nothing of the sender */
	}
	case 0: /* DATA: END_STREAM, PADDED */
		if (!id || (flags & ~0x09))
			return 0;
		break;
	case 3: /* RST_STREAM */
		if (!id || flags || len != 4)
			return 0;
		break;
	case 4: /* SETTINGS (ACK: empty) */
		if (id || (flags & ~0x01) || len % 6 || ((flags & 1) && len))
			return 0;
		break;
	case 6: /* PING */
		if (id || (flags & ~0x01) || len != 8)
			return 0;
		break;
	case 8: /* WINDOW_UPDATE */
		if (flags || len != 4)
			return 0;
		break;
	default: /* PRIORITY, PUSH_PROMISE, GOAWAY, CONTINUATION: too rare or too telling to start on */
		return 0;
	}
	if (role == ST_ROLE_UNKNOWN)
		return 0;
	/* what the known role says this direction carries */
	return (role == ST_ROLE_CLIENT) == (dir == ST_EGRESS) ? SNIFF_REQUEST : SNIFF_RESPONSE;
}

/* Sets c->protocol (and c->role if unknown) when the payload's start matches. */
static __always_inline bool sniff(struct st_conn *c, const __u8 *data, __u32 n, __u8 dir, __u64 position)
{
	__u8 b[16];
	int kind = 0;
	__u8 proto = 0;

	__builtin_memcpy(b, data, sizeof(b)); /* data has room: only the first n are meaningful */
	if ((protocols & ST_PROTO_BIT(ST_PROTO_HTTP1)) && (kind = sniff_http(b, n)))
		proto = ST_PROTO_HTTP1;
	else if ((protocols & ST_PROTO_BIT(ST_PROTO_REDIS)) && (kind = sniff_redis(b, n)))
		proto = ST_PROTO_REDIS;
	else if ((protocols & ST_PROTO_BIT(ST_PROTO_POSTGRES)) && (kind = sniff_postgres(b, n)))
		proto = ST_PROTO_POSTGRES;
	else if ((protocols & ST_PROTO_BIT(ST_PROTO_MYSQL)) && (kind = sniff_mysql(b, n)))
		proto = ST_PROTO_MYSQL;
	else if ((protocols & ST_PROTO_BIT(ST_PROTO_KAFKA)) && (kind = sniff_kafka(b, n, position, c->role, dir)))
		proto = ST_PROTO_KAFKA;
	else if ((protocols & ST_PROTO_BIT(ST_PROTO_HTTP2)) && (kind = sniff_http2(b, n, c->role, dir)))
		proto = ST_PROTO_HTTP2;
	if (!proto)
		return false;
	/* requests flow from client to server: who sent this one tells the role when unknown */
	__u8 role = (kind == SNIFF_REQUEST) == (dir == ST_EGRESS) ? ST_ROLE_CLIENT : ST_ROLE_SERVER;

	if (c->role == ST_ROLE_UNKNOWN)
		c->role = role;
	else if (c->role != role)
		return false; /* a server sending something that looks like a request: not this protocol */
	c->protocol = proto;
	return true;
}

/* How a data syscall hands over its bytes. */
#define VIA_BUF 0     /* read/write/recvfrom/sendto: (fd, buf) */
#define VIA_IOV 1     /* readv/writev: (fd, iov, iovcnt) */
#define VIA_MSG 2     /* recvmsg/sendmsg: (fd, msghdr) */
#define VIA_NONE 3    /* sendfile/splice: bytes never in user memory */

/* ---- DNS over UDP ------------------------------------------------------------------------------ */
static __always_inline bool dns_port(__u16 port)
{
	for (__u32 i = 0; i < ST_FILTER_MAX; i++) {
		if (i >= n_dns_ports)
			break;
		if (dns_ports[i] == port)
			return true;
	}
	return false;
}

/*
 * The peer of one datagram into *peer: the address it was sent to or received from (name: a
 * user sockaddr, 0 for none), else the connected socket's peer. Whether it is wanted: a DNS port
 * at either end, and the ports filter passed.
 */
static __noinline bool dgram_peer(struct st_conn *c, __u64 name, __u32 via, __u64 ptr, struct st_peer *peer)
{
	__u8 sa[24] = {};

	__builtin_memset(peer, 0, sizeof(*peer));
	if (via == VIA_MSG) {
		struct user_msghdr msg;

		name = 0;
		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)ptr) == 0 && msg.msg_name && msg.msg_namelen >= 8)
			name = (__u64)msg.msg_name;
	}
	if (name && bpf_probe_read_user(sa, sizeof(sa), (const void *)name) == 0 && (sa[0] == AF_INET || sa[0] == AF_INET6) && sa[1] == 0) {
		peer->family = sa[0];
		peer->port = ((__u16)sa[2] << 8) | sa[3];
		if (sa[0] == AF_INET)
			__builtin_memcpy(peer->addr, sa + 4, 4);
		else
			__builtin_memcpy(peer->addr, sa + 8, 16);
	} else {
		peer->family = c->family;
		peer->port = c->rport;
		__builtin_memcpy(peer->addr, c->raddr, 16);
	}
	if (!dns_port(c->lport) && !dns_port(peer->port))
		return false;
	return !n_ports || port_listed(c->lport, peer->port);
}

/* Whether a datagram looks like a DNS message; sets the role (who sends queries) when unknown. */
static __always_inline bool sniff_dns(struct st_conn *c, const __u8 *data, __u32 n, __u8 dir)
{
	__u8 b[12];

	if (n < 12)
		return false;
	__builtin_memcpy(b, data, sizeof(b));
	__u8 opcode = (b[2] >> 3) & 0xf;
	__u16 qdcount = ((__u16)b[4] << 8) | b[5];
	bool response = b[2] & 0x80;

	/* QUERY, IQUERY, STATUS, NOTIFY, UPDATE; a question (responses to bad queries may have none) */
	if (opcode > 5 || opcode == 3 || qdcount > 16 || (!response && qdcount == 0))
		return false;
	__u8 role = response == (dir == ST_INGRESS) ? ST_ROLE_CLIENT : ST_ROLE_SERVER;

	if (c->role == ST_ROLE_UNKNOWN)
		c->role = role;
	else if (c->role != role)
		return false;
	c->flags |= ST_CONN_DNS;
	return true;
}

/* ---- records --------------------------------------------------------------------------------- */
static __always_inline __u64 ring_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void read_unix_path(struct st_open_event *e, struct sock *sk, __u8 role)
{
	struct unix_sock *u = (struct unix_sock *)sk;
	struct unix_address *addr = BPF_CORE_READ(u, addr);

	/* an accepted socket carries its listener's address; a client finds it on its peer */
	if (!addr || role == ST_ROLE_CLIENT) {
		struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(u, peer);

		if (peer)
			addr = BPF_CORE_READ(peer, addr);
	}
	if (!addr)
		return;
	__u32 len = BPF_CORE_READ(addr, len);

	if (len <= 2) /* sun_family alone: unnamed */
		return;
	len -= 2;
	if (len > 108) /* sizeof(sun_path) */
		len = 108;
	asm volatile("%0 &= 127" : "+r"(len)); /* a bound the verifier sees, whatever the compiler does */
	bpf_probe_read_kernel(e->path, len, &addr->name[0].sun_path);
}

static __noinline bool send_open(struct st_conn *c, struct st_conn_key *key, __u8 protocol)
{
	struct st_open_event *e = bpfcol_ringbuf_reserve(&events, &events_lost, sizeof(*e));

	if (!e)
		return false;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = ST_EV_OPEN;
	e->role = c->role;
	e->protocol = protocol;
	e->family = c->family;
	e->tgid = key->tgid;
	e->fd = key->fd;
	e->conn_id = c->id;
	e->ts = c->ts;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->start_time = c->start_time;
	e->lport = c->lport;
	e->rport = c->rport;
	__builtin_memcpy(e->laddr, c->laddr, 16);
	__builtin_memcpy(e->raddr, c->raddr, 16);
	struct task_struct *t = bpf_get_current_task_btf();

	BPF_CORE_READ_STR_INTO(&e->comm, t, group_leader, comm);
	if (c->family == AF_UNIX)
		read_unix_path(e, (struct sock *)c->sk, c->role);
	bpf_ringbuf_submit(e, ring_flags());
	return true;
}

/* Copies up to want bytes spread over iovecs into dst (which has 2 * ST_CAPTURE_MAX bytes). */
static __always_inline __u32 copy_iov(__u8 *dst, const struct iovec *iov, __u64 iovcnt, __u32 want)
{
	__u32 copied = 0;

	for (__u32 i = 0; i < ST_IOV_MAX; i++) {
		struct iovec v;

		if (i >= iovcnt || copied >= want || copied >= ST_CAPTURE_MAX)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		__u64 n = v.iov_len;
		__u32 at = copied;

		if (n > want - copied)
			n = want - copied;
		if (n > ST_CAPTURE_MAX)
			n = ST_CAPTURE_MAX;
		/* bounds the verifier sees whatever the compiler does: at < ST_CAPTURE_MAX here */
		asm volatile("%0 &= %1" : "+r"(at) : "i"(ST_CAPTURE_MAX - 1));
		if (n && bpf_probe_read_user(dst + at, n, v.iov_base))
			break;
		copied += n;
	}
	return copied;
}

/* One data syscall (BPF functions take at most 5 arguments: these travel in a struct). */
struct data_call {
	__u64 ptr;       /* buf, iov or msghdr */
	__u64 count;     /* iovcnt */
	__s64 ret;       /* bytes moved */
	__u64 ts_enter;  /* 0: unknown */
	__u32 fd;
	__u32 via;       /* VIA_* */
};

/* iovecs of one vectored call that HTTP/2 payloads are followed through (writers put each frame's
 * header and payload in iovecs of their own: Node writes 20 small frames as 40) */
#define ST_H2_IOV_MAX 256

/* As copy_iov, from `skip` bytes into the iovecs (among the first ST_H2_IOV_MAX): first finds the
 * iovec holding that byte (a loop of its own: one loop doing both makes the verifier walk every mix
 * of skipping and copying), then copies from it and up to ST_IOV_MAX - 1 more. */
static __always_inline __u32 copy_iov_at(__u8 *dst, const struct iovec *iov, __u64 iovcnt, __u64 skip, __u32 want)
{
	struct iovec v = {};
	__u32 first = ST_H2_IOV_MAX;

	for (__u32 i = 0; i < ST_H2_IOV_MAX; i++) {
		if (i >= iovcnt || bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			return 0;
		if (skip < v.iov_len) {
			first = i;
			break;
		}
		skip -= v.iov_len;
	}
	if (first >= ST_H2_IOV_MAX)
		return 0;
	__u64 n = v.iov_len - skip;

	if (n > want)
		n = want;
	if (n > ST_CAPTURE_MAX)
		n = ST_CAPTURE_MAX;
	if (bpf_probe_read_user(dst, n, (const __u8 *)v.iov_base + skip))
		return 0;
	if (n >= want || first + 1 >= iovcnt)
		return n;
	/* the rest from the following iovecs (few branches: the verifier walks each) */
	__u32 copied = n;

	for (__u32 j = 1; j < ST_IOV_MAX; j++) {
		if (first + j >= iovcnt || copied >= want)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[first + j]))
			break;
		__u32 m = v.iov_len < want - copied ? v.iov_len : want - copied;
		__u32 at = copied;

		asm volatile("%0 &= %1" : "+r"(at) : "i"(ST_CAPTURE_MAX - 1));
		asm volatile("%0 &= %1" : "+r"(m) : "i"(ST_CAPTURE_MAX - 1));
		if (bpf_probe_read_user(dst + at, m, v.iov_base))
			break;
		copied += m;
	}
	return copied;
}

/* ---- HTTP/2: payloads cut at frame boundaries ------------------------------------------------
 * A payload longer than capture_bytes loses what follows its head; for HTTP/2 that may be the
 * frame headers and header blocks past a large DATA frame (gRPC trailers, the next responses), and
 * a header block never seen leaves the receiver's HPACK table unknown. So the kernel follows the
 * frames of HTTP/2 connections (where the next header starts, h2_next) and sends a payload longer
 * than capture_bytes as several records, each starting at a frame header its head captures, with
 * every frame but DATA captured whole when it fits. Positions stay contiguous: user space sees
 * consecutive segments of one stream. Losing count of the frames (a header cut by a payload's end,
 * more frames than walked) only makes the next payload assumed to start with a frame, which is
 * what writers do; a wrong guess costs what the plain capture costs, nothing more. */
#define ST_H2_PIECES 16   /* records per payload at most: the last one takes the rest */
#define ST_H2_WALK 64     /* frames walked per record */
#define ST_H2_LOST 0xffffffffffffffffULL

/*
 * Walks the frames from *next (an offset in the payload) through the captured window [p, p + n) of
 * the record starting at p; returns where that record should end: at the first frame whose header
 * (or, but for DATA, whole frame) lies past the window, or at the payload's end. *next is left at
 * the next frame header (past ret when the last frame goes on into the next payload). Global, as
 * h2_read.
 */
__noinline __u64 h2_cut(struct data_scratch *s, __u64 p, __u64 n, __u64 ret, __u64 *next)
{
	if (!s || !next)
		return ret;
	const __u8 *data = s->data;
	__u64 at = *next;

	for (int i = 0; i < ST_H2_WALK; i++) {
		if (at >= ret)
			return ret;
		if (at + 9 > p + n) {
			if (at > p)
				return at; /* its header is past the window: the next record starts with it */
			*next = ST_H2_LOST; /* cannot be read at all (the payload's end cuts it) */
			return ret;
		}
		__u64 o = at - p;

		asm volatile("%0 &= %1" : "+r"(o) : "i"(ST_CAPTURE_MAX - 1));
		const __u8 *h = data + o;
		__u64 len = ((__u32)h[0] << 16) | ((__u32)h[1] << 8) | h[2];

		if (at > p && h[3] != 0 && at + 9 + len > p + n)
			return at; /* a header block (or control frame) not whole here: it starts the next record */
		at += 9 + len;
		*next = at;
	}
	return at < ret ? at : ret; /* walked enough for one record: cut at a frame boundary */
}

/* Sends s->data[0, n) as the record of bytes [p, p + bytes) of the payload in s->hdr. */
static __always_inline void h2_emit(struct data_scratch *s, __u64 position, __u64 p, __u64 bytes, __u32 n, __u8 flags)
{
	s->hdr.flags = flags;
	s->hdr.position = position + p;
	s->hdr.bytes = bytes;
	s->hdr.head_len = n;
	s->hdr.tail_len = 0;
	asm volatile("%0 &= %1" : "+r"(n) : "i"(2 * ST_CAPTURE_MAX - 1));
	if (bpf_ringbuf_output(&events, s, sizeof(s->hdr) + n, ring_flags()))
		bpfcol_count(&events_lost, 1);
}

/* Up to capture_bytes of the payload from offset off into s->data; how many were read. A global
 * function: checked once by the verifier, not once per record of h2_data's loop. */
__noinline __u32 h2_read(struct data_scratch *s, __u64 off, __u32 want)
{
	if (!s)
		return 0;
	if (want > ST_CAPTURE_MAX)
		want = ST_CAPTURE_MAX;
	asm volatile("%0 &= %1" : "+r"(want) : "i"(2 * ST_CAPTURE_MAX - 1));
	if (s->via == VIA_BUF)
		return bpf_probe_read_user(s->data, want, (const void *)(s->ptr + off)) == 0 ? want : 0;
	/* iovecs: up to capture_bytes whatever `want` (a bound the verifier knows keeps its states few;
	 * the caller keeps what belongs to the record) */
	if (s->via == VIA_IOV)
		return copy_iov_at(s->data, (const struct iovec *)s->ptr, s->count, off, capture_bytes);
	if (s->via == VIA_MSG) {
		struct user_msghdr msg;

		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)s->ptr) == 0)
			return copy_iov_at(s->data, msg.msg_iov, msg.msg_iovlen, off, capture_bytes);
	}
	return 0;
}

/*
 * Sends an HTTP/2 connection's payload, described by s->hdr with its head in s->data, as records
 * cut at frames. Global functions (this, h2_cut, h2_read): the verifier checks each once, not once
 * per call site of on_data and per record.
 */
__noinline int h2_data(struct st_conn *c, struct data_scratch *s)
{
	if (!c || !s)
		return 0;
	__u64 ret = s->hdr.bytes, position = s->hdr.position, p = 0, n = s->hdr.head_len;
	__u32 d = s->hdr.direction & 1;
	__u64 next = c->h2_next[d];
	__u8 flags = s->hdr.flags & ~ST_DATA_TAIL;

	if ((flags & ST_DATA_SNIFFED) && n >= 4 && s->data[0] == 'P' && s->data[1] == 'R' && s->data[2] == 'I' && s->data[3] == ' ')
		next = 24; /* the client preface, then frames */
	for (int k = 0; k < ST_H2_PIECES; k++) {
		__u64 end = ret;

		if (k < ST_H2_PIECES - 1 && next != ST_H2_LOST)
			end = h2_cut(s, p, n, ret, &next);
		else if (ret > p + n)
			next = ST_H2_LOST; /* frames in what is not captured: count lost */
		if (end <= p || end > ret)
			end = ret;
		h2_emit(s, position, p, end - p, n < end - p ? n : end - p, flags);
		flags = 0;
		if (end >= ret)
			break;
		p = end;
		n = h2_read(s, p, ret - p < capture_bytes ? ret - p : capture_bytes);
	}
	c->h2_next[d] = next != ST_H2_LOST && next > ret ? next - ret : 0;
	return 0;
}

/*
 * One datagram of a UDP socket (DNS): a whole message, recorded when its peer or the socket's
 * local port is a DNS port, with the peer after the payload (ST_DATA_PEER; no tail). Reached from
 * on_data for UDP entries, and for each message of a sendmmsg/recvmmsg (where stream sockets are
 * not followed). A global function: the verifier checks it once, whatever the number of call
 * sites, and the stream path's checks stay as they were.
 */
__noinline int on_dgram(struct data_call *call, __u32 dir)
{
	if (!call)
		return 0;
	__s64 ret = call->ret;
	__u64 ptr = call->ptr;
	__u32 via = call->via;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct st_conn_key key = { .tgid = pid_tgid >> 32, .fd = call->fd };
	struct st_peer peer;

	if (ret <= 0 || !process_wanted(key.tgid))
		return 0;
	__u64 start = process_start();
	struct st_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c && c->start_time != start)
		c = NULL;
	if (!c) {
		c = track(&key, ST_ROLE_UNKNOWN, start);
		if (!c)
			return 0;
	}
	if (!(c->flags & ST_CONN_DGRAM))
		return 0;
	bool dns = c->flags & ST_CONN_DNS;

	/* sendto/recvfrom: the sockaddr argument, read here (the stream path never needs it) */
	__u64 name = 0;

	if (via == VIA_BUF) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		if (regs && (regs->orig_ax == NR_sendto || regs->orig_ax == NR_recvfrom))
			name = regs->r8;
	}
	if (!dgram_peer(c, name, via, ptr, &peer)) {
		/* a UDP socket talking to no DNS port: given up after a few datagrams unless it did DNS */
		if (!dns && ++c->sniffs >= ST_SNIFF_TRIES) {
			c->flags &= ~ST_CONN_DGRAM;
			bpfcol_count(&ignored_conns, 1);
		}
		return 0;
	}
	__u64 position = __sync_fetch_and_add(&c->bytes[dir & 1], ret);
	__u32 zero = 0;
	struct data_scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	if (!s)
		return 0;
	__u32 want = ret < capture_bytes ? ret : capture_bytes;
	__u32 head = 0;

	if (want > ST_CAPTURE_MAX)
		want = ST_CAPTURE_MAX;
	/* DNS messages sit in one buffer: of a msghdr, the first iovec is captured (the verifier
	 * checks this function for every way in at once: no loop over iovecs) */
	if (via == VIA_MSG) {
		struct user_msghdr msg;
		struct iovec v;

		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)ptr) || !msg.msg_iovlen ||
		    bpf_probe_read_user(&v, sizeof(v), msg.msg_iov))
			return 0;
		ptr = (__u64)v.iov_base;
		if (want > v.iov_len)
			want = v.iov_len;
	} else if (via != VIA_BUF) {
		return 0; /* readv/writev, sendfile/splice on a UDP socket: not followed */
	}
	asm volatile("%0 &= %1" : "+r"(want) : "i"(2 * ST_CAPTURE_MAX - 1)); /* a bound the verifier sees */
	if (want && bpf_probe_read_user(s->data, want, (const void *)ptr) == 0)
		head = want;
	if (head > ST_CAPTURE_MAX)
		head = ST_CAPTURE_MAX;
	asm volatile("%0 &= %1" : "+r"(head) : "i"(2 * ST_CAPTURE_MAX - 1));
	__u8 flags = ST_DATA_PEER;

	if (!dns) {
		if (!head || !sniff_dns(c, s->data, head, dir)) {
			if (head && ++c->sniffs >= ST_SNIFF_TRIES) {
				c->flags &= ~ST_CONN_DGRAM;
				bpfcol_count(&ignored_conns, 1);
			}
			return 0;
		}
		flags |= ST_DATA_SNIFFED;
	}
	if (!(c->flags & ST_CONN_OPEN_SENT)) {
		if (!send_open(c, &key, ST_PROTO_DNS))
			return 0;
		c->flags |= ST_CONN_OPEN_SENT;
	}
	if ((__u64)ret > head)
		bpfcol_count(&truncated, 1);
	s->hdr.kind = ST_EV_DATA;
	s->hdr.direction = dir;
	s->hdr.flags = flags;
	s->hdr._pad0 = 0;
	s->hdr.tgid = key.tgid;
	s->hdr.conn_id = c->id;
	s->hdr.ts_exit = bpf_ktime_get_ns();
	s->hdr.ts_enter = call->ts_enter ? call->ts_enter : s->hdr.ts_exit;
	s->hdr.position = position;
	s->hdr.bytes = ret;
	s->hdr.head_len = head;
	s->hdr.tail_len = 0;
	s->hdr.tid = (__u32)pid_tgid;
	/* datagrams have no tail: the peer goes where it would be */
	__builtin_memcpy(s->data + head, &peer, sizeof(peer));
	if (bpf_ringbuf_output(&events, s, sizeof(s->hdr) + head + sizeof(peer), ring_flags()))
		bpfcol_count(&events_lost, 1);
	return 0;
}

/*
 * Copies a call's payload into s (its head, and when longer than capture_bytes its last bytes)
 * and fills the record header's payload and time fields; finish() completes and sends it.
 */
static __noinline void capture(struct data_call *call, struct data_scratch *s, __u32 dir)
{
	__s64 ret = call->ret;
	__u64 ptr = call->ptr;
	__u32 via = call->via;
	__u32 want = ret < capture_bytes ? ret : capture_bytes;
	__u32 head = 0, tail = 0;
	__u8 flags = 0;

	if (want > ST_CAPTURE_MAX)
		want = ST_CAPTURE_MAX;
	if (via == VIA_BUF) {
		if (bpf_probe_read_user(s->data, want, (const void *)ptr) == 0)
			head = want;
	} else if (via == VIA_IOV) {
		head = copy_iov(s->data, (const struct iovec *)ptr, call->count, want);
	} else if (via == VIA_MSG) {
		struct user_msghdr msg;

		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)ptr) == 0)
			head = copy_iov(s->data, msg.msg_iov, msg.msg_iovlen, want);
	} else {
		flags |= ST_DATA_NO_COPY;
	}
	if (head > ST_CAPTURE_MAX)
		head = ST_CAPTURE_MAX;
	asm volatile("%0 &= %1" : "+r"(head) : "i"(2 * ST_CAPTURE_MAX - 1));
	/* the end of a plain buffer: where terminators are (ReadyForQuery, EOF packets, last chunk) */
	if ((__u64)ret > head && via == VIA_BUF) {
		__u64 t = (__u64)ret - head;

		if (t > ST_TAIL_MAX)
			t = ST_TAIL_MAX;
		asm volatile("%0 &= %1" : "+r"(t) : "i"(2 * ST_TAIL_MAX - 1));
		if (bpf_probe_read_user(s->data + head, t, (const void *)(ptr + ret - t)) == 0) {
			tail = t;
			flags |= ST_DATA_TAIL;
		}
	}
	s->hdr.kind = ST_EV_DATA;
	s->hdr.direction = dir;
	s->hdr.flags = flags;
	s->hdr._pad0 = 0;
	s->hdr.ts_exit = bpf_ktime_get_ns();
	s->hdr.ts_enter = call->ts_enter ? call->ts_enter : s->hdr.ts_exit;
	s->hdr.bytes = ret;
	s->hdr.head_len = head;
	s->hdr.tail_len = tail;
	/* everything h2_data needs is in the scratch map: the fewer values live in finish(), the
	 * fewer of its paths the verifier tells apart */
	s->ptr = ptr;
	s->count = call->count;
	s->via = via;
}

/*
 * Sends a captured payload of connection c: sniffs the protocol while it is unknown, sends the
 * open record first, then the data record with its stream position. s is the per-CPU scratch or a
 * record that waited in tls_pending.
 */
static __noinline int finish(struct st_conn *c, struct st_conn_key *key, struct data_scratch *s)
{
	__u32 dir = s->hdr.direction & 1;
	__u32 head = s->hdr.head_len;
	__u32 tail = s->hdr.tail_len;
	__u32 ret = s->hdr.bytes;
	__u64 position = __sync_fetch_and_add(&c->bytes[dir], ret);

	asm volatile("%0 &= %1" : "+r"(head) : "i"(2 * ST_CAPTURE_MAX - 1));
	if (c->protocol == ST_PROTO_UNKNOWN) {
		if (!head || !sniff(c, s->data, head, dir, position)) {
			if (head && ++c->sniffs >= ST_SNIFF_TRIES) {
				c->protocol = ST_PROTO_NONE;
				bpfcol_count(&ignored_conns, 1);
			}
			return 0;
		}
		s->hdr.flags |= ST_DATA_SNIFFED;
	}
	if (!(c->flags & ST_CONN_OPEN_SENT)) {
		if (!send_open(c, key, c->protocol))
			return 0; /* counted in events_lost; the next payload tries again */
		c->flags |= ST_CONN_OPEN_SENT;
	}
	if (ret > head && !(s->hdr.flags & ST_DATA_NO_COPY))
		bpfcol_count(&truncated, 1);
	/* bytes before this record measured in the kernel (socket_trace_http1.h): no loss */
	__u8 skipped = dir == ST_EGRESS ? ST_CONN_SKIPPED_EGRESS : ST_CONN_SKIPPED_INGRESS;

	if (c->flags & skipped) {
		c->flags &= ~skipped;
		s->hdr.flags |= ST_DATA_SKIPPED;
	}
	s->hdr.tgid = key->tgid;
	s->hdr.conn_id = c->id;
	s->hdr.position = position;
	s->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	asm volatile("%0 &= %1" : "+r"(tail) : "i"(2 * ST_TAIL_MAX - 1));
	__u64 size = sizeof(s->hdr) + head + tail;
	/* HTTP/2 from a syscall (not TLS plaintext, whose buffer may be gone by now): cut at frames,
	 * reading past the capture from the syscall's buffers that capture() noted in s */
	if (c->protocol == ST_PROTO_HTTP2 && !(s->hdr.flags & (ST_DATA_NO_COPY | ST_DATA_TLS))) {
		h2_data(c, s);
		return 0;
	}
	/* as bpfcol_ringbuf_output, with the wake-up policy */
	if (bpf_ringbuf_output(&events, s, size, ring_flags()))
		bpfcol_count(&events_lost, 1);
	return 0;
}

static __always_inline struct data_scratch *scratch_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The TLS part (uprobes on OpenSSL, exec records): it uses capture() and finish(). */
#include "socket_trace_tls.h"
/* HTTP/1.x server requests measured in the kernel (spans.sampling_ratio below 1). */
#include "socket_trace_http1.h"

static __noinline int on_data(struct data_call *call, __u32 dir)
{
	if (call->ret <= 0)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct st_conn_key key = { .tgid = pid_tgid >> 32, .fd = call->fd };

	if (!process_wanted(key.tgid))
		return 0;
	__u64 start = process_start();
	struct st_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c && c->start_time != start)
		c = NULL; /* left by a process that is gone: replaced below */
	if (!c) {
		c = track(&key, ST_ROLE_UNKNOWN, start);
		if (!c)
			return 0;
	}
	if (c->protocol == ST_PROTO_NONE) {
		if (c->flags & ST_CONN_DGRAM) /* UDP (DNS): here, so the stream path's cost stays as it was */
			return on_dgram(call, dir);
		if (tls_enabled && c->sk)
			tls_untraced_io(dir);
		return 0;
	}
	if (c->flags & ST_CONN_TLS) {
		tls_ciphertext(c, &key, dir); /* its plaintext comes from the TLS probes */
		return 0;
	}
	struct data_scratch *s = scratch_buf();

	if (!s)
		return 0;
	if (http1_kernel && c->protocol == ST_PROTO_HTTP1 && c->role == ST_ROLE_SERVER && (c->flags & ST_CONN_OPEN_SENT)) {
		s->hdr.bytes = call->ret;
		s->ptr = call->ptr;
		s->count = call->count;
		s->via = call->via;
		if (http1_measured(c, key.tgid, s, dir))
			return 0;
	}
	capture(call, s, dir);
	if (c->protocol == ST_PROTO_UNKNOWN && tls_enabled && tls_record(c, s, dir)) {
		tls_ciphertext(c, &key, dir);
		return 0;
	}
	return finish(c, &key, s);
}

static __noinline int on_new_socket(__u32 fd, __u8 role)
{
	struct st_conn_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };

	if (!process_wanted(key.tgid))
		return 0;
	track(&key, role, process_start());
	return 0;
}

static __noinline int on_close(__u32 fd)
{
	struct st_conn_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	struct st_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c)
		return 0;
	if (c->protocol == ST_PROTO_UNKNOWN && c->sniffs > 0)
		bpfcol_count(&ignored_conns, 1); /* closed before matching any protocol */
	if (http1_kernel)
		http1_close(c);
	if ((c->flags & ST_CONN_OPEN_SENT) && (c->protocol != ST_PROTO_NONE || (c->flags & ST_CONN_DNS))) {
		struct st_close_event *e = bpfcol_ringbuf_reserve(&events, &events_lost, sizeof(*e));

		if (e) {
			e->kind = ST_EV_CLOSE;
			e->_pad0[0] = e->_pad0[1] = e->_pad0[2] = 0;
			e->tgid = key.tgid;
			e->conn_id = c->id;
			e->ts = bpf_ktime_get_ns();
			e->bytes_egress = c->bytes[ST_EGRESS];
			e->bytes_ingress = c->bytes[ST_INGRESS];
			bpf_ringbuf_submit(e, ring_flags());
		}
	}
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* ---- hooks ----------------------------------------------------------------------------------- */
SEC("raw_tracepoint/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__s64 id = ctx->args[1];

	switch (id) {
	case NR_write:
	case NR_writev:
	case NR_sendto:
	case NR_sendmsg:
	case NR_sendfile:
	case NR_splice:
	case NR_sendmmsg:
		break;
	default:
		return 0;
	}
	struct write_entry *w = bpf_task_storage_get(&write_entries, bpf_get_current_task_btf(), 0,
						     BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (w) {
		w->ts = bpf_ktime_get_ns();
		w->id = id;
	}
	return 0;
}

static __always_inline __u64 write_entry_ts(__s64 id)
{
	struct write_entry *w = bpf_task_storage_get(&write_entries, bpf_get_current_task_btf(), 0, 0);

	return w && w->id == id ? w->ts : 0;
}

static __always_inline int data(__u64 fd, __u64 ptr, __u64 count, __s64 ret, __u32 dir, __u32 via, __u64 ts_enter)
{
	struct data_call call = { .ptr = ptr, .count = count, .ret = ret, .ts_enter = ts_enter, .fd = fd, .via = via };

	return on_data(&call, dir);
}

/*
 * One message of a sendmmsg/recvmmsg: the struct mmsghdr at `entry` (msg_len: what the kernel
 * moved). Datagram sockets only (DNS). A global function: the verifier checks it once, not once
 * per message of the loop.
 */
__noinline int mmsg_one(__u64 fd, __u64 entry, __u32 dir, __u64 ts_enter)
{
	__u32 len = 0;

	if (bpf_probe_read_user(&len, sizeof(len), (const void *)(entry + MMSGHDR_LEN_OFF)))
		return 0;
	struct data_call call = { .ptr = entry, .ret = len, .ts_enter = ts_enter, .fd = fd, .via = VIA_MSG };

	return on_dgram(&call, dir);
}

/*
 * The messages of a sendmmsg/recvmmsg exit (a global function too: its loop is checked once, and
 * reading the arguments here keeps both syscalls at one call site of the dispatch).
 */
__noinline int mmsg(__s64 id, __s64 ret)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 dir = id == NR_sendmmsg ? ST_EGRESS : ST_INGRESS;
	__u64 ts_enter = 0;

	if (!regs)
		return 0;
	__u64 fd = regs->di, vec = regs->si;

	if (dir == ST_INGRESS) {
		if (regs->r10 & MSG_PEEK)
			return 0;
	} else {
		ts_enter = write_entry_ts(id);
	}
	for (__u32 i = 0; i < ST_MMSG_MAX; i++) {
		if ((__s64)i >= ret)
			return 0;
		mmsg_one(fd, vec + (__u64)i * MMSGHDR_SIZE, dir, ts_enter);
	}
	if (ret > ST_MMSG_MAX)
		bpfcol_count(&mmsg_uncaptured, ret - ST_MMSG_MAX);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int on_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__s64 id = regs->orig_ax;
	__s64 ret = ctx->args[1];

	switch (id) {
	case NR_read:
		return data(regs->di, regs->si, 0, ret, ST_INGRESS, VIA_BUF, 0);
	case NR_recvfrom:
		if (regs->r10 & MSG_PEEK)
			return 0;
		return data(regs->di, regs->si, 0, ret, ST_INGRESS, VIA_BUF, 0);
	case NR_write:
	case NR_sendto:
		return data(regs->di, regs->si, 0, ret, ST_EGRESS, VIA_BUF, write_entry_ts(id));
	case NR_readv:
		return data(regs->di, regs->si, regs->dx, ret, ST_INGRESS, VIA_IOV, 0);
	case NR_writev:
		return data(regs->di, regs->si, regs->dx, ret, ST_EGRESS, VIA_IOV, write_entry_ts(id));
	case NR_recvmsg:
		if (regs->dx & MSG_PEEK)
			return 0;
		return data(regs->di, regs->si, 0, ret, ST_INGRESS, VIA_MSG, 0);
	case NR_sendmsg:
		return data(regs->di, regs->si, 0, ret, ST_EGRESS, VIA_MSG, write_entry_ts(id));
	case NR_sendfile:
		return data(regs->di, 0, 0, ret, ST_EGRESS, VIA_NONE, write_entry_ts(id));
	case NR_splice:
		/* into a socket (fd_out) or out of one (fd_in) */
		data(regs->dx, 0, 0, ret, ST_EGRESS, VIA_NONE, write_entry_ts(id));
		return data(regs->di, 0, 0, ret, ST_INGRESS, VIA_NONE, 0);
	case NR_accept:
	case NR_accept4:
		if (ret >= 0)
			on_new_socket(ret, ST_ROLE_SERVER);
		return 0;
	case NR_connect:
		if (ret == 0 || ret == -EINPROGRESS)
			on_new_socket(regs->di, ST_ROLE_CLIENT);
		return 0;
	case NR_close:
		return on_close(regs->di);
	case NR_recvmmsg:
	case NR_sendmmsg:
		return mmsg(id, ret);
	}
	return 0;
}
