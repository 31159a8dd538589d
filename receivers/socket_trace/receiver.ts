// One socket_trace receiver: the kernel program's records in, spans (traces pipelines) and request
// metrics (metrics pipelines) out. Records cross from the kernel one batch per wake-up; each
// data record feeds its connection's parser, and every request/response pair becomes a span and a
// histogram point. What is lost anywhere is counted in bpfcol's own metrics.
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { RingBatch } from '../../src/bpf/ringbuf.ts';
import { KernelClock } from './clock.ts';
import type { SocketTraceConfig } from './config.ts';
import type { TracedConnection } from './connection.ts';
import { type KernelLosses, SocketTraceKernel, missingKernelFeatures } from './kernel.ts';
import { KernelHttpRequests } from './kernel-http.ts';
import { DATA_PEER, DATA_SKIPPED, DATA_TAIL, DATA_TLS, type Direction, EV_CLOSE, EV_DATA, EV_OPEN, OpenEvent } from './layout.ts';
import { decodePeer } from './datagram.ts';
import { privacyWidenings } from './privacy.ts';
import { ProcessResources } from './processes.ts';
import type { Exchange, PrivacyOptions, ProtocolName } from './protocols/types.ts';
import { RequestMetrics } from './request-metrics.ts';
import { SpanQueue } from './span-queue.ts';
import { buildSpan, exchangeTimes } from './spans.ts';
import type { Segment } from './stream.ts';
import { ConnectionTracker, type ProtocolStats } from './tracker.ts';
import { TlsAttacher } from './tls.ts';

const HOUSEKEEPING_MS = 5_000;
/** Marks spans whose bytes came decrypted from the TLS probes (the semantic conventions' tls.established). */
const TLS_ESTABLISHED = { key: 'tls.established', value: { boolValue: true } };
/** Header of a data record (struct st_data_event). */
const DATA_HEADER = 56;

export class SocketTraceReceiver implements Component {
  tracesConsumer: Consumer<'traces'> | undefined;
  metricsConsumer: Consumer<'metrics'> | undefined;
  readonly #settings: CreateSettings;
  readonly #config: SocketTraceConfig;
  readonly #privacy: PrivacyOptions;
  readonly #processes = new ProcessResources();
  readonly #queue: SpanQueue;
  readonly #metrics: RequestMetrics;
  readonly #tracker: ConnectionTracker;
  readonly #counters: Record<'kernelLost' | 'truncated' | 'ignored' | 'parse' | 'unanswered' | 'unmatched' | 'gaps' | 'dropped' | 'exchanges' | 'skipped' | 'records' | 'recordsDropped' | 'tlsUnattributed', Counter>;
  #clock: KernelClock | undefined;
  #kernel: SocketTraceKernel | undefined;
  #tls: TlsAttacher | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #metricsInFlight: Promise<void> | undefined;
  #lastLosses: KernelLosses = { ringFull: 0n, connsFull: 0n, truncated: 0n, ignored: 0n, mmsgUncaptured: 0n, httpTableFull: 0n, httpUnanswered: 0n };
  readonly #kernelHttp = new KernelHttpRequests();
  #lastTls = { read: 0n, replaced: 0n, pendingFull: 0n };
  #reported = new Map<string, number>();
  #records = 0;
  #spans = false;
  #metricsOn = false;
  /** Share of HTTP/1.x server requests sent as spans; below 1, the kernel measures the others. */
  #samplingRatio = 1;
  #stopping: Promise<void> | undefined;

  constructor(settings: CreateSettings, config: SocketTraceConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#privacy = {
      requestHeaders: new Set(config.privacy.http_request_headers),
      responseHeaders: new Set(config.privacy.http_response_headers),
      urlQuery: config.privacy.url_query,
      keepLiterals: config.privacy.keep_literals,
    };
    const t = settings.telemetry;
    this.#counters = {
      kernelLost: t.counter('receiver_socket_trace_kernel_lost', 'What the kernel program could not record (reason=ring_full: payload records, the ring had no room; connection_table_full: connections not traced)', '{records}'),
      truncated: t.counter('receiver_socket_trace_payloads_truncated', 'Payloads longer than capture_bytes, sent cut (bodies skipped by length; heads longer than that lose headers)', '{payloads}'),
      ignored: t.counter('receiver_socket_trace_connections_ignored', 'Connections whose first bytes matched no enabled protocol (never sent to user space)', '{connections}'),
      parse: t.counter('receiver_socket_trace_parse_errors', 'Payload stretches that were not the protocol (garbage, or a parser error): skipped to the next read or write', '{payloads}'),
      gaps: t.counter('receiver_socket_trace_stream_gaps', 'Bytes of a connection that never reached the parsers (their record was lost): the parser resynchronised', '{gaps}'),
      unanswered: t.counter('receiver_socket_trace_requests_unanswered', 'Requests dropped without a response (connection closed, request_timeout, or lost bytes)', '{requests}'),
      unmatched: t.counter('receiver_socket_trace_responses_unmatched', 'Responses without a request (bpfcol attached mid-connection, or lost bytes)', '{responses}'),
      dropped: t.counter('receiver_socket_trace_spans_dropped', 'Spans dropped (reason=queue_full: the pipeline refused them for too long; refused: permanently)', '{spans}'),
      exchanges: t.counter('receiver_socket_trace_requests', 'Request/response pairs traced (measured=kernel: HTTP/1.x server requests measured in the kernel, not sampled for a span)', '{requests}'),
      skipped: t.counter('receiver_socket_trace_requests_skipped', 'Requests seen but not traced (HTTP/2: a header block referencing HPACK table entries inserted before bpfcol watched, or not captured)', '{requests}'),
      records: t.counter('receiver_socket_trace_records', 'Records received from the kernel', '{records}'),
      recordsDropped: t.counter('receiver_socket_trace_records_dropped', 'Records dropped in user space (reason=unknown_connection: its open record was lost)', '{records}'),
      tlsUnattributed: t.counter('receiver_socket_trace_tls_unattributed', 'TLS plaintext the probes could not put on a connection (reason=read_unbound: an SSL_read with no connection known; write_replaced: an SSL_write waiting for its connection replaced by the next; pending_full: no room to wait)', '{calls}'),
    };
    t.gauge('receiver_socket_trace_tls_files', 'Files (libssl.so*, executables with OpenSSL linked in) the TLS probes are attached to', () => this.#tls?.attachedFiles ?? 0, '{files}');
    t.gauge('receiver_socket_trace_connections', 'Connections being parsed', () => this.#tracker.size, '{connections}');
    t.gauge('receiver_socket_trace_spans_queued', 'Spans waiting for the traces pipeline', () => this.#queue.length, '{spans}');
    this.#queue = new SpanQueue({
      maxQueued: config.spans.max_queued,
      onDropped: (n, reason) => this.#counters.dropped.add(n, { reason }),
      onError: (err) => this.#settings.logger.warn('the traces pipeline refused spans', { error: (err as Error).message }),
    });
    this.#metrics = new RequestMetrics(config.metrics.max_series);
    this.#tracker = new ConnectionTracker(
      this.#privacy,
      (c, e) => this.#onExchange(c, e),
      (c) => this.#kernel?.stopConnection(c.identity.tgid, c.identity.fd, BigInt(c.identity.id)),
      // whose connection it is, read from /proc now: a short-lived client may be gone by its first exchange
      (c) => {
        const id = c.identity;
        c.resource = this.#processes.get(id.tgid, id.startTime, id.comm, id.cgroupId);
      },
    );
  }

  get #where(): string {
    return `receivers.${this.#settings.id.text}`;
  }

  /** Kernel ids of the programs attached now (none before start and after shutdown). */
  programIds(): number[] {
    const object = this.#kernel?.object;
    if (!object || object.closed) return [];
    return object.programs().filter((p) => p.id > 0).map((p) => p.id);
  }

  async start(): Promise<void> {
    const { logger } = this.#settings;
    const config = this.#config;
    const missing = missingKernelFeatures(config);
    if (missing.length) throw new Error(`${this.#where}: this kernel cannot run socket_trace: ${missing.join('; ')}`);
    this.#warnWidenings();
    const spans = config.spans.enabled && !!this.tracesConsumer;
    const metrics = config.metrics.enabled && !!this.metricsConsumer;
    if (config.spans.enabled && !this.tracesConsumer && !metrics) logger.warn('no traces pipeline uses this receiver: spans are not collected');
    if (!spans && !metrics) logger.warn('neither spans nor metrics go anywhere (spans.enabled / metrics.enabled, or no pipeline): the receiver traces nothing');
    this.#spans = spans;
    this.#metricsOn = metrics;
    this.#queue.setConsumer(spans ? this.tracesConsumer : undefined);
    this.#clock = new KernelClock();
    // no span wanted: every HTTP/1.x server request can be measured in the kernel
    this.#samplingRatio = spans ? config.spans.sampling_ratio : 0;
    this.#kernel = SocketTraceKernel.open(config, this.#samplingRatio);
    try {
      this.#kernel.start((batch) => this.#onBatch(batch));
    } catch (err) {
      this.#kernel.close();
      this.#kernel = undefined;
      throw err;
    }
    if (config.tls.enabled) await this.#startTls(this.#kernel);
    this.#queue.start();
    this.#housekeeping = setInterval(() => this.#housekeep(), HOUSEKEEPING_MS);
    this.#housekeeping.unref();
    if (metrics) {
      this.#metricsTimer = setInterval(() => {
        this.#metricsInFlight ??= this.#emitMetrics().finally(() => (this.#metricsInFlight = undefined));
      }, config.metrics.collection_interval);
    }
    logger.info('socket_trace attached', {
      protocols: config.protocols,
      capture_bytes: config.capture_bytes,
      programs: this.#kernel.object.links().map((l) => l.description),
      spans,
      sampling_ratio: this.#samplingRatio,
      metrics,
    });
  }

  /** TLS: attaches the OpenSSL uprobes to what runs now, then to what starts (execs) and what rescans find. */
  async #startTls(kernel: SocketTraceKernel): Promise<void> {
    const { logger } = this.#settings;
    const tls = new TlsAttacher({
      object: kernel.object,
      attachWaitMs: this.#config.tls.attach_wait,
      rescanIntervalMs: this.#config.tls.rescan_interval,
      attached: (t) => logger.info('socket_trace TLS probes attached', { path: t.path, kind: t.kind, functions: t.functions, pid: t.pid }),
      failed: (path, err) => logger.warn('socket_trace TLS probes could not attach', { path, error: err.message }),
    });
    this.#tls = tls;
    try {
      if (this.#config.tls.attach_wait > 0) kernel.startExecs((pid) => tls.exec(pid));
      await tls.start();
    } catch (err) {
      tls.stop();
      this.#tls = undefined;
      kernel.close();
      this.#kernel = undefined;
      throw err;
    }
  }

  #warnWidenings(): void {
    for (const warning of privacyWidenings(this.#config.privacy)) this.#settings.logger.warn(warning);
  }

  /** @internal One wake-up's records (public for the replay benchmark; the ring calls it). */
  handleBatch(batch: RingBatch): void {
    this.#onBatch(batch);
  }

  /** @internal Starts the user-space side without the kernel (the replay benchmark). */
  startWithoutKernel(): void {
    this.#spans = this.#config.spans.enabled && !!this.tracesConsumer;
    this.#metricsOn = this.#config.metrics.enabled && !!this.metricsConsumer;
    this.#queue.setConsumer(this.#spans ? this.tracesConsumer : undefined);
    this.#clock = new KernelClock();
    this.#queue.start();
  }

  #onBatch(batch: RingBatch): void {
    const clock = this.#clock;
    if (!clock) return;
    this.#records += batch.count;
    let bytes: Buffer | undefined;
    batch.forEach((view, offset, length) => {
      const kind = view.getUint8(offset);
      if (kind === EV_DATA) {
        bytes ??= Buffer.from(view.buffer, view.byteOffset, view.byteLength);
        this.#onData(view, bytes, offset, length, clock);
      } else if (kind === EV_OPEN) {
        const open = OpenEvent.decode(view, offset);
        // Read the process's resource (its OTEL_SERVICE_NAME from /proc/PID/environ) now, while it
        // surely lives: a short-lived client may be gone by the time its first exchange completes.
        this.#processes.get(open.tgid, open.start_time, open.comm, open.cgroup_id);
        this.#tracker.open(open, clock.read(view, offset + OpenEvent.offsets.ts));
      } else if (kind === EV_CLOSE) {
        this.#tracker.close(view.getUint32(offset + 8, true) + view.getUint32(offset + 12, true) * 4294967296);
      }
    });
  }

  /** A data record (struct st_data_event): its payload is passed borrowed, copied only if a parser keeps it. */
  #onData(view: DataView, bytes: Buffer, at: number, length: number, clock: KernelClock): void {
    const headLen = view.getUint32(at + 44, true);
    const tailLen = view.getUint32(at + 48, true);
    if (DATA_HEADER + headLen + tailLen > length) return;
    const segment: Segment = {
      position: view.getUint32(at + 32, true) + view.getUint32(at + 36, true) * 4294967296,
      length: view.getUint32(at + 40, true),
      head: bytes.subarray(at + DATA_HEADER, at + DATA_HEADER + headLen),
      enterNs: clock.read(view, at + 16),
      exitNs: clock.read(view, at + 24),
      borrowed: true,
    };
    const flags = view.getUint8(at + 2);
    if (flags & DATA_SKIPPED) segment.afterSkipped = true;
    if (flags & DATA_TAIL && tailLen > 0) segment.tail = bytes.subarray(at + DATA_HEADER + headLen, at + DATA_HEADER + headLen + tailLen);
    const connId = view.getUint32(at + 8, true) + view.getUint32(at + 12, true) * 4294967296;
    // a datagram (DNS over UDP): its peer follows the head
    const peer = flags & DATA_PEER ? decodePeer(view, at + DATA_HEADER + headLen, length - DATA_HEADER - headLen) : undefined;
    this.#tracker.data(connId, view.getUint8(at + 1) as Direction, segment, peer, (flags & DATA_TLS) !== 0);
  }

  #onExchange(c: TracedConnection, e: Exchange<unknown, unknown>): void {
    const clock = this.#clock;
    if (!clock) return;
    const server = c.info.role === 'server';
    const d = c.protocol.describe(e, c.info, this.#privacy);
    if (c.info.tls) d.attributes.push(TLS_ESTABLISHED);
    const times = exchangeTimes(e, server);
    const id = c.identity;
    const resource = (c.resource ??= this.#processes.get(id.tgid, id.startTime, id.comm, id.cgroupId));
    if (this.#spans) this.#queue.push(resource, buildSpan(d, server, times, clock));
    if (d.metric && this.#metricsOn) {
      const now = clock.toUnixNano(times.endNs);
      const m = d.metric;
      // most exchanges of a connection go to the series its last one went to
      let last = c.lastSeries;
      if (!last || last.key !== m.key || last.name !== m.name || last.series.dead) {
        last = c.lastSeries = { key: m.key, name: m.name, series: this.#metrics.series(resource, m.name, m.attributes, now, m.key) };
      }
      this.#metrics.observe(last.series, (times.endNs - times.startNs) / 1e9, now);
    }
  }

  #housekeep(): void {
    const kernel = this.#kernel;
    const clock = this.#clock;
    if (!kernel || !clock) return;
    try {
      clock.refresh();
      this.#collectKernelHttp();
      this.#tracker.sweep(clock.now() - this.#config.request_timeout * 1e6, this.#config.kernel.max_connections);
      kernel.sweep();
      this.#exportCounts();
    } catch (err) {
      this.#settings.logger.error('socket_trace housekeeping failed', { error: (err as Error).message });
    }
  }

  /** Adds what was counted since the last call to bpfcol's own metrics. */
  #exportCounts(): void {
    const kernel = this.#kernel;
    if (kernel) {
      const now = kernel.losses();
      const last = this.#lastLosses;
      const add = (c: Counter, a: bigint, b: bigint, attrs?: Record<string, string>) => {
        if (a > b) c.add(Number(a - b), attrs);
      };
      add(this.#counters.kernelLost, now.ringFull, last.ringFull, { reason: 'ring_full' });
      add(this.#counters.kernelLost, now.connsFull, last.connsFull, { reason: 'connection_table_full' });
      add(this.#counters.truncated, now.truncated, last.truncated);
      add(this.#counters.ignored, now.ignored, last.ignored);
      add(this.#counters.kernelLost, now.mmsgUncaptured, last.mmsgUncaptured, { reason: 'mmsg_limit' });
      add(this.#counters.kernelLost, now.httpTableFull, last.httpTableFull, { reason: 'http_table_full' });
      add(this.#counters.unanswered, now.httpUnanswered, last.httpUnanswered, { protocol: 'http', measured: 'kernel' });
      this.#lastLosses = now;
      if (this.#config.tls.enabled) {
        const tls = kernel.tlsUnattributed();
        const before = this.#lastTls;
        add(this.#counters.tlsUnattributed, tls.read, before.read, { reason: 'read_unbound' });
        add(this.#counters.tlsUnattributed, tls.replaced, before.replaced, { reason: 'write_replaced' });
        add(this.#counters.tlsUnattributed, tls.pendingFull, before.pendingFull, { reason: 'pending_full' });
        this.#lastTls = tls;
      }
    }
    const delta = (name: string, value: number, c: Counter, attrs?: Record<string, string>) => {
      const before = this.#reported.get(name) ?? 0;
      if (value > before) c.add(value - before, attrs);
      this.#reported.set(name, value);
    };
    delta('records', this.#records, this.#counters.records);
    delta('kernel.http', this.#kernelHttp.requests, this.#counters.exchanges, { protocol: 'http', measured: 'kernel' });
    delta('unknown', this.#tracker.stats.unknownConnection, this.#counters.recordsDropped, { reason: 'unknown_connection' });
    for (const [protocol, s] of this.#tracker.stats.perProtocol as Map<ProtocolName, ProtocolStats>) {
      const attrs = { protocol };
      delta(`${protocol}.garbage`, s.garbage, this.#counters.parse, attrs);
      delta(`${protocol}.gaps`, s.gaps, this.#counters.gaps, attrs);
      delta(`${protocol}.unanswered`, s.unanswered, this.#counters.unanswered, attrs);
      delta(`${protocol}.unmatched`, s.unmatched, this.#counters.unmatched, attrs);
      delta(`${protocol}.exchanges`, s.exchanges, this.#counters.exchanges, attrs);
      if (s.skipped) delta(`${protocol}.skipped`, s.skipped, this.#counters.skipped, attrs);
    }
  }

  /** Adds the HTTP/1.x requests the kernel measured since the last call to the request metrics. */
  #collectKernelHttp(): void {
    const kernel = this.#kernel;
    if (!kernel || this.#samplingRatio >= 1) return;
    const resourceOf = (tgid: number, startTime: bigint) => this.#processes.find(tgid, startTime) ?? this.#processes.get(tgid, startTime, '', 0n);
    this.#kernelHttp.collect(kernel, this.#metricsOn ? this.#metrics : undefined, resourceOf, nowUnixNano());
  }

  async #emitMetrics(): Promise<void> {
    const consumer = this.metricsConsumer;
    if (!consumer) return;
    try {
      this.#collectKernelHttp();
    } catch (err) {
      this.#settings.logger.error('socket_trace could not read the kernel HTTP histograms', { error: (err as Error).message });
    }
    const data = this.#metrics.build(nowUnixNano());
    if (!data.resourceMetrics.length) return;
    try {
      await consumer.consume(data);
    } catch (err) {
      this.#settings.logger.warn('the metrics pipeline refused request metrics', { error: (err as Error).message });
    }
  }

  /** Drains the kernel, finishes every connection, sends what is left, detaches. Safe twice and without start. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#housekeeping);
    clearInterval(this.#metricsTimer);
    this.#tls?.stop(); // no new attachments while draining (the links go with the object)
    const kernel = this.#kernel;
    if (!kernel) return;
    try {
      kernel.drain();
      this.#tracker.closeAll();
      this.#collectKernelHttp();
      this.#exportCounts();
      await this.#queue.stop();
      await this.#metricsInFlight;
      if (this.#metricsOn) await this.#emitMetrics();
    } finally {
      this.#tls?.stop();
      this.#tls = undefined;
      kernel.close();
      this.#kernel = undefined;
    }
  }
}
