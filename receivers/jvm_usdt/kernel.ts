// The kernel side of jvm_usdt as TypeScript sees it: opens bpf/build/jvm_usdt.bpf.o with the
// histogram bounds baked in, attaches the process-event tracepoints once, attaches and detaches a
// JVM's USDT probes (pid-filtered, so JVMs not watched pay nothing), and reads the aggregation maps.
//
// The maps are cumulative (never reset): each read is a snapshot of everything since attach, the
// shape OpenTelemetry cumulative metrics want. A JVM's entries are deleted once its last values
// have been read after it exited.
import { BpfObject, bpfObjectPath } from '../../src/bpf/object.ts';
import { readCounter } from '../../src/bpf/map.ts';
import { RingBuffer } from '../../src/bpf/ringbuf.ts';
import type { Link } from '../../src/bpf/link.ts';
import { type ProbeReport, checkRequirements, probeKernel } from '../../src/bpf/probe.ts';
import type { ProbeGroup } from './config.ts';
import {
  Counts,
  type CountsValue,
  GcEvent,
  type GcEventT,
  GcKey,
  Hist,
  type HistValue,
  JvmInfo,
  LAYOUTS,
  MAX_BOUNDS,
  PoolKey,
  PoolValue,
  type PoolValueT,
  ProcEvent,
  VmopKey,
} from './layout.ts';

export interface ProbeSpec {
  group: ProbeGroup;
  provider: string;
  name: string;
  program: string;
}

/** Every USDT probe the receiver knows, by group. A libjvm.so lacking one is attached without it. */
export const PROBES: readonly ProbeSpec[] = [
  { group: 'gc', provider: 'hotspot', name: 'gc__begin', program: 'on_gc_begin' },
  { group: 'gc', provider: 'hotspot', name: 'gc__end', program: 'on_gc_end' },
  { group: 'gc', provider: 'hotspot', name: 'mem__pool__gc__begin', program: 'on_pool_begin' },
  { group: 'gc', provider: 'hotspot', name: 'mem__pool__gc__end', program: 'on_pool_end' },
  { group: 'safepoints', provider: 'hs_private', name: 'safepoint__begin', program: 'on_safepoint_begin' },
  { group: 'safepoints', provider: 'hs_private', name: 'safepoint__end', program: 'on_safepoint_end' },
  { group: 'vm_operations', provider: 'hotspot', name: 'vmops__begin', program: 'on_vmop_begin' },
  { group: 'vm_operations', provider: 'hotspot', name: 'vmops__end', program: 'on_vmop_end' },
  { group: 'threads', provider: 'hotspot', name: 'thread__start', program: 'on_thread_start' },
  { group: 'threads', provider: 'hotspot', name: 'thread__stop', program: 'on_thread_stop' },
  { group: 'classes', provider: 'hotspot', name: 'class__loaded', program: 'on_class_loaded' },
  { group: 'classes', provider: 'hotspot', name: 'class__unloaded', program: 'on_class_unloaded' },
];

export const TRACEPOINTS = ['sched/sched_process_exec', 'sched/sched_process_exit'];

/** Attached only where needed (see JvmUsdtReceiver): one trap per memory pool per collection. */
export const POOL_BEGIN_PROBE = 'hotspot:mem__pool__gc__begin';

/** What this kernel lacks to run the receiver (empty: it can run). */
export function missingKernelFeatures(options: { probes: readonly ProbeGroup[]; logs: boolean }, report?: ProbeReport): string[] {
  const r = report ?? probeKernel({ tracepoints: TRACEPOINTS });
  return checkRequirements({ tracepoints: TRACEPOINTS, uprobes: options.probes.length > 0, ringBuffer: true }, r);
}

export interface KernelOptions {
  /** Seconds, ascending. */
  gcBounds: readonly number[];
  pauseBounds: readonly number[];
  logGcs: boolean;
  maxJvms: number;
}

function boundsRodata(seconds: readonly number[]): Uint8Array {
  const out = Buffer.alloc(MAX_BOUNDS * 8);
  seconds.forEach((s, i) => out.writeBigUInt64LE(BigInt(Math.max(1, Math.round(s * 1e9))), i * 8));
  return out;
}

export interface JvmKernelData {
  /** jvm.gc.duration by (manager, action). */
  gc: { manager: string; action: number; hist: HistValue }[];
  pools: { pool: string; value: PoolValueT }[];
  safepoints?: HistValue;
  vmops: { name: string; hist: HistValue }[];
  counts?: CountsValue;
}

/** Losses counted in the kernel since load (monotonic). */
export interface KernelLosses {
  seriesFull: bigint;
  pairingFull: bigint;
  procEventsLost: bigint;
  gcEventsLost: bigint;
}

export interface AttachResult {
  links: Link[];
  /** "provider:name" of the probes attached. */
  attached: string[];
  /** Probes the binary has that failed to attach, with libbpf's reason. */
  failed: { probe: string; error: string }[];
}

export class JvmKernel {
  readonly object: BpfObject;
  #procRing: RingBuffer | undefined;
  #gcRing: RingBuffer | undefined;

  private constructor(object: BpfObject) {
    this.object = object;
  }

  /** Opens and loads the object and attaches the exec/exit tracepoints. Throws (attaching nothing) on failure. */
  static open(options: KernelOptions): JvmKernel {
    const n = options.maxJvms;
    const object = BpfObject.open(bpfObjectPath('jvm_usdt'), {
      rodata: {
        n_gc_bounds: options.gcBounds.length,
        gc_bounds_ns: boundsRodata(options.gcBounds),
        n_pause_bounds: options.pauseBounds.length,
        pause_bounds_ns: boundsRodata(options.pauseBounds),
        log_gcs: options.logGcs ? 1 : 0,
      },
      // Room for JVMs that exited but whose last values are not read yet: twice the limit.
      maxEntries: {
        // Each attached probe site holds a spec slot: 12 probes, some with two sites.
        __bpf_usdt_specs: Math.max(1024, n * 32),
        jvms: n * 2,
        counts: n * 2,
        safepoints: n * 2,
        gc_hist: n * 16,
        pools: n * 32,
        vmops: n * 128,
      },
    });
    try {
      for (const [name, layout] of Object.entries(LAYOUTS)) object.checkLayout(name, layout);
      object.program('on_exec').attachTracepoint('sched', 'sched_process_exec');
      object.program('on_exit').attachTracepoint('sched', 'sched_process_exit');
    } catch (err) {
      object.close();
      throw err;
    }
    return new JvmKernel(object);
  }

  /** Delivers process events: execs anywhere, exits of the JVMs registered with track(). */
  onProcessEvents(handler: (events: { pid: number; kind: number }[]) => void): void {
    this.#procRing ??= new RingBuffer(this.object, 'proc_events', (batch) => handler(batch.decode(ProcEvent)));
  }

  /** Delivers one record per collection (only when opened with logGcs). */
  onGcEvents(handler: (events: GcEventT[]) => void): void {
    this.#gcRing ??= new RingBuffer(this.object, 'gc_events', (batch) => handler(batch.decode(GcEvent)));
  }

  /** Registers a JVM: its exit is reported, and the programs read its GC cause at causeAddress (0n: none). */
  track(pid: number, causeAddress = 0n, causeLength = 0): void {
    this.object.map('jvms').update(pidKey(pid), JvmInfo.encode({ cause_addr: causeAddress, cause_len: causeLength, _pad: 0 }));
  }

  /**
   * Attaches the probes of `groups` that `available` ("provider:name") has and `skip` does not
   * name, to one JVM. libjvm is given as bpfcol can open it (/proc/PID/root/...). A probe that
   * fails is reported, the others stay.
   */
  attach(pid: number, libjvm: string, available: ReadonlySet<string>, groups: readonly ProbeGroup[], skip: ReadonlySet<string> = new Set()): AttachResult {
    const out: AttachResult = { links: [], attached: [], failed: [] };
    for (const p of PROBES) {
      const id = `${p.provider}:${p.name}`;
      if (!groups.includes(p.group) || !available.has(id) || skip.has(id)) continue;
      try {
        out.links.push(this.object.program(p.program).attachUsdt({ binaryPath: libjvm, provider: p.provider, name: p.name, pid }));
        out.attached.push(id);
      } catch (err) {
        out.failed.push({ probe: id, error: (err as Error).message });
      }
    }
    return out;
  }

  /** Detaches links of one JVM. Idempotent. */
  detach(links: readonly Link[]): void {
    for (const l of links) l.destroy();
  }

  /** Kernel program ids of the USDT programs (for `bpftool link` checks). */
  usdtProgramIds(): number[] {
    const names = new Set(PROBES.map((p) => p.program));
    return this.object.programs().filter((p) => names.has(p.name) && p.id > 0).map((p) => p.id);
  }

  /** Everything the programs aggregated, by pid. */
  read(): Map<number, JvmKernelData> {
    const out = new Map<number, JvmKernelData>();
    const of = (pid: number) => {
      let d = out.get(pid);
      if (!d) out.set(pid, (d = { gc: [], pools: [], vmops: [] }));
      return d;
    };
    for (const { key, value } of this.object.map('gc_hist').entries()) {
      const k = GcKey.decode(key);
      of(k.pid).gc.push({ manager: k.manager, action: k.action, hist: Hist.decode(value) });
    }
    for (const { key, value } of this.object.map('pools').entries()) {
      const k = PoolKey.decode(key);
      of(k.pid).pools.push({ pool: k.pool, value: PoolValue.decode(value) });
    }
    for (const { key, value } of this.object.map('safepoints').entries()) of(key.readUInt32LE(0)).safepoints = Hist.decode(value);
    for (const { key, value } of this.object.map('vmops').entries()) {
      const k = VmopKey.decode(key);
      of(k.pid).vmops.push({ name: k.name, hist: Hist.decode(value) });
    }
    for (const { key, value } of this.object.map('counts').entries()) of(key.readUInt32LE(0)).counts = Counts.decode(value);
    return out;
  }

  /** Deletes every entry of a pid (after its last values were read). */
  forget(pid: number): void {
    const byPid = (map: string) => {
      const m = this.object.map(map);
      for (const key of m.keys()) if (key.readUInt32LE(0) === pid) m.delete(key);
    };
    for (const m of ['gc_hist', 'pools', 'vmops']) byPid(m);
    for (const m of ['safepoints', 'counts', 'jvms']) this.object.map(m).delete(pidKey(pid));
  }

  /** Pids registered with track() (not forgotten yet). */
  trackedPids(): number[] {
    return this.object.map('jvms').keys().map((k) => k.readUInt32LE(0));
  }

  losses(): KernelLosses {
    const c = (name: string) => readCounter(this.object.map(name));
    return {
      seriesFull: c('series_full'),
      pairingFull: c('pairing_full'),
      procEventsLost: c('proc_events_lost'),
      gcEventsLost: c('gc_events_lost'),
    };
  }

  /** Delivers what the rings hold now. */
  drain(): void {
    this.#procRing?.drain();
    this.#gcRing?.drain();
  }

  /** Detaches everything. Idempotent. */
  close(): void {
    this.#procRing?.stop();
    this.#gcRing?.stop();
    this.#procRing = undefined;
    this.#gcRing = undefined;
    this.object.close();
  }
}

function pidKey(pid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(pid);
  return b;
}
