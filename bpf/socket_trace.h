/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Records shared by bpf/socket_trace.bpf.c and receivers/socket_trace/layout.ts. Laid out by hand
 * with explicit padding so TypeScript decodes them at fixed offsets; the receiver's tests compare
 * both with the object's BTF (BpfObject.checkLayout).
 *
 * Every ring record starts with a __u8 kind (ST_EV_*). For one connection the kernel sends:
 *   ST_EV_OPEN once, when its first bytes matched an enabled protocol (addresses, role, owner),
 *   ST_EV_DATA per syscall that moved bytes (a capped prefix, and a short tail when truncated),
 *   ST_EV_CLOSE when its fd is closed.
 * Connections whose first bytes match no enabled protocol send nothing at all. With sampling
 * (socket_trace_http1.h), HTTP/1.x server requests not sampled send no data record either: they
 * are measured in the kernel (http_requests), and the next record sent carries ST_DATA_SKIPPED.
 */
#ifndef BPFCOL_SOCKET_TRACE_H
#define BPFCOL_SOCKET_TRACE_H

/* Upper bound of the configurable capture size (a power of two). */
#define ST_CAPTURE_MAX 8192
/* Bytes of the end of a truncated payload sent after its head (terminators: pg's ReadyForQuery...). */
#define ST_TAIL_MAX 64
/* In-kernel filters: ports, executables. */
#define ST_FILTER_MAX 16
#define ST_EXE_LEN 32
#define ST_PATH_LEN 128 /* sun_path is 108 bytes; a power of two for the verifier */

#define ST_EV_OPEN 1
#define ST_EV_DATA 2
#define ST_EV_CLOSE 3

#define ST_EGRESS 0   /* written by the traced process */
#define ST_INGRESS 1  /* read by the traced process */

#define ST_ROLE_UNKNOWN 0
#define ST_ROLE_CLIENT 1 /* connect()ed */
#define ST_ROLE_SERVER 2 /* accept()ed */

#define ST_PROTO_UNKNOWN 0 /* not sniffed yet */
#define ST_PROTO_HTTP1 1
#define ST_PROTO_POSTGRES 2
#define ST_PROTO_MYSQL 3
#define ST_PROTO_REDIS 4
#define ST_PROTO_HTTP2 5 /* HTTP/2 in cleartext (h2c), gRPC */
#define ST_PROTO_KAFKA 6
#define ST_PROTO_DNS 7     /* DNS over UDP: a datagram socket, one message per datagram */
#define ST_PROTO_NONE 255  /* not traced: not a stream (or, with DNS, UDP) socket, filtered out, or no protocol matched */

/* Bits of the `protocols` config: 1 << ST_PROTO_*. */
#define ST_PROTO_BIT(p) (1u << (p))

/* struct st_data_event.flags */
#define ST_DATA_TAIL 1       /* tail_len bytes of the payload's end follow the head */
#define ST_DATA_SNIFFED 2    /* the connection's protocol was recognised in this payload */
#define ST_DATA_NO_COPY 4    /* bytes moved by sendfile/splice: counted, never captured */
#define ST_DATA_TLS 8        /* plaintext from the TLS library's probes (SSL_read/SSL_write), not a syscall's bytes */
#define ST_DATA_PEER 16      /* a datagram: a struct st_peer follows the head (datagrams carry no tail) */
#define ST_DATA_SKIPPED 32   /* bytes of this direction before it were measured in the kernel, not sent (no loss):
			      * the record starts a message (socket_trace_http1.h) */

struct st_open_event {
	__u8 kind;           /* ST_EV_OPEN */
	__u8 role;           /* ST_ROLE_* (UNKNOWN resolved by the sniff: who sent the first request) */
	__u8 protocol;       /* ST_PROTO_* */
	__u8 family;         /* AF_INET 2, AF_INET6 10, AF_UNIX 1 */
	__u32 tgid;
	__u64 conn_id;       /* unique for the life of the program: fd reuse gets a new one */
	__u64 ts;            /* ns, CLOCK_MONOTONIC: when the connection was first seen */
	__u64 cgroup_id;     /* cgroup v2 id of the process */
	__u64 start_time;    /* the process's start (task start_time, ns since boot): tells reused pids apart */
	__u32 fd;
	__u16 lport;         /* host order */
	__u16 rport;
	__u8 laddr[16];      /* network order; IPv4 in the first 4 bytes */
	__u8 raddr[16];
	char comm[16];       /* the thread group leader's comm */
	char path[ST_PATH_LEN]; /* AF_UNIX: the socket path of the server side ("" unnamed, leading NUL: abstract) */
};                           /* 224 bytes */

struct st_data_event {
	__u8 kind;           /* ST_EV_DATA */
	__u8 direction;      /* ST_EGRESS / ST_INGRESS */
	__u8 flags;          /* ST_DATA_* */
	__u8 _pad0;
	__u32 tgid;
	__u64 conn_id;
	__u64 ts_enter;      /* ns, CLOCK_MONOTONIC: syscall entry (egress; ingress: = ts_exit) */
	__u64 ts_exit;       /* syscall exit */
	__u64 position;      /* bytes of this direction moved before this syscall (gaps show lost records) */
	__u32 bytes;         /* bytes the syscall moved */
	__u32 head_len;      /* captured bytes from the start of the payload, following this header */
	__u32 tail_len;      /* captured bytes of the payload's end, following the head (ST_DATA_TAIL) */
	__u32 tid;
	/* __u8 data[head_len + tail_len] */
};                           /* 56 bytes */

/* The other end of one datagram (ST_DATA_PEER): the address it was sent to or came from
 * (msg_name / sockaddr), or the connected socket's peer. */
struct st_peer {
	__u16 family;        /* AF_INET, AF_INET6 */
	__u16 port;          /* host order */
	__u8 addr[16];       /* network order; IPv4 in the first 4 bytes */
};                           /* 20 bytes */

struct st_close_event {
	__u8 kind;           /* ST_EV_CLOSE */
	__u8 _pad0[3];
	__u32 tgid;
	__u64 conn_id;
	__u64 ts;
	__u64 bytes_egress;
	__u64 bytes_ingress;
};                           /* 40 bytes */

/* The connection table, keyed by (tgid, fd). User space reads it to sweep entries of processes that
 * are gone, and writes protocol = ST_PROTO_NONE to stop a connection it cannot follow (TLS...). */
struct st_conn_key {
	__u32 tgid;
	__u32 fd;
};

#define ST_CONN_OPEN_SENT 1  /* the ST_EV_OPEN record went out */
#define ST_CONN_TLS 2        /* its bytes are TLS records: the plaintext comes from the TLS probes, the ciphertext is never sent */
/* UDP sockets (DNS): protocol NONE for the stream path; the datagram path follows them while
 * ST_CONN_DGRAM is set (each payload a datagram, filtered by its own peer). */
#define ST_CONN_DGRAM 4
#define ST_CONN_DNS 8        /* the datagram path recognised DNS on it (its open record says ST_PROTO_DNS) */
/* HTTP/1.x requests measured in the kernel (bpf/socket_trace_http1.h): */
#define ST_CONN_SKIPPED_EGRESS 16   /* bytes written were not sent since the last record */
#define ST_CONN_SKIPPED_INGRESS 32  /* bytes read were not sent since the last record */
#define ST_CONN_NO_KERNEL 64        /* pipelining seen: every request of the connection goes to user space */

/* st_conn.req_state: where the request in flight of an HTTP/1.x server connection goes */
#define ST_REQ_IDLE 0        /* none seen yet */
#define ST_REQ_SENT 1        /* to user space (a span), with its response */
#define ST_REQ_KERNEL 2      /* measured here: read, its response not started yet */
#define ST_REQ_KERNEL_RESP 3 /* measured here: its response started (the rest of it is not sent) */

struct st_conn {
	__u64 id;            /* st_open_event.conn_id */
	__u64 sk;            /* struct sock * (0: not a socket) */
	__u64 start_time;    /* the owner's start: an entry left by a process that is gone never matches its successor */
	__u64 ts;            /* first seen */
	__u64 bytes[2];      /* by direction: bytes moved so far */
	__u8 role;
	__u8 protocol;
	__u8 family;
	__u8 flags;          /* ST_CONN_* */
	__u8 sniffs;         /* payloads looked at without recognising a protocol */
	__u8 req_state;      /* ST_REQ_*: HTTP/1.x server requests measured in the kernel */
	__u16 lport;
	__u16 rport;
	__u8 req_method;     /* ST_HTTP_* of the request measured in the kernel */
	__u8 req_version;    /* its minor HTTP version (1.0, 1.1) */
	__u8 req_pending;    /* requests measured here still waiting for their response (pipelining) */
	__u8 _pad1[3];
	__u8 laddr[16];
	__u8 raddr[16];
	__u32 h2_next[2];    /* HTTP/2, by direction: where the next frame header starts, counted from the next payload */
	__u64 req_ts;        /* when the oldest request measured here and unanswered was read (ns) */
};                           /* 112 bytes */

/* ---- HTTP/1.x server requests measured in the kernel (bpf/socket_trace_http1.h) ------------
 * With spans.sampling_ratio below 1, a request an HTTP/1.x server reads is sampled in the kernel:
 * a sampled one goes to user space as before (a span and a histogram point); the others are only
 * counted here, in the histogram of http.server.request.duration, and nothing of them is sent. */
#define ST_HTTP_GET 1
#define ST_HTTP_HEAD 2
#define ST_HTTP_POST 3
#define ST_HTTP_PUT 4
#define ST_HTTP_DELETE 5
#define ST_HTTP_PATCH 6
#define ST_HTTP_OPTIONS 7
#define ST_HTTP_TRACE 8
/* Buckets of the histogram: the bounds of http.server.request.duration (seconds, in ns), and above. */
#define ST_HTTP_BOUNDS 14
#define ST_HTTP_BUCKETS (ST_HTTP_BOUNDS + 1)

struct st_http_key {
	__u32 tgid;
	__u16 status;        /* http.response.status_code */
	__u8 method;         /* ST_HTTP_* */
	__u8 version;        /* minor version: HTTP/1.0, HTTP/1.1 */
	__u64 start_time;    /* the process's (st_open_event.start_time) */
};                           /* 16 bytes */

/* Per CPU; cumulative (user space takes differences), removed only once the process is gone. */
struct st_http_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 min_ns;
	__u64 max_ns;
	__u64 buckets[ST_HTTP_BUCKETS];
};                           /* 152 bytes */

/* ---- TLS (bpf/socket_trace_tls.h): processes started, for the user-space attacher ---------- */
#define ST_EV_EXEC 1

struct st_exec_event {
	__u8 kind;           /* ST_EV_EXEC (ring tls_execs) */
	__u8 _pad0[3];
	__u32 tgid;          /* the process that called execve (its new image) */
};                           /* 8 bytes */

#endif /* BPFCOL_SOCKET_TRACE_H */
