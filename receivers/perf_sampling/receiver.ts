// One perf_sampling receiver: one kernel object sampling every CPU, drained every read interval;
// each drain is symbolized at once and added to the current window, which is emitted on the
// profiles signal when it ends. The samples metric goes to the metrics signal at every drain.
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { probeKernel } from '../../src/bpf/probe.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { type PerfSamplingConfig, readSchedule } from './config.ts';
import { type KernelCounters, PerfSamplingKernel, TRACEPOINTS, missingKernelFeatures, zeroCounters } from './kernel.ts';
import type { NewProcess } from './layout.ts';
import { CpuSampleMetrics } from './metrics.ts';
import { Symbolizer } from './symbolize/symbolizer.ts';
import { Window } from './window.ts';


export class PerfSamplingReceiver implements Component {
  profilesConsumer: Consumer<'profiles'> | undefined;
  metricsConsumer: Consumer<'metrics'> | undefined;
  readonly #settings: CreateSettings;
  readonly #config: PerfSamplingConfig;
  readonly #symbolizer: Symbolizer;
  readonly #metrics: CpuSampleMetrics;
  readonly #lost: Counter;
  readonly #samples: Counter;
  readonly #announcementsLost: Counter;
  readonly #profilesSent: Counter;
  #kernel: PerfSamplingKernel | undefined;
  #window: Window | undefined;
  #readsInWindow = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  /** Counts of the samples drained so far. */
  readonly #drained = zeroCounters();
  #announcementsLostSeen = 0n;
  #stopping: Promise<void> | undefined;

  constructor(settings: CreateSettings, config: PerfSamplingConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#symbolizer = new Symbolizer({
      maxFiles: config.symbolizer.max_cached_files,
      maxProcesses: config.symbolizer.max_cached_processes,
      perfMaps: config.symbolizer.perf_maps,
      jvmPerfMaps: config.symbolizer.jvm_perf_maps,
      jvmPerfMapIntervalMs: config.symbolizer.jvm_perf_map_interval,
      onJvmPerfMapError: (pid, error) => settings.logger.info('asking a JVM for its perf map failed', { pid, error: error.message }),
    });
    this.#metrics = new CpuSampleMetrics({
      maxSeries: config.metrics.max_series,
      expirationMs: config.metrics.series_expiration,
      frequency: config.frequency,
    });
    const t = settings.telemetry;
    this.#samples = t.counter('receiver_perf_sampling_samples', 'CPU samples taken by the kernel program (idle and filtered-out ones included)', '{samples}');
    this.#lost = t.counter(
      'receiver_perf_sampling_lost',
      'What the kernel program could not keep (what=sample: counts map full, the sample is lost; what=stack with reason=collision|user_unwind|kernel_unwind: the sample is kept with a [lost ... stack] frame)',
      '{samples}',
    );
    this.#announcementsLost = t.counter(
      'receiver_perf_sampling_announcements_lost',
      'New processes not announced because the ring buffer was full (their mappings are read at the next drain, perhaps too late)',
      '{processes}',
    );
    this.#profilesSent = t.counter('receiver_perf_sampling_profiles', 'Profiles emitted (one per process or container per window)', '{profiles}');
    t.gauge('receiver_perf_sampling_symbolizer_cache', 'Entries of the symbolizer caches (cache=processes|files|files_failed|kernel_symbols)', () => {
      const s = this.#symbolizer.stats();
      return [
        { value: s.processes, attributes: { cache: 'processes' } },
        { value: s.files, attributes: { cache: 'files' } },
        { value: s.filesFailed, attributes: { cache: 'files_failed' } },
        { value: s.kernelSymbols, attributes: { cache: 'kernel_symbols' } },
      ];
    });
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
    const config = this.#config;
    const missing = missingKernelFeatures(config, probeKernel({ tracepoints: [...TRACEPOINTS] }));
    if (missing.length) throw new Error(`${this.#where}: this kernel cannot run perf_sampling: ${missing.join('; ')}`);
    if (!this.profilesConsumer && !this.metricsConsumer) this.#settings.logger.warn('no pipeline uses this receiver');
    this.#window = this.#newWindow();
    this.#kernel = PerfSamplingKernel.open(config, (records) => this.#onNewProcesses(records));
    const { everyMs, readsPerWindow } = readSchedule(config);
    this.#settings.logger.info('perf_sampling attached', {
      frequency: config.frequency,
      window_ms: config.window,
      reads_per_window: readsPerWindow,
      programs: this.#kernel.object.links().map((l) => l.description),
    });
    this.#schedule(Date.now() + everyMs, everyMs);
  }

  #newWindow(): Window {
    this.#readsInWindow = 0;
    return new Window(nowUnixNano(), {
      frequency: this.#config.frequency,
      groupBy: this.#config.group_by,
      processFrames: this.#config.process_frames,
      threadFrames: this.#config.thread_frames,
    });
  }

  /** Time spent on announcements since the last read (ms), and how many. */
  #announceMs = 0;
  #announced = 0;

  #onNewProcesses(records: NewProcess[]): void {
    const t0 = performance.now();
    this.#announced += records.length;
    for (const r of records) {
      try {
        this.#symbolizer.announce(r.tgid, r.comm, r.cgroup_id);
      } catch (err) {
        this.#settings.logger.debug('reading a new process failed', { pid: r.tgid, error: (err as Error).message });
      }
    }
    this.#announceMs += performance.now() - t0;
  }

  #schedule(at: number, everyMs: number): void {
    this.#timer = setTimeout(() => {
      this.#tick = this.#read(false).finally(() => {
        this.#tick = undefined;
      });
      let next = at + everyMs;
      const now = Date.now();
      if (next <= now) next = now + everyMs;
      if (!this.#stopping) this.#schedule(next, everyMs);
    }, Math.max(0, at - Date.now()));
  }

  /** Drains the kernel maps into the window; emits the window when it is complete (or `last`). */
  async #read(last: boolean): Promise<void> {
    const kernel = this.#kernel;
    const window = this.#window;
    if (!kernel || !window) return;
    const { logger } = this.#settings;
    try {
      const drained = await kernel.drain();
      const t0 = performance.now();
      const perProcess = window.add(drained, this.#symbolizer);
      await this.#symbolizer.endRound();
      if (drained.late) logger.debug('a kernel program still wrote to the side read: a few samples may count in the next read');
      logger.debug('perf_sampling read', {
        samples: drained.counters.samples,
        distinct: drained.samples.length,
        stacks: drained.stacks.size,
        symbolize_ms: Math.round(performance.now() - t0),
        announced: this.#announced,
        announce_ms: Math.round(this.#announceMs),
      });
      this.#announced = 0;
      this.#announceMs = 0;
      this.#readsInWindow++;
      this.#exportCounters(drained.counters, kernel.announcementsLost());
      this.#metrics.add(perProcess, window.startUnixNano);
      if (this.metricsConsumer) {
        const data = this.#metrics.build(drained.timeUnixNano);
        if (data.resourceMetrics.length) await this.metricsConsumer.consume(data);
      }
      if (last || this.#readsInWindow >= readSchedule(this.#config).readsPerWindow) {
        this.#window = last ? undefined : this.#newWindow();
        const profiles = window.build(drained.timeUnixNano);
        if (this.profilesConsumer && profiles.resourceProfiles.length) {
          this.#profilesSent.add(profiles.resourceProfiles.length);
          await this.profilesConsumer.consume(profiles);
        }
      }
    } catch (err) {
      logger.error('perf_sampling read failed', { error: (err as Error).message });
    }
  }

  #exportCounters(c: KernelCounters, announcementsLost: bigint): void {
    if (c.samples) this.#samples.add(c.samples);
    if (c.countsFull) this.#lost.add(c.countsFull, { what: 'sample', reason: 'counts_full' });
    if (c.stackCollisions) this.#lost.add(c.stackCollisions, { what: 'stack', reason: 'collision' });
    if (c.userStackErrors) this.#lost.add(c.userStackErrors, { what: 'stack', reason: 'user_unwind' });
    if (c.kernelStackErrors) this.#lost.add(c.kernelStackErrors, { what: 'stack', reason: 'kernel_unwind' });
    for (const k of Object.keys(c) as (keyof KernelCounters)[]) this.#drained[k] += c[k];
    if (announcementsLost > this.#announcementsLostSeen) this.#announcementsLost.add(Number(announcementsLost - this.#announcementsLostSeen));
    this.#announcementsLostSeen = announcementsLost;
  }

  /** Kernel counts of the samples drained so far (for tests and the benchmark). */
  counters(): KernelCounters {
    return { ...this.#drained };
  }

  /** Stops sampling, emits the partial window, and detaches every program. Safe twice and without start. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#tick;
    const kernel = this.#kernel;
    if (!kernel) return;
    try {
      kernel.drainAnnouncements();
      await this.#read(true);
    } finally {
      kernel.close();
      this.#kernel = undefined;
      this.#symbolizer.close();
    }
  }
}
