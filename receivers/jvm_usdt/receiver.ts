// One jvm_usdt receiver: finds JVMs (discovery.ts), attaches the USDT programs to each one that
// passes the filters and carries probes, reads their hsperfdata, and every collection_interval
// emits one resource of metrics per JVM; with logs.enabled, one record per collection as it comes.
import { statSync } from 'node:fs';
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { CgroupIdIndex, findCgroupHierarchies } from '../../src/host/cgroups.ts';
import { probeKernel } from '../../src/bpf/probe.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { JvmUsdtConfig } from './config.ts';
import { JvmDiscovery } from './discovery.ts';
import { type ElfProbes, probeSet, readUsdtProbes } from './elf-notes.ts';
import { type JvmFilter, compileFilters } from './filters.ts';
import { readHsperfdata } from './hsperfdata.ts';
import { TrackedJvm, describeJvm, mainClassOfJavaCommand } from './jvm.ts';
import { type AttachResult, JvmKernel, type JvmKernelData, type KernelLosses, POOL_BEGIN_PROBE, TRACEPOINTS, missingKernelFeatures } from './kernel.ts';
import { collectorOf } from './hsperf-view.ts';
import { type GcEventT, ProcEventKind } from './layout.ts';
import { gcLogs } from './logs.ts';
import { type JvmSample, buildMetrics } from './metrics.ts';
import { type JvmMappings, findJvmMappings, processStartTicks, readMaps, viaRoot } from './procfs.ts';
import { InFlight } from '../../src/component/in-flight.ts';

/** Collections during which the maps of a JVM are searched for its hsperfdata file before giving up (-XX:-UsePerfData). */
const HSPERF_LOOKUPS = 12;
/** Pauses between the reads of a new JVM's hsperfdata until it is there. */
const SETTLE_DELAYS_MS = [20, 50, 100, 200, 400, 800];

interface Exited {
  jvm: TrackedJvm;
  /** Its kernel data, read when it exited (its entries are deleted then). */
  kernel?: JvmKernelData;
}

export class JvmUsdtReceiver implements Component {
  metricsConsumer: Consumer<'metrics'> | undefined;
  logsConsumer: Consumer<'logs'> | undefined;
  readonly #settings: CreateSettings;
  readonly #config: JvmUsdtConfig;
  readonly #filter: JvmFilter;
  readonly #jvms = new Map<number, TrackedJvm>();
  /** Exited JVMs whose last values the next collection emits. */
  #exited: Exited[] = [];
  /** Processes with libjvm.so left alone (filters, limit), by pid: their start time. */
  readonly #ignored = new Map<number, number>();
  /** USDT notes of each libjvm.so seen, by device:inode. */
  readonly #binaries = new Map<string, ElfProbes | Error>();
  readonly #cgroupIds: CgroupIdIndex | undefined;
  #kernel: JvmKernel | undefined;
  #discovery: JvmDiscovery | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #pendingLogs = new InFlight();
  #lastLosses: KernelLosses = { seriesFull: 0n, pairingFull: 0n, procEventsLost: 0n, gcEventsLost: 0n };
  #limitWarned = false;
  readonly #lost: Counter;
  readonly #attachFailures: Counter;
  readonly #discovered: Counter;
  readonly #hsperfErrors: Counter;

  constructor(settings: CreateSettings, config: JvmUsdtConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#filter = compileFilters(config.filters);
    const unified = findCgroupHierarchies().unified;
    this.#cgroupIds = unified ? new CgroupIdIndex(unified) : undefined;
    const t = settings.telemetry;
    this.#lost = t.counter(
      'receiver_jvm_usdt_kernel_lost',
      'What the kernel programs could not record (map=series: a map of series was full; pairing: a begin/end pairing map was full; proc_events, gc_events: a ring was full)',
      '{events}',
    );
    this.#attachFailures = t.counter('receiver_jvm_usdt_attach_failures', 'USDT probes that failed to attach to a JVM', '{probes}');
    this.#discovered = t.counter('receiver_jvm_usdt_jvms_discovered', 'JVMs found (via=exec: as they started; scan: in /proc)', '{jvms}');
    this.#hsperfErrors = t.counter('receiver_jvm_usdt_hsperfdata_errors', 'hsperfdata files that could not be read or decoded', '{reads}');
    t.gauge(
      'receiver_jvm_usdt_jvms',
      'JVMs watched, by probes=attached|none|failed|disabled',
      () => {
        const by = new Map<string, number>();
        for (const j of this.#jvms.values()) by.set(j.probes, (by.get(j.probes) ?? 0) + 1);
        return [...by].map(([probes, value]) => ({ value, attributes: { probes } }));
      },
      '{jvms}',
    );
  }

  get #where(): string {
    return `receivers.${this.#settings.id.text}`;
  }

  /** The JVMs watched now (exited ones not included). */
  jvms(): TrackedJvm[] {
    return [...this.#jvms.values()];
  }

  /** The kernel side, for tests (bpftool checks). */
  get kernel(): JvmKernel | undefined {
    return this.#kernel;
  }

  async start(): Promise<void> {
    const { logger } = this.#settings;
    const config = this.#config;
    const logs = config.logs.enabled && !!this.logsConsumer;
    const report = probeKernel({ tracepoints: TRACEPOINTS });
    const missing = missingKernelFeatures({ probes: config.probes, logs }, report);
    if (missing.length) throw new Error(`${this.#where}: this kernel cannot run jvm_usdt: ${missing.join('; ')}`);
    if (config.logs.enabled && !this.logsConsumer) logger.warn('logs.enabled is set but no logs pipeline uses this receiver: GC records are not collected');
    if (!config.logs.enabled && this.logsConsumer) logger.warn('a logs pipeline uses this receiver but logs.enabled is false: it will get no records');

    this.#kernel = JvmKernel.open({ gcBounds: config.gc_duration_buckets, pauseBounds: config.pause_duration_buckets, logGcs: logs, maxJvms: config.max_jvms });
    this.#kernel.onProcessEvents((events) => {
      for (const e of events) {
        if (e.kind === ProcEventKind.EXEC) this.#onExec(e.pid);
        else if (e.kind === ProcEventKind.EXIT) this.#onExit(e.pid, 'exit event');
      }
    });
    if (logs) this.#kernel.onGcEvents((events) => this.#onGcEvents(events));
    this.#discovery = new JvmDiscovery({
      attachWaitMs: config.discovery.attach_wait,
      rescanIntervalMs: config.discovery.rescan_interval,
      known: (pid, ticks) => this.#jvms.get(pid)?.startTicks === ticks || this.#ignored.get(pid) === ticks,
      found: (pid, ticks, mappings, via) => this.#found(pid, ticks, mappings, via),
      scanned: (pids) => {
        for (const pid of this.#ignored.keys()) if (!pids.has(pid)) this.#ignored.delete(pid);
      },
    });
    try {
      await this.#discovery.start();
    } catch (err) {
      this.#closeKernel();
      throw err;
    }
    logger.info('jvm_usdt started', {
      jvms: this.#jvms.size,
      probes: config.probes,
      collection_interval_ms: config.collection_interval,
    });
    this.#schedule(Date.now() + config.collection_interval);
  }

  // ---- discovery -----------------------------------------------------------------------------

  #onExec(pid: number): void {
    // The process image changed: a JVM watched under this pid is gone, a process left alone may now be one.
    if (this.#jvms.has(pid)) this.#onExit(pid, 'exec');
    this.#ignored.delete(pid);
    this.#discovery?.exec(pid);
  }

  #found(pid: number, startTicks: number, mappings: JvmMappings, via: 'exec' | 'scan'): void {
    const { logger } = this.#settings;
    const kernel = this.#kernel;
    if (!kernel || !mappings.libjvm || this.#stopping) return;
    const d = describeJvm(pid, startTicks, mappings.libjvm, this.#cgroupIds);
    if (!d) return;
    if (d.mainClass === undefined && mappings.hsperfdata) {
      // An embedded JVM (no java launcher): its hsperfdata may name the main class.
      try {
        d.mainClass = mainClassOfJavaCommand(readHsperfdata(viaRoot(pid, mappings.hsperfdata.path)).str('sun.rt.javaCommand'));
      } catch {
        // not readable yet
      }
    }
    if (!this.#filter(d)) {
      logger.debug('JVM left alone by the filters', { pid, exe: d.exe, main_class: d.mainClass, cgroup: d.cgroupPath });
      this.#ignored.set(pid, startTicks);
      return;
    }
    if (this.#jvms.size >= this.#config.max_jvms) {
      if (!this.#limitWarned) logger.warn(`more JVMs than max_jvms (${this.#config.max_jvms}): the others are left alone`, { pid });
      this.#limitWarned = true;
      this.#ignored.set(pid, startTicks);
      return;
    }
    const jvm = new TrackedJvm(d);
    this.#jvms.set(pid, jvm);
    this.#discovered.add(1, { via });
    kernel.track(pid);
    this.#attach(jvm, kernel);
    this.#lookForHsperf(jvm, mappings);
    this.#settleHsperf(jvm, 0);
    logger.info('JVM found', { pid, via, main_class: d.mainClass, exe: d.exe, probes: jvm.probes, hsperfdata: jvm.hsperfPath !== undefined });
  }

  #binaryProbes(pid: number, libjvm: string): ElfProbes | Error {
    const path = viaRoot(pid, libjvm);
    let key: string;
    try {
      const st = statSync(path);
      key = `${st.dev}:${st.ino}:${st.mtimeMs}`;
    } catch (err) {
      return err as Error;
    }
    let probes = this.#binaries.get(key);
    if (!probes) {
      try {
        probes = readUsdtProbes(path);
      } catch (err) {
        probes = err as Error;
      }
      this.#binaries.set(key, probes);
      if (probes instanceof Error) this.#settings.logger.warn('cannot read the USDT notes of a libjvm.so: its JVMs get hsperfdata metrics only', { libjvm, pid, error: probes.message });
      else if (!probes.hasNotes) this.#settings.logger.warn('this libjvm.so has no USDT probes (built without DTrace support): its JVMs get hsperfdata metrics only', { libjvm, pid });
    }
    return probes;
  }

  #attach(jvm: TrackedJvm, kernel: JvmKernel): void {
    const groups = this.#config.probes;
    if (groups.length === 0) return;
    const probes = this.#binaryProbes(jvm.pid, jvm.description.libjvm);
    if (probes instanceof Error || !probes.hasNotes) {
      jvm.probes = 'none';
      return;
    }
    jvm.available = probeSet(probes.probes);
    const skip = this.#wantsPoolBegin(jvm) === true ? new Set<string>() : new Set([POOL_BEGIN_PROBE]);
    const r = kernel.attach(jvm.pid, viaRoot(jvm.pid, jvm.description.libjvm), jvm.available, groups, skip);
    this.#attachResult(jvm, r);
    jvm.probes = r.attached.length ? 'attached' : 'failed';
    jvm.poolBegin = r.attached.includes(POOL_BEGIN_PROBE);
    if (r.attached.length) jvm.attachUnixNano = nowUnixNano();
  }

  #attachResult(jvm: TrackedJvm, r: AttachResult): void {
    for (const f of r.failed) this.#attachFailures.add(1, { probe: f.probe });
    if (r.failed.length) this.#settings.logger.warn('USDT probes failed to attach', { pid: jvm.pid, failed: r.failed });
    jvm.links.push(...r.links);
  }

  /**
   * Whether a JVM needs mem__pool__gc__begin, which traps once per memory pool per collection: the
   * GC records use the usage before each collection, and a concurrent collector's cycle (ZGC,
   * Shenandoah) starts at its first pool; pauses of the others are timed by gc__begin/gc__end and
   * their pools' usage after a collection comes from mem__pool__gc__end. Undefined: not known yet
   * (the collector is learnt from the command line or hsperfdata).
   */
  #wantsPoolBegin(jvm: TrackedJvm): boolean | undefined {
    if (this.#config.logs.enabled && this.logsConsumer) return true;
    const flag = jvm.description.collectorFlag;
    if (flag) return flag === 'z' || flag === 'shenandoah';
    if (jvm.hsperf) {
      const c = collectorOf(jvm.hsperf);
      return c === 'z' || c === 'shenandoah' || c === 'unknown';
    }
    // No flag and no hsperfdata (yet): the JVM's default collector (G1, or Serial on small machines).
    return this.#config.hsperfdata && jvm.hsperfLookups < HSPERF_LOOKUPS ? undefined : false;
  }

  /** Attaches mem__pool__gc__begin once a JVM turns out to need it. */
  #attachPoolBeginIfNeeded(jvm: TrackedJvm): void {
    const kernel = this.#kernel;
    if (!kernel || jvm.probes !== 'attached' || jvm.poolBegin || !jvm.available?.has(POOL_BEGIN_PROBE) || !this.#config.probes.includes('gc')) return;
    if (this.#wantsPoolBegin(jvm) !== true) return;
    const r = kernel.attach(jvm.pid, viaRoot(jvm.pid, jvm.description.libjvm), new Set([POOL_BEGIN_PROBE]), this.#config.probes);
    this.#attachResult(jvm, r);
    jvm.poolBegin = r.attached.length > 0;
  }

  /** Finds the hsperfdata mapping (the maps are read again until it appears, a few times at most). */
  #lookForHsperf(jvm: TrackedJvm, mappings?: JvmMappings): void {
    if (!this.#config.hsperfdata || jvm.hsperfPath || jvm.hsperfLookups >= HSPERF_LOOKUPS) return;
    jvm.hsperfLookups++;
    const m = mappings?.hsperfdata ?? findJvmMappings(readMaps(jvm.pid) ?? '').hsperfdata;
    if (!m) return;
    jvm.hsperfPath = viaRoot(jvm.pid, m.path);
    jvm.hsperfAddress = m.start;
  }

  /**
   * Reads hsperfdata right away and a few times shortly after (a JVM found at its exec creates the
   * file a little after mapping libjvm.so), so the GC cause reaches the programs before the first
   * collections, and gauges exist before the first interval ends.
   */
  #settleHsperf(jvm: TrackedJvm, attempt: number): void {
    if (!this.#config.hsperfdata || this.#stopping || jvm.exited) return;
    this.#readHsperf(jvm);
    if (jvm.hsperf || attempt >= SETTLE_DELAYS_MS.length) return;
    setTimeout(() => this.#settleHsperf(jvm, attempt + 1), SETTLE_DELAYS_MS[attempt]).unref?.();
  }

  #readHsperf(jvm: TrackedJvm): void {
    this.#lookForHsperf(jvm);
    if (!jvm.hsperfPath) return;
    try {
      const s = readHsperfdata(jvm.hsperfPath);
      if (!s.data.header.accessible) return;
      jvm.adoptHsperf(s);
      this.#attachPoolBeginIfNeeded(jvm);
      if (!jvm.causeGiven && jvm.probes === 'attached' && jvm.hsperfAddress !== undefined) {
        const cause = s.data.entries.get('sun.gc.cause');
        if (cause && cause.vectorLength > 0) this.#kernel?.track(jvm.pid, jvm.hsperfAddress + BigInt(cause.dataOffset), cause.vectorLength);
        jvm.causeGiven = true;
      }
    } catch (err) {
      // The JVM deletes the file as it shuts down; any other failure is counted.
      if ((err as { code?: string }).code !== 'ENOENT') {
        this.#hsperfErrors.add(1);
        this.#settings.logger.debug('hsperfdata not read', { pid: jvm.pid, error: (err as Error).message });
      }
    }
  }

  #onExit(pid: number, why: string): void {
    const jvm = this.#jvms.get(pid);
    if (!jvm) return;
    this.#jvms.delete(pid);
    jvm.exited = true;
    const kernel = this.#kernel;
    let data: JvmKernelData | undefined;
    if (kernel) {
      kernel.detach(jvm.links);
      kernel.drain(); // the GC records it sent before exiting
      data = kernel.read().get(pid);
      kernel.forget(pid);
    }
    this.#exited.push({ jvm, kernel: data });
    this.#settings.logger.info('JVM gone: detached', { pid, why, main_class: jvm.description.mainClass });
  }

  // ---- collection ----------------------------------------------------------------------------

  #schedule(at: number): void {
    this.#timer = setTimeout(() => {
      this.#tick = this.#collectAndEmit().finally(() => {
        this.#tick = undefined;
      });
      let next = at + this.#config.collection_interval;
      const now = Date.now();
      if (next <= now) next = now + this.#config.collection_interval;
      if (!this.#stopping) this.#schedule(next);
    }, Math.max(0, at - Date.now()));
  }

  async #collectAndEmit(): Promise<void> {
    const kernel = this.#kernel;
    if (!kernel) return;
    try {
      // An exit whose event was lost: the process is gone or is another one now.
      for (const jvm of [...this.#jvms.values()]) {
        if (processStartTicks(jvm.pid) !== jvm.startTicks) this.#onExit(jvm.pid, 'gone from /proc');
      }
      const data = kernel.read();
      const samples: JvmSample[] = [];
      for (const jvm of this.#jvms.values()) {
        if (this.#config.hsperfdata) this.#readHsperf(jvm);
        samples.push(this.#sample(jvm, data.get(jvm.pid)));
      }
      const exited = this.#exited;
      this.#exited = [];
      for (const e of exited) samples.push(this.#sample(e.jvm, e.kernel));
      this.#exportLosses(kernel.losses());
      const metrics = buildMetrics(samples, nowUnixNano(), { gc: this.#config.gc_duration_buckets, pause: this.#config.pause_duration_buckets });
      if (this.metricsConsumer && metrics.resourceMetrics.length) await this.metricsConsumer.consume(metrics);
    } catch (err) {
      this.#settings.logger.error('jvm_usdt collection failed', { error: (err as Error).message });
    }
  }

  #sample(jvm: TrackedJvm, kernel: JvmKernelData | undefined): JvmSample {
    return {
      resource: jvm.resource,
      startUnixNano: jvm.description.startUnixNano,
      attachUnixNano: jvm.attachUnixNano,
      hsperf: jvm.hsperf,
      kernel: jvm.probes === 'attached' ? kernel : undefined,
    };
  }

  #exportLosses(now: KernelLosses): void {
    const last = this.#lastLosses;
    const add = (map: string, a: bigint, b: bigint) => {
      if (a > b) this.#lost.add(Number(a - b), { map });
    };
    add('series', now.seriesFull, last.seriesFull);
    add('pairing', now.pairingFull, last.pairingFull);
    add('proc_events', now.procEventsLost, last.procEventsLost);
    add('gc_events', now.gcEventsLost, last.gcEventsLost);
    this.#lastLosses = now;
  }

  #onGcEvents(events: GcEventT[]): void {
    const consumer = this.logsConsumer;
    if (!consumer) return;
    const exited = new Map(this.#exited.map((e) => [e.jvm.pid, e.jvm]));
    const data = gcLogs(events, (pid) => (this.#jvms.get(pid) ?? exited.get(pid))?.resource);
    if (data.resourceLogs.length === 0) return;
    this.#pendingLogs.track(consumer.consume(data), (err) =>
      this.#settings.logger.warn('GC records refused by the logs pipeline', { error: (err as Error).message }),
    );
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /** Stops discovery, sends a last collection, and detaches everything. Safe twice and without start. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#discovery?.stop();
    await this.#tick;
    if (!this.#kernel) return;
    try {
      this.#kernel.drain();
      await this.#collectAndEmit();
      await this.#pendingLogs.settled();
    } finally {
      this.#closeKernel();
    }
  }

  #closeKernel(): void {
    for (const jvm of this.#jvms.values()) jvm.links = [];
    this.#kernel?.close();
    this.#kernel = undefined;
  }
}
