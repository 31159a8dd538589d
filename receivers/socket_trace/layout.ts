// The kernel records as TypeScript decodes them. Mirrors bpf/socket_trace.h: keep the two in step
// (kernel.ts checks every layout against the object's BTF when it loads).
import { defineStruct } from '../../src/bpf/layout.ts';

export const EV_OPEN = 1;
export const EV_DATA = 2;
export const EV_CLOSE = 3;

export const EGRESS = 0;
export const INGRESS = 1;
export type Direction = typeof EGRESS | typeof INGRESS;

export const ROLE_UNKNOWN = 0;
export const ROLE_CLIENT = 1;
export const ROLE_SERVER = 2;

/** ST_PROTO_* */
export const KernelProtocol = { HTTP1: 1, POSTGRES: 2, MYSQL: 3, REDIS: 4, HTTP2: 5, KAFKA: 6, DNS: 7, NONE: 255 } as const;

/** st_data_event.flags */
export const DATA_TAIL = 1;
export const DATA_SNIFFED = 2;
export const DATA_NO_COPY = 4;
/** Plaintext from the TLS library's probes (SSL_read/SSL_write), not a syscall's bytes. */
export const DATA_TLS = 8;
/** A datagram: a struct st_peer follows the head (DNS over UDP). */
export const DATA_PEER = 16;
/** Bytes of this direction before the record were measured in the kernel, not sent (bpf/socket_trace_http1.h): no loss. */
export const DATA_SKIPPED = 32;

/** st_conn.flags: a UDP socket the datagram path follows (DNS). */
export const CONN_DGRAM = 4;

/** Bounds compiled into the program. */
export const CAPTURE_MAX = 8192;
export const TAIL_MAX = 64;
export const FILTER_MAX = 16;
export const EXE_LEN = 32;

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

// Mirrors struct st_open_event in bpf/socket_trace.h.
export const OpenEvent = defineStruct({
  kind: 'u8',
  role: 'u8',
  protocol: 'u8',
  family: 'u8',
  tgid: 'u32',
  conn_id: 'u64',
  ts: 'u64',
  cgroup_id: 'u64',
  start_time: 'u64',
  fd: 'u32',
  lport: 'u16',
  rport: 'u16',
  laddr: ['u8', 16],
  raddr: ['u8', 16],
  comm: ['char', 16],
  path: ['u8', 128],
});
export type OpenEvent = ReturnType<typeof OpenEvent.decode>;

// Mirrors struct st_data_event in bpf/socket_trace.h (the payload follows it).
export const DataEvent = defineStruct({
  kind: 'u8',
  direction: 'u8',
  flags: 'u8',
  _pad0: 'u8',
  tgid: 'u32',
  conn_id: 'u64',
  ts_enter: 'u64',
  ts_exit: 'u64',
  position: 'u64',
  bytes: 'u32',
  head_len: 'u32',
  tail_len: 'u32',
  tid: 'u32',
});

// Mirrors struct st_peer in bpf/socket_trace.h: a datagram's other end, after its head.
export const PeerRecord = defineStruct({ family: 'u16', port: 'u16', addr: ['u8', 16] });

// Mirrors struct st_close_event in bpf/socket_trace.h.
export const CloseEvent = defineStruct({
  kind: 'u8',
  _pad0: ['u8', 3],
  tgid: 'u32',
  conn_id: 'u64',
  ts: 'u64',
  bytes_egress: 'u64',
  bytes_ingress: 'u64',
});
export type CloseEvent = ReturnType<typeof CloseEvent.decode>;

// Mirrors struct st_conn_key / struct st_conn in bpf/socket_trace.h (the connection table).
export const ConnKey = defineStruct({ tgid: 'u32', fd: 'u32' });
export const Conn = defineStruct({
  id: 'u64',
  sk: 'u64',
  start_time: 'u64',
  ts: 'u64',
  bytes: ['u64', 2],
  role: 'u8',
  protocol: 'u8',
  family: 'u8',
  flags: 'u8',
  sniffs: 'u8',
  req_state: 'u8',
  lport: 'u16',
  rport: 'u16',
  req_method: 'u8',
  req_version: 'u8',
  req_pending: 'u8',
  _pad1: ['u8', 3],
  laddr: ['u8', 16],
  raddr: ['u8', 16],
  h2_next: ['u32', 2],
  req_ts: 'u64',
});

// HTTP/1.x server requests measured in the kernel (bpf/socket_trace_http1.h): mirrors struct
// st_http_key / struct st_http_hist, the http_requests map (per CPU, cumulative).
export const HttpKey = defineStruct({ tgid: 'u32', status: 'u16', method: 'u8', version: 'u8', start_time: 'u64' });
/** Buckets of a kernel histogram: ST_HTTP_BOUNDS bounds (http.server.request.duration's), and above. */
export const HTTP_BUCKETS = 15;
export const HttpHist = defineStruct({ count: 'u64', sum_ns: 'u64', min_ns: 'u64', max_ns: 'u64', buckets: ['u64', HTTP_BUCKETS] });
/** ST_HTTP_* in st_http_key.method. */
export const HTTP_METHODS = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'] as const;

// TLS (bpf/socket_trace_tls.h): mirrors struct st_exec_event, the records of the tls_execs ring.
export const EV_EXEC = 1;
export const ExecEvent = defineStruct({ kind: 'u8', _pad0: ['u8', 3], tgid: 'u32' });

export const LAYOUTS = {
  st_open_event: OpenEvent,
  st_data_event: DataEvent,
  st_close_event: CloseEvent,
  st_conn_key: ConnKey,
  st_conn: Conn,
  st_exec_event: ExecEvent,
  st_peer: PeerRecord,
  st_http_key: HttpKey,
  st_http_hist: HttpHist,
} as const;
