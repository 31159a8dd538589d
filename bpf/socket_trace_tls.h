/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * socket_trace's TLS part, included by socket_trace.bpf.c (one object per receiver): the plaintext
 * of OpenSSL's SSL_read/SSL_read_ex/SSL_write/SSL_write_ex, taken by uprobes at entry (the buffer)
 * and return (the byte count), goes out as data records of the connection under the SSL object,
 * flagged ST_DATA_TLS, through the same ring, sniff and parsers as syscall payloads.
 *
 * Which connection an SSL object is on is learned from the syscalls, not read from the SSL struct
 * (its layout changes between OpenSSL versions; Node's memory BIOs hold no fd at all):
 *  - a connection whose first bytes are a TLS record is marked ST_CONN_TLS: its ciphertext is never
 *    sniffed or sent again, but each of its syscalls tells the thread's TLS state what it moved;
 *  - a syscall on such a connection made while the thread is inside an SSL call (socket BIOs:
 *    nginx, curl; SSL_do_handshake too, so the binding is known before the first SSL_read) binds
 *    that SSL object to the connection, remembered in tls_ssl_conns (SSL_read served from OpenSSL's
 *    buffer with no syscall finds it there);
 *  - an SSL call that made no syscall on an unbound SSL object (memory BIOs: Node, whose event loop
 *    moves the ciphertext itself): SSL_read binds to the TLS connection this thread last read
 *    ciphertext from (the read that fed the BIO came just before, in the same callback); SSL_write's
 *    record waits in tls_pending until this thread's next ciphertext write tells its connection.
 * A binding is checked against the connection's id on use: a freed SSL object reused at the same
 * address for another connection is bound again.
 */
#ifndef BPFCOL_SOCKET_TRACE_TLS_H
#define BPFCOL_SOCKET_TRACE_TLS_H

#define TLS_OP_READ 1
#define TLS_OP_WRITE 2
#define TLS_OP_HANDSHAKE 3

/* Per thread: the SSL call it is in, the TLS connection it last read, an SSL_write waiting for its connection. */
struct tls_thread {
	__u64 ssl;         /* SSL* of the call in progress (0: none) */
	__u64 buf;         /* its buffer */
	__u64 count_ptr;   /* SSL_read_ex/SSL_write_ex: where the byte count goes */
	__u64 ts_enter;
	__u64 read_conn;   /* id of the TLS connection this thread last read ciphertext from (0: none) */
	__u64 pending_ssl; /* an SSL_write whose connection was unknown: its record waits in tls_pending */
	__u32 read_fd;
	__u8 op;           /* TLS_OP_* */
	__u8 ex;           /* an _ex call (returns 1, the count through count_ptr) */
	__u8 other_io;     /* the call moved bytes on a socket that is not traced: its plaintext is not ours */
	__u8 nested;       /* SSL_do_handshake calls made inside the call (OpenSSL builds that do): their returns are not its */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tls_thread);
} tls_threads SEC(".maps");

struct tls_ssl_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

struct tls_ssl_conn {
	__u64 conn_id;
	__u32 fd;
	__u32 _pad;
};

/* SSL object -> connection, once learned. LRU: objects freed without notice age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_ssl_key);
	__type(value, struct tls_ssl_conn);
} tls_ssl_conns SEC(".maps");

/* By thread id: the record of an SSL_write whose connection is not known yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct data_scratch);
} tls_pending SEC(".maps");

BPFCOL_RINGBUF(tls_execs, 1 << 16);
/* Plaintext the probes could not put on a connection: [0] SSL_read with no connection known,
 * [1] SSL_write records replaced before their connection was known, [2] tls_pending full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} tls_unattributed SEC(".maps");

BPFCOL_BTF_STRUCT(st_exec_event);

static __always_inline void tls_count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&tls_unattributed, &reason);

	if (v)
		*v += 1;
}

/* Whether a connection's first payload is a TLS record (handshake, or application data when
 * bpfcol came after the handshake); if so the connection is marked TLS from now on. */
static __always_inline bool tls_record(struct st_conn *c, struct data_scratch *s, __u32 dir)
{
	const __u8 *b = s->data;

	if (s->hdr.head_len < 6 || b[1] != 3 || b[2] > 4)
		return false;
	if (b[0] == 0x16) {
		/* a ClientHello is sent by the client */
		if (c->role == ST_ROLE_UNKNOWN && b[5] == 1)
			c->role = dir == ST_EGRESS ? ST_ROLE_CLIENT : ST_ROLE_SERVER;
	} else if (b[0] != 0x17 && b[0] != 0x15) {
		return false;
	}
	c->flags |= ST_CONN_TLS;
	c->bytes[0] = c->bytes[1] = 0; /* positions count plaintext from now on */
	c->sniffs = 0;
	return true;
}

static __always_inline void tls_bind(__u32 tgid, __u64 ssl, __u32 fd, __u64 conn_id)
{
	struct tls_ssl_key k = { .tgid = tgid, .ssl = ssl };
	struct tls_ssl_conn *old = bpf_map_lookup_elem(&tls_ssl_conns, &k);

	if (old && old->conn_id == conn_id && old->fd == fd)
		return;
	struct tls_ssl_conn v = { .conn_id = conn_id, .fd = fd };

	bpf_map_update_elem(&tls_ssl_conns, &k, &v, BPF_ANY); /* LRU: never full */
}

/* A syscall moved ciphertext of connection c (marked TLS): learn what it tells. */
static __noinline void tls_ciphertext(struct st_conn *c, struct st_conn_key *key, __u32 dir)
{
	struct tls_thread *t = bpf_task_storage_get(&tls_threads, bpf_get_current_task_btf(), 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!t)
		return;
	if (t->ssl)
		tls_bind(key->tgid, t->ssl, key->fd, c->id); /* under an SSL call: its own socket */
	if (dir == ST_INGRESS) {
		t->read_fd = key->fd;
		t->read_conn = c->id;
		return;
	}
	if (!t->pending_ssl)
		return;
	/* the first ciphertext write after an SSL_write whose connection was unknown (memory BIO) */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct data_scratch *p = bpf_map_lookup_elem(&tls_pending, &tid);

	tls_bind(key->tgid, t->pending_ssl, key->fd, c->id);
	t->pending_ssl = 0;
	if (p) {
		finish(c, key, p);
		bpf_map_delete_elem(&tls_pending, &tid);
	}
}

/*
 * A syscall on a socket that is not traced (filtered out, another protocol): under an SSL call,
 * that call's plaintext belongs to it; and it ends what the thread's last traced read or waiting
 * SSL_write could tell (an SSL call after it is about this socket, not the traced one).
 */
static __noinline void tls_untraced_io(__u32 dir)
{
	struct tls_thread *t = bpf_task_storage_get(&tls_threads, bpf_get_current_task_btf(), 0, 0);

	if (!t)
		return; /* this thread never made an SSL call */
	if (t->ssl)
		t->other_io = 1;
	if (dir == ST_INGRESS) {
		t->read_conn = 0;
	} else if (t->pending_ssl) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		t->pending_ssl = 0;
		bpf_map_delete_elem(&tls_pending, &tid);
	}
}

/* The connection an SSL object is bound to, if the binding still holds. */
static __always_inline struct st_conn *tls_conn_of(struct st_conn_key *key, __u64 ssl)
{
	struct tls_ssl_key k = { .tgid = key->tgid, .ssl = ssl };
	struct tls_ssl_conn *b = bpf_map_lookup_elem(&tls_ssl_conns, &k);

	if (!b)
		return NULL;
	key->fd = b->fd;
	__u64 id = b->conn_id;
	struct st_conn *c = bpf_map_lookup_elem(&conns, key);

	if (!c || c->id != id)
		return NULL;
	return c;
}

static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 count_ptr, __u8 op, __u8 ex)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!process_wanted(tgid))
		return 0;
	struct tls_thread *t = bpf_task_storage_get(&tls_threads, bpf_get_current_task_btf(), 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!t)
		return 0;
	if (t->ssl == ssl && op == TLS_OP_HANDSHAKE) {
		t->nested++; /* the handshake an SSL_read/SSL_write runs: the outer call goes on */
		return 0;
	}
	t->nested = 0;
	t->ssl = ssl;
	t->buf = buf;
	t->count_ptr = count_ptr;
	t->op = op;
	t->ex = ex;
	t->other_io = 0;
	t->ts_enter = bpf_ktime_get_ns();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tls_read_enter, void *ssl, void *buf)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0, TLS_OP_READ, 0);
}

SEC("uprobe")
int BPF_KPROBE(tls_read_ex_enter, void *ssl, void *buf, __u64 num, void *readbytes)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, TLS_OP_READ, 1);
}

SEC("uprobe")
int BPF_KPROBE(tls_write_enter, void *ssl, void *buf)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0, TLS_OP_WRITE, 0);
}

SEC("uprobe")
int BPF_KPROBE(tls_write_ex_enter, void *ssl, void *buf, __u64 num, void *written)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)written, TLS_OP_WRITE, 1);
}

SEC("uprobe")
int BPF_KPROBE(tls_handshake_enter, void *ssl)
{
	return tls_enter((__u64)ssl, 0, 0, TLS_OP_HANDSHAKE, 0);
}

/* The return of every probed function: the plaintext the call moved goes to its connection. */
SEC("uretprobe")
int BPF_KRETPROBE(tls_return, long rc)
{
	struct tls_thread *t = bpf_task_storage_get(&tls_threads, bpf_get_current_task_btf(), 0, 0);

	if (!t || !t->ssl)
		return 0;
	if (t->nested) {
		t->nested--;
		return 0;
	}
	__u64 ssl = t->ssl;
	__u8 op = t->op;

	t->ssl = 0;
	if (op != TLS_OP_READ && op != TLS_OP_WRITE)
		return 0;
	__s64 n = (int)rc;

	if (t->ex) {
		__u64 count = 0;

		if (n != 1 || bpf_probe_read_user(&count, sizeof(count), (const void *)t->count_ptr))
			return 0;
		n = count;
	}
	if (n <= 0)
		return 0;
	__u32 dir = op == TLS_OP_READ ? ST_INGRESS : ST_EGRESS;
	struct st_conn_key key = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct st_conn *c = tls_conn_of(&key, ssl);

	if (!c && t->other_io)
		return 0; /* a connection socket_trace does not follow */

	if (!c && op == TLS_OP_READ && t->read_conn) {
		/* no syscall under this call and the object unbound: the socket this thread read last */
		key.fd = t->read_fd;
		c = bpf_map_lookup_elem(&conns, &key);
		if (c && c->id == t->read_conn && (c->flags & ST_CONN_TLS))
			tls_bind(key.tgid, ssl, key.fd, c->id);
		else
			c = NULL;
	}
	if (!c && op == TLS_OP_READ) {
		tls_count(0);
		return 0;
	}
	if (c && c->protocol == ST_PROTO_NONE)
		return 0;
	struct data_scratch *s = scratch_buf();

	if (!s)
		return 0;
	struct data_call call = {
		.ptr = t->buf, .ret = n, .ts_enter = op == TLS_OP_WRITE ? t->ts_enter : 0, .via = VIA_BUF,
	};

	capture(&call, s, dir);
	s->hdr.flags |= ST_DATA_TLS;
	if (c)
		return finish(c, &key, s);
	/* SSL_write on an object not bound yet: wait for this thread's next ciphertext write */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (t->pending_ssl)
		tls_count(1);
	if (bpf_map_update_elem(&tls_pending, &tid, s, BPF_ANY)) {
		tls_count(2);
		return 0;
	}
	t->pending_ssl = ssl;
	return 0;
}

/* Processes that start: user space looks for OpenSSL in them. */
SEC("raw_tracepoint/sched_process_exec")
int tls_on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct st_exec_event *e;

	if (tgid == self_tgid)
		return 0;
	e = bpfcol_ringbuf_reserve(&tls_execs, &tls_execs_lost, sizeof(*e));
	if (!e)
		return 0;
	e->kind = ST_EV_EXEC;
	e->_pad0[0] = e->_pad0[1] = e->_pad0[2] = 0;
	e->tgid = tgid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif /* BPFCOL_SOCKET_TRACE_TLS_H */
