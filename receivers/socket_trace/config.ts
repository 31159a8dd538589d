// The socket_trace receiver's config. Every key has a default: `socket_trace:` alone traces every
// HTTP/1.x, PostgreSQL, MySQL, Redis, HTTP/2 (gRPC) and Kafka connection and every DNS lookup over
// UDP (port 53) of every process on the machine.
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/types.ts';
import { CAPTURE_MAX, EXE_LEN, FILTER_MAX } from './layout.ts';
import { isSensitiveHeader } from './privacy.ts';
import { PROTOCOLS } from './protocols/types.ts';

const port = z
  .number({ error: 'expected a port number' })
  .int('expected a port number')
  .min(1, 'expected a port number between 1 and 65535')
  .max(65535, 'expected a port number between 1 and 65535');
const pid = z.number({ error: 'expected a process id' }).int('expected a process id').positive('expected a process id above 0');
const executable = z
  .string({ error: 'expected an executable name' })
  .min(1, 'expected an executable name')
  .max(EXE_LEN - 1, `expected an executable's base name of at most ${EXE_LEN - 1} bytes`)
  .refine((s) => !s.includes('/'), 'expected the base name of an executable (nginx), not a path');
const kernelList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: `expected a list of ${what}` }).max(FILTER_MAX, `at most ${FILTER_MAX} ${what} (the kernel filter's size)`).default([]);

const headerName = z
  .string({ error: 'expected a header name' })
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')
  .transform((s) => s.toLowerCase())
  .refine((s) => !isSensitiveHeader(s), {
    error: (issue) => `"${String(issue.input)}" carries credentials (or looks like it): such headers are never recorded`,
  });

const powerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

export const socketTraceConfigSchema = z.strictObject({
  /** Protocols traced; connections matching none of them are ignored in the kernel. */
  protocols: z
    .array(z.enum(PROTOCOLS, { error: `expected one of ${PROTOCOLS.join(', ')}` }), { error: `expected a list of protocols (${PROTOCOLS.join(', ')})` })
    .min(1, 'expected at least one protocol')
    .default([...PROTOCOLS]),
  /** Bytes of each read or write copied from the kernel (the rest is counted, and skipped by length). */
  capture_bytes: z
    .number({ error: 'expected a number of bytes' })
    .int('expected a whole number of bytes')
    .min(64, 'expected at least 64 bytes')
    .max(CAPTURE_MAX, `expected at most ${CAPTURE_MAX} bytes (the kernel program's bound)`)
    .default(4096),
  filters: z
    .strictObject({
      /** Trace connections whose local or peer port is listed (in the kernel). */
      ports: kernelList(port, 'ports'),
      /** Trace these processes only (in the kernel). */
      pids: kernelList(pid, 'pids'),
      /** Trace processes whose executable's base name is listed (in the kernel). */
      executables: kernelList(executable, 'executables'),
    })
    .default({ ports: [], pids: [], executables: [] }),
  spans: z
    .strictObject({
      /** One span per request/response pair, to the traces pipelines. */
      enabled: z.boolean({ error: 'expected true or false' }).default(true),
      /** Spans held while the traces pipeline refuses them; beyond, the oldest are dropped (and counted). */
      max_queued: positiveInt(20000),
      /**
       * Share of HTTP/1.x requests a server reads that become spans, chosen in the kernel; the
       * others are measured there, into http.server.request.duration only, and never copied to
       * bpfcol (what keeps a server at tens of thousands of requests per second cheap to trace).
       * 1: every request is a span. Other protocols and HTTP clients: every request, whatever this says.
       */
      sampling_ratio: z
        .number({ error: 'expected a number between 0 and 1' })
        .min(0, 'expected a number between 0 and 1')
        .max(1, 'expected a number between 0 and 1')
        .default(1),
    })
    .default({ enabled: true, max_queued: 20000, sampling_ratio: 1 }),
  metrics: z
    .strictObject({
      /** http.server.request.duration, http.client.request.duration, db.client.operation.duration... */
      enabled: z.boolean({ error: 'expected true or false' }).default(true),
      /** How often the request metrics are sent (cumulative). */
      collection_interval: duration('10s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
      /** Series per metric; beyond, points fold into one series marked otel.metric.overflow=true. */
      max_series: positiveInt(2000),
    })
    .default({ enabled: true, collection_interval: 10_000, max_series: 2000 }),
  privacy: z
    .strictObject({
      /** Request headers recorded as http.request.header.<name> (credential headers never are). */
      http_request_headers: z.array(headerName, { error: 'expected a list of header names' }).default([]),
      /** Response headers recorded as http.response.header.<name>. */
      http_response_headers: z.array(headerName, { error: 'expected a list of header names' }).default([]),
      /** url.query: none (left out), redacted (every value replaced by ?), full (as sent). */
      url_query: z.enum(['none', 'redacted', 'full'], { error: 'expected none, redacted or full' }).default('none'),
      /** Keep SQL literals and Redis arguments in db.query.text, and database error messages. */
      keep_literals: z.boolean({ error: 'expected true or false' }).default(false),
    })
    .default({ http_request_headers: [], http_response_headers: [], url_query: 'none', keep_literals: false }),
  /** A request without a response after this long is dropped (counted as unanswered). */
  request_timeout: duration('2m'),
  dns: z
    .strictObject({
      /**
       * DNS over UDP: datagrams whose peer port or local port is listed are parsed as DNS (in the
       * kernel). 53 by default; add the ports of resolvers listening elsewhere (5353, 8600...).
       */
      ports: z
        .array(port, { error: 'expected a list of ports' })
        .min(1, 'expected at least one port (remove dns from protocols to trace no DNS)')
        .max(FILTER_MAX, `at most ${FILTER_MAX} ports (the kernel filter's size)`)
        .default([53]),
    })
    .default({ ports: [53] }),
  kernel: z
    .strictObject({
      /** Size of the ring buffer carrying payloads (a power of two, at least 64 KiB). */
      ring_buffer_bytes: positiveInt(8 << 20).refine((n) => powerOfTwo(n) && n >= 65536, 'expected a power of two of at least 65536 bytes'),
      /** (process, fd) entries of the kernel connection table; beyond, new connections are not traced (counted). */
      max_connections: positiveInt(65536),
      /** User space is woken once the ring holds this many bytes (and at least every 50ms). */
      wakeup_bytes: positiveInt(65536),
    })
    .default({ ring_buffer_bytes: 8 << 20, max_connections: 65536, wakeup_bytes: 65536 }),
  /** TLS: OpenSSL's SSL_read/SSL_write plaintext through uprobes (receivers/socket_trace/tls.ts). */
  tls: z
    .strictObject({
      /** Attach the uprobes to every libssl.so* mapped and every executable exporting SSL_write/SSL_read. */
      enabled: z.boolean({ error: 'expected true or false' }).default(true),
      /** How long a process is looked at after its exec for OpenSSL being mapped (0s: execs are not followed). */
      attach_wait: duration('3s'),
      /** How often every process is looked at again (libraries loaded later with dlopen; 0s: never). */
      rescan_interval: duration('30s'),
    })
    .default({ enabled: true, attach_wait: 3000, rescan_interval: 30_000 }),
});

export type SocketTraceConfig = z.infer<typeof socketTraceConfigSchema>;
