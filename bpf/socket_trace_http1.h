/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * socket_trace: HTTP/1.x server requests measured in the kernel (included by socket_trace.bpf.c).
 *
 * At tens of thousands of requests per second, sending every payload to user space and parsing it
 * there costs a busy server more than the requests themselves (bench/socket_trace-nginx.ts). With
 * spans.sampling_ratio below 1, each request an HTTP/1.x server connection reads is sampled here:
 *  - a sampled request goes to user space with its response, as every request does otherwise
 *    (a span and a histogram point);
 *  - the others are measured here, into the http.server.request.duration histogram (http_requests,
 *    keyed by process, method, version and status), and none of their bytes are sent.
 * A connection's first request always goes to user space (it is what names the protocol), so its
 * open record and process are known there.
 *
 * What the kernel reads: the first ST_HTTP_PEEK bytes of each payload. A read starting with a
 * method is a request (its version from the end of the request line); a write starting with a
 * status line is a response; any other payload continues the message before it and goes where
 * that one went. A request the kernel cannot name (an unknown method, a request line longer than
 * the peek) is sent. Durations run from the exit of the read that started the request to the exit
 * of the write that started its response (user space ends its spans at the response's last write:
 * the same for responses written at once).
 *
 * Pipelining: a GET or HEAD whose head ends within the peek before the read does has another
 * request behind it; it is sent, and so is every later request of its connection (ST_CONN_NO_KERNEL).
 * Requests read while one measured here waits for its response are measured here too (with the
 * first one's start and method); a response with no request waiting (two requests in one read the
 * peek could not tell apart) is measured with the last start. Both mark the connection too. Two
 * such responses written in one syscall count once.
 *
 * The first record sent after skipped bytes carries ST_DATA_SKIPPED, so user space resumes at it
 * (a request, or a response after its request) without counting a loss.
 */
#ifndef BPFCOL_SOCKET_TRACE_HTTP1_H
#define BPFCOL_SOCKET_TRACE_HTTP1_H

/* Bytes of each payload the kernel looks at ("GET /a/long/path HTTP/1.1\r\n" must fit). */
#define ST_HTTP_PEEK 128
/* The shortest request line: "GET / HTTP/1.1" is 14 bytes, then "\r\n". */
#define ST_HTTP_MIN_LINE 14

const volatile __u32 http1_kernel = 0;      /* 1: HTTP/1.x server requests not sampled are measured here */
const volatile __u32 sample_threshold = 0;  /* sampled when bpf_get_prandom_u32() < this (ratio * 2^32) */
/* http.server.request.duration's bucket bounds (the semantic conventions'), in ns */
const volatile __u64 http_bounds_ns[ST_HTTP_BOUNDS] = {
	5000000, 10000000, 25000000, 50000000, 75000000, 100000000, 250000000,
	500000000, 750000000, 1000000000, 2500000000, 5000000000, 7500000000, 10000000000,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct st_http_key);
	__type(value, struct st_http_hist);
} http_requests SEC(".maps");

BPFCOL_COUNTER(http_requests_full); /* requests measured here that found http_requests full: lost */
BPFCOL_COUNTER(http_unanswered);    /* requests measured here whose connection closed before their response */

BPFCOL_BTF_STRUCT(st_http_key);
BPFCOL_BTF_STRUCT(st_http_hist);

/*
 * The first bytes of a vectored payload: the first non-empty iovec's, and when that holds less than
 * a request line's start, the next one's after them. Not copy_iov(): its general loop here made
 * the verifier walk 190k more instructions.
 */
static __always_inline __u32 http1_peek_iov(__u8 *dst, const struct iovec *iov, __u64 iovcnt, __u32 want)
{
	struct iovec v;
	__u32 got = 0;

	for (__u32 i = 0; i < 4; i++) {
		if (i >= iovcnt || bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			return got;
		if (!v.iov_len)
			continue;
		__u32 len = v.iov_len < want - got ? v.iov_len : want - got;

		/* bounds the verifier sees: len <= ST_HTTP_PEEK, got < 16 here */
		asm volatile("%0 &= %1" : "+r"(len) : "i"(2 * ST_HTTP_PEEK - 1));
		asm volatile("%0 &= %1" : "+r"(got) : "i"(15));
		if (bpf_probe_read_user(dst + got, len, v.iov_base))
			return got;
		got += len;
		if (got >= 16 || got >= want)
			return got;
	}
	return got;
}

/* The first bytes of the call's payload (s->ptr, s->count, s->via) into s->data (at most ST_HTTP_PEEK): how many. */
static __noinline __u32 http1_peek(struct data_scratch *s)
{
	__u32 ret = s->hdr.bytes;
	__u32 want = ret < ST_HTTP_PEEK ? ret : ST_HTTP_PEEK;
	const struct iovec *iov = (const struct iovec *)s->ptr;
	__u64 iovcnt = s->count;

	if (s->via == VIA_BUF)
		return bpf_probe_read_user(s->data, want, (const void *)s->ptr) ? 0 : want;
	if (s->via == VIA_MSG) {
		struct user_msghdr msg;

		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)s->ptr))
			return 0;
		iov = msg.msg_iov;
		iovcnt = msg.msg_iovlen;
	} else if (s->via != VIA_IOV) {
		return 0; /* sendfile/splice: the bytes are never in user memory */
	}
	return http1_peek_iov(s->data, iov, iovcnt, want);
}

static __always_inline __u8 http1_method(const __u8 *b)
{
	if (is4(b, 'G', 'E', 'T', ' '))
		return ST_HTTP_GET;
	if (is4(b, 'P', 'O', 'S', 'T') && b[4] == ' ')
		return ST_HTTP_POST;
	if (is4(b, 'P', 'U', 'T', ' '))
		return ST_HTTP_PUT;
	if (is4(b, 'H', 'E', 'A', 'D') && b[4] == ' ')
		return ST_HTTP_HEAD;
	if (is4(b, 'D', 'E', 'L', 'E') && b[4] == 'T' && b[5] == 'E' && b[6] == ' ')
		return ST_HTTP_DELETE;
	if (is4(b, 'P', 'A', 'T', 'C') && b[4] == 'H' && b[5] == ' ')
		return ST_HTTP_PATCH;
	if (is4(b, 'O', 'P', 'T', 'I') && is4(b + 4, 'O', 'N', 'S', ' '))
		return ST_HTTP_OPTIONS;
	if (is4(b, 'T', 'R', 'A', 'C') && b[4] == 'E' && b[5] == ' ')
		return ST_HTTP_TRACE;
	return 0;
}

/* The minor version at the end of the request line (0 or 1), -1 when the line does not end within n. */
static __always_inline int http1_version(const __u8 *b, __u32 n)
{
	for (__u32 i = ST_HTTP_MIN_LINE; i < ST_HTTP_PEEK; i++) {
		if (i >= n)
			return -1;
		if (b[i] != '\r')
			continue;
		if (is4(b + i - 8, 'H', 'T', 'T', 'P') && b[i - 4] == '/' && b[i - 3] == '1' && b[i - 2] == '.' &&
		    (b[i - 1] == '0' || b[i - 1] == '1'))
			return b[i - 1] - '0';
		return -1;
	}
	return -1;
}

/* Where a request head seen whole in b ends (after its blank line), 0 when it does not end within n. */
static __always_inline __u32 http1_head_end(const __u8 *b, __u32 n)
{
	for (__u32 i = ST_HTTP_MIN_LINE + 4; i < ST_HTTP_PEEK; i++) {
		if (i >= n)
			return 0;
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r')
			return i + 1;
	}
	return 0;
}

/* The status code of a status line ("HTTP/1.1 200 "), -1 when the payload starts none. */
static __always_inline int http1_status(const __u8 *b, __u32 n)
{
	if (n < 12 || !is4(b, 'H', 'T', 'T', 'P') || b[4] != '/' || b[5] != '1' || b[6] != '.' || b[8] != ' ')
		return -1;
	if (b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
		return -1;
	return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* One request measured here, answered with `status` now. */
static __always_inline void http1_count(struct st_conn *c, __u32 tgid, __u16 status, __u64 now)
{
	struct st_http_key k = {
		.tgid = tgid, .status = status, .method = c->req_method, .version = c->req_version, .start_time = c->start_time,
	};
	struct st_http_hist *h = bpf_map_lookup_elem(&http_requests, &k);

	if (!h) {
		struct st_http_hist zero = {};

		bpf_map_update_elem(&http_requests, &k, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&http_requests, &k);
		if (!h) {
			bpfcol_count(&http_requests_full, 1);
			return;
		}
	}
	__u64 d = now > c->req_ts ? now - c->req_ts : 0;
	__u32 i = 0;

	for (; i < ST_HTTP_BOUNDS; i++)
		if (d <= http_bounds_ns[i])
			break;
	/* per CPU, but a preempted program may share it with another on this CPU */
	__sync_fetch_and_add(&h->buckets[i], 1);
	__sync_fetch_and_add(&h->sum_ns, d);
	__sync_fetch_and_add(&h->count, 1);
	/* 0: none yet (an entry made on one CPU starts zeroed on the others) */
	if (d < h->min_ns || !h->min_ns)
		h->min_ns = d;
	if (d > h->max_ns)
		h->max_ns = d;
}

/* Bytes of direction dir that are not sent: the stream position moves on, the next record says so. */
static __always_inline bool http1_skip(struct st_conn *c, __u32 dir, __u32 ret)
{
	__sync_fetch_and_add(&c->bytes[dir & 1], ret);
	c->flags |= dir == ST_EGRESS ? ST_CONN_SKIPPED_EGRESS : ST_CONN_SKIPPED_INGRESS;
	return true;
}

/*
 * Whether this payload of an HTTP/1.x server connection (whose open record went out) is measured
 * here and must not be sent (1).
 * The call is described in s (hdr.bytes, ptr, count, via); s->data is scratch space here (capture()
 * fills it afterwards for what is sent). A global function: the verifier checks it once, not once
 * per path of on_data's callers (and it takes no pointer to their stack, whose values it would
 * make unknown to them).
 */
__noinline int http1_measured(struct st_conn *c, __u32 tgid, struct data_scratch *s, __u32 dir)
{
	if (!c || !s)
		return 0;
	__u8 state = c->req_state;
	bool here = state == ST_REQ_KERNEL || state == ST_REQ_KERNEL_RESP;

	/* a response to a request that was sent is sent too: no need to look at it */
	if (dir == ST_EGRESS && !here)
		return 0;
	__u32 ret = s->hdr.bytes;
	__u32 n = http1_peek(s);

	if (n > ST_HTTP_PEEK)
		n = ST_HTTP_PEEK;
	if (dir == ST_INGRESS) {
		if (n < 16 || sniff_http(s->data, n) != SNIFF_REQUEST)
			return here ? http1_skip(c, dir, ret) : false; /* the rest of a request */
		if (state == ST_REQ_KERNEL) {
			/* pipelined behind a request measured here: measured here too */
			if (c->req_pending < 255)
				c->req_pending++;
			c->flags |= ST_CONN_NO_KERNEL;
			return http1_skip(c, dir, ret);
		}
		__u8 method = http1_method(s->data);
		int version = method ? http1_version(s->data, n) : -1;

		/* a GET or HEAD (no body) whose head ends before the read does: another request follows */
		if (version >= 0 && (method == ST_HTTP_GET || method == ST_HTTP_HEAD)) {
			__u32 end = http1_head_end(s->data, n);

			if (end && end < ret)
				c->flags |= ST_CONN_NO_KERNEL;
		}

		if ((c->flags & ST_CONN_NO_KERNEL) || version < 0 || bpf_get_prandom_u32() < sample_threshold) {
			c->req_state = ST_REQ_SENT;
			return false;
		}
		c->req_state = ST_REQ_KERNEL;
		c->req_method = method;
		c->req_version = version;
		c->req_pending = 1;
		c->req_ts = bpf_ktime_get_ns();
		return http1_skip(c, dir, ret);
	}
	int status = http1_status(s->data, n);

	/* the rest of a response, or an interim one (100 Continue: the final response follows) */
	if (status < 0 || (status < 200 && status != 101))
		return http1_skip(c, dir, ret);
	if (c->req_pending)
		c->req_pending--;
	else
		c->flags |= ST_CONN_NO_KERNEL; /* a response to a request never seen start: two in one read */
	http1_count(c, tgid, status, bpf_ktime_get_ns());
	c->req_state = c->req_pending ? ST_REQ_KERNEL : ST_REQ_KERNEL_RESP;
	return http1_skip(c, dir, ret);
}

/* The connection closes: requests measured here still waiting for their response are counted. */
static __always_inline void http1_close(struct st_conn *c)
{
	if (c->req_state == ST_REQ_KERNEL && c->req_pending)
		bpfcol_count(&http_unanswered, c->req_pending);
}

#endif /* BPFCOL_SOCKET_TRACE_HTTP1_H */
