// The kernel side of socket_trace as TypeScript sees it: opens bpf/build/socket_trace.bpf.o with
// the config in its read-only globals, attaches the two raw syscall tracepoints, delivers the
// ring's records in batches, reads the loss counters, and maintains the connection table (entries
// of processes that exited without closing their fds are swept; connections user space cannot
// follow are switched off).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { BpfObject, type OpenOptions, bpfObjectPath } from '../../src/bpf/object.ts';
import { readCounter } from '../../src/bpf/map.ts';
import { type ProbeReport, checkRequirements, probeKernel } from '../../src/bpf/probe.ts';
import { RingBuffer, type RingBatch } from '../../src/bpf/ringbuf.ts';
import type { SocketTraceConfig } from './config.ts';
import { CONN_DGRAM, Conn, ConnKey, EV_EXEC, EXE_LEN, ExecEvent, FILTER_MAX, HTTP_BUCKETS, HttpHist, HttpKey, KernelProtocol, LAYOUTS } from './layout.ts';
import type { ProtocolName } from './protocols/types.ts';
import { TLS_PROGRAMS } from './tls.ts';

/** Tracepoints whose presence says the raw syscall tracepoints exist (raw attach needs no tracefs). */
export const KERNEL_TRACEPOINTS = ['raw_syscalls/sys_enter', 'raw_syscalls/sys_exit'];

const PROTOCOL_BITS: Record<ProtocolName, number> = {
  http: KernelProtocol.HTTP1,
  postgresql: KernelProtocol.POSTGRES,
  mysql: KernelProtocol.MYSQL,
  redis: KernelProtocol.REDIS,
  http2: KernelProtocol.HTTP2,
  kafka: KernelProtocol.KAFKA,
  dns: KernelProtocol.DNS,
};

/** How often the ring is drained even when the kernel did not wake us (it wakes us only past wakeup_bytes). */
const SAFETY_DRAIN_MS = 50;

/** What this kernel lacks for socket_trace, one sentence each (empty: it can run). */
export function missingKernelFeatures(_config: SocketTraceConfig, report?: ProbeReport): string[] {
  const r = report ?? probeKernel({ tracepoints: KERNEL_TRACEPOINTS });
  const missing = checkRequirements({ tracepoints: KERNEL_TRACEPOINTS, ringBuffer: true }, r);
  const [major = 0, minor = 0] = release().split('.').map((x) => Number.parseInt(x, 10));
  if (major < 5 || (major === 5 && minor < 15)) {
    missing.push(`Linux ${major}.${minor}: socket_trace needs 5.15 or later (bpf_task_pt_regs, task storage in tracing programs)`);
  }
  return missing;
}

function u16Array(values: readonly number[], length: number): Uint8Array {
  const out = Buffer.alloc(length * 2);
  values.forEach((v, i) => out.writeUInt16LE(v, i * 2));
  return out;
}

function names(values: readonly string[], length: number, size: number): Uint8Array {
  const out = Buffer.alloc(length * size);
  values.forEach((v, i) => Buffer.from(v, 'utf8').copy(out, i * size, 0, size - 1));
  return out;
}

export interface KernelLosses {
  /** Records the ring had no room for. */
  ringFull: bigint;
  /** Connections not tracked: the connection table was full. */
  connsFull: bigint;
  /** Payloads longer than capture_bytes (sent cut: not a loss of requests, counted for tuning). */
  truncated: bigint;
  /** Connections that matched no enabled protocol (not a loss: never traced). */
  ignored: bigint;
  /** Messages of a sendmmsg/recvmmsg beyond the 16 the kernel records per call. */
  mmsgUncaptured: bigint;
  /** HTTP/1.x requests measured in the kernel that found its histogram table full. */
  httpTableFull: bigint;
  /** HTTP/1.x requests measured in the kernel whose connection closed before their response. */
  httpUnanswered: bigint;
}

/** One histogram of HTTP/1.x server requests measured in the kernel (bpf/socket_trace_http1.h), summed over CPUs. */
export interface KernelHttpSeries {
  /** The map key, as bytes (hex): identifies the series between reads. */
  id: string;
  tgid: number;
  startTime: bigint;
  /** ST_HTTP_* (layout.ts HTTP_METHODS) */
  method: number;
  /** Minor HTTP version: 0 or 1. */
  version: number;
  status: number;
  /** Cumulative since the process's first such request. */
  count: number;
  sumNs: number;
  /** Over the CPUs that measured any (undefined: none did). */
  minNs: number | undefined;
  maxNs: number;
  buckets: number[];
}

/** spans.sampling_ratio as the kernel's threshold on bpf_get_prandom_u32(). */
export function sampleThreshold(ratio: number): number {
  return Math.min(0xffffffff, Math.floor(ratio * 2 ** 32));
}

/**
 * The verifier gives up with EAGAIN when a signal arrives while it works (a child exiting, a
 * profiler's timer); libbpf retries a few times at once. Try again a little later.
 */
function openRetrying(path: string, options: OpenOptions): BpfObject {
  for (let attempt = 1; ; attempt++) {
    try {
      return BpfObject.open(path, options);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN' || attempt >= 5) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 * attempt);
    }
  }
}

export class SocketTraceKernel {
  readonly object: BpfObject;
  #ring: RingBuffer | undefined;
  #execs: RingBuffer | undefined;

  private constructor(object: BpfObject) {
    this.object = object;
  }

  /**
   * Opens, loads and attaches. Throws (having attached nothing) when something fails.
   * `samplingRatio`: the share of HTTP/1.x server requests sent as spans, the rest measured in the kernel.
   */
  static open(config: SocketTraceConfig, samplingRatio = config.spans.sampling_ratio): SocketTraceKernel {
    let protocols = 0;
    for (const p of config.protocols) protocols |= 1 << PROTOCOL_BITS[p];
    const { ports, pids, executables } = config.filters;
    const object = openRetrying(bpfObjectPath('socket_trace'), {
      rodata: {
        self_tgid: process.pid,
        protocols,
        capture_bytes: config.capture_bytes,
        filter_pids: pids.length > 0 ? 1 : 0,
        n_ports: ports.length,
        ports: u16Array(ports, FILTER_MAX),
        n_exes: executables.length,
        exes: names(executables, FILTER_MAX, EXE_LEN),
        wakeup_bytes: BigInt(config.kernel.wakeup_bytes),
        tls_enabled: config.tls.enabled ? 1 : 0,
        n_dns_ports: config.dns.ports.length,
        dns_ports: u16Array(config.dns.ports, FILTER_MAX),
        // HTTP/1.x server requests not sampled are measured in the kernel (socket_trace_http1.h)
        http1_kernel: samplingRatio < 1 ? 1 : 0,
        sample_threshold: sampleThreshold(samplingRatio),
      },
      maxEntries: { events: config.kernel.ring_buffer_bytes, conns: config.kernel.max_connections },
      // TLS: the uprobe programs load only when used (the attacher attaches them file by file)
      autoload: config.tls.enabled ? {} : Object.fromEntries(TLS_PROGRAMS.map((p) => [p, false])),
    });
    try {
      for (const [name, layout] of Object.entries(LAYOUTS)) object.checkLayout(name, layout);
      const filter = object.map('pid_filter');
      for (const pid of pids) {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(pid);
        filter.update(key, Buffer.from([1]));
      }
      object.program('on_sys_enter').attachRawTracepoint('sys_enter');
      object.program('on_sys_exit').attachRawTracepoint('sys_exit');
      if (config.tls.enabled && config.tls.attach_wait > 0) object.program('tls_on_exec').attachRawTracepoint('sched_process_exec');
    } catch (err) {
      object.close();
      throw err;
    }
    return new SocketTraceKernel(object);
  }

  /** Delivers ring records to onBatch, one call per wake-up. */
  start(onBatch: (batch: RingBatch) => void): void {
    this.#ring ??= new RingBuffer(this.object, 'events', onBatch, { safetyIntervalMs: SAFETY_DRAIN_MS, batchBytes: 4 << 20 });
  }

  /** TLS: delivers the pids of processes that exec'd (the tls_execs ring). */
  startExecs(onExec: (pid: number) => void): void {
    this.#execs ??= new RingBuffer(this.object, 'tls_execs', (batch) => {
      batch.forEach((view, offset, length) => {
        if (length >= ExecEvent.size && view.getUint8(offset) === EV_EXEC) onExec(view.getUint32(offset + 4, true));
      });
    });
  }

  /** TLS: plaintext the probes could not put on a connection, by reason (bpf/socket_trace_tls.h tls_unattributed). */
  tlsUnattributed(): { read: bigint; replaced: bigint; pendingFull: bigint } {
    const map = this.object.map('tls_unattributed');
    const at = (i: number): bigint => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      const values = map.lookupPerCpu(key) ?? [];
      return values.reduce((a: bigint, v: Buffer) => a + v.readBigUInt64LE(0), 0n);
    };
    return { read: at(0), replaced: at(1), pendingFull: at(2) };
  }

  /** Consumes what the ring holds now. */
  drain(): void {
    this.#ring?.drain();
  }

  losses(): KernelLosses {
    const c = (name: string) => readCounter(this.object.map(name));
    return {
      ringFull: c('events_lost'),
      connsFull: c('conns_full'),
      truncated: c('truncated'),
      ignored: c('ignored_conns'),
      mmsgUncaptured: c('mmsg_uncaptured'),
      httpTableFull: c('http_requests_full'),
      httpUnanswered: c('http_unanswered'),
    };
  }

  /** The histograms of HTTP/1.x server requests measured in the kernel (cumulative, summed over CPUs). */
  httpRequests(): KernelHttpSeries[] {
    return this.object
      .map('http_requests')
      .entriesPerCpu()
      .map(({ key, value }) => {
        const k = HttpKey.decode(key);
        const series: KernelHttpSeries = {
          id: key.toString('hex'),
          tgid: k.tgid,
          startTime: k.start_time,
          method: k.method,
          version: k.version,
          status: k.status,
          count: 0,
          sumNs: 0,
          minNs: undefined,
          maxNs: 0,
          buckets: new Array(HTTP_BUCKETS).fill(0),
        };
        for (const raw of value) {
          const h = HttpHist.decode(raw);
          if (h.count === 0n) continue; // a CPU that measured none (its min is 0, not "none")
          series.count += Number(h.count);
          series.sumNs += Number(h.sum_ns);
          const min = Number(h.min_ns);
          if (series.minNs === undefined || min < series.minNs) series.minNs = min;
          series.maxNs = Math.max(series.maxNs, Number(h.max_ns));
          h.buckets.forEach((n, i) => (series.buckets[i]! += Number(n)));
        }
        return series;
      });
  }

  /** Forgets the histograms of a process that is gone (their last counts read). */
  deleteHttpRequests(ids: readonly string[]): void {
    const map = this.object.map('http_requests');
    for (const id of ids) map.delete(Buffer.from(id, 'hex'));
  }

  /** Entries in the connection table. */
  connections(): number {
    return this.object.map('conns').keys().length;
  }

  /**
   * Stops the kernel sending a connection's payloads (TLS, a protocol switch): its entry is
   * marked untraced, if it still is the same connection.
   */
  stopConnection(tgid: number, fd: number, connId: bigint): void {
    const map = this.object.map('conns');
    const key = ConnKey.encode({ tgid, fd });
    try {
      const raw = map.lookup(key);
      if (!raw) return;
      const c = Conn.decode(raw);
      if (c.id !== connId) return;
      c.protocol = KernelProtocol.NONE;
      c.flags &= ~CONN_DGRAM; // a UDP socket: the datagram path stops too
      map.update(key, Conn.encode(c), 'exist');
    } catch {
      // closed meanwhile
    }
  }

  /**
   * Removes entries of processes that are gone (they exited without closing their fds).
   * Returns how many.
   */
  sweep(): number {
    const map = this.object.map('conns');
    let removed = 0;
    const alive = new Map<number, boolean>();
    for (const key of map.keys()) {
      const { tgid } = ConnKey.decode(key);
      let ok = alive.get(tgid);
      if (ok === undefined) {
        ok = existsSync(`/proc/${tgid}`);
        alive.set(tgid, ok);
      }
      if (!ok && map.delete(key)) removed++;
    }
    return removed;
  }

  /** Detaches everything. Idempotent. */
  close(): void {
    this.#ring?.stop();
    this.#ring = undefined;
    this.#execs?.stop();
    this.#execs = undefined;
    this.object.close();
  }
}
