// One tcp_drop receiver: one kernel object serving the metrics pipelines (every
// collection_interval) and the logs pipelines (drop records as they come, when logs.enabled).
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { probeKernel } from '../../src/bpf/probe.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { describeFlow } from './attributes.ts';
import type { TcpDropConfig } from './config.ts';
import { CidrFilter } from './endpoints.ts';
import { HOOKS, type KernelLosses, TcpDropKernel, missingKernelFeatures } from './kernel.ts';
import type { DropEvent } from './layout.ts';
import { findListeners } from './listeners.ts';
import { dropLogs } from './logs.ts';
import { TcpMetrics } from './metrics.ts';
import { ProcessNames } from './process-names.ts';
import { ReasonNames } from './reasons.ts';
import { InFlight } from '../../src/component/in-flight.ts';

export class TcpDropReceiver implements Component {
  metricsConsumer: Consumer<'metrics'> | undefined;
  logsConsumer: Consumer<'logs'> | undefined;
  readonly #settings: CreateSettings;
  readonly #config: TcpDropConfig;
  readonly #cidrs: CidrFilter;
  readonly #names = new ProcessNames();
  readonly #lost: Counter;
  readonly #rateLimited: Counter;
  readonly #ringLost: Counter;
  readonly #folded: Counter;
  #kernel: TcpDropKernel | undefined;
  #reasons: ReasonNames | undefined;
  #metrics: TcpMetrics | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  readonly #pendingLogs = new InFlight();
  #lastLosses: KernelLosses = { flowsFull: 0n, rttFull: 0n, ownersFull: 0n, logsRateLimited: 0n, logsLost: 0n };
  #stopping: Promise<void> | undefined;

  constructor(settings: CreateSettings, config: TcpDropConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#cidrs = new CidrFilter(config.filters.cidrs);
    const t = settings.telemetry;
    this.#lost = t.counter(
      'receiver_tcp_drop_kernel_lost',
      'TCP events the kernel program could not record because a map was full (map=flows|rtt|owners; owners: the pid stays unknown)',
      '{events}',
    );
    this.#rateLimited = t.counter('receiver_tcp_drop_logs_rate_limited', 'Drop records not sent because of logs.max_per_second', '{records}');
    this.#ringLost = t.counter('receiver_tcp_drop_logs_lost', 'Drop records lost because the ring buffer was full', '{records}');
    this.#folded = t.counter(
      'receiver_tcp_drop_series_folded',
      'Points added to the otel.metric.overflow series because the metric already had max_series series',
      '{points}',
    );
    t.gauge(
      'receiver_tcp_drop_series',
      'Live series per metric',
      () => Object.entries(this.#metrics?.seriesCounts() ?? {}).map(([metric, value]) => ({ value, attributes: { metric } })),
      '{series}',
    );
  }

  /** Kernel ids of the programs attached now (none before start and after shutdown). */
  programIds(): number[] {
    const object = this.#kernel?.object;
    if (!object || object.closed) return [];
    return object.programs().filter((p) => p.id > 0).map((p) => p.id);
  }

  get #where(): string {
    return `receivers.${this.#settings.id.text}`;
  }

  async start(): Promise<void> {
    const { logger } = this.#settings;
    const config = this.#config;
    const report = probeKernel({ tracepoints: HOOKS.map((h) => h.tracepoint) });
    const missing = missingKernelFeatures(config, report);
    if (missing.length) throw new Error(`${this.#where}: this kernel cannot run tcp_drop: ${missing.join('; ')}`);
    if (config.logs.enabled && !this.logsConsumer) {
      logger.warn('logs.enabled is set but no logs pipeline uses this receiver: drop records are not collected');
    }
    if (!config.logs.enabled && this.logsConsumer) {
      logger.warn('a logs pipeline uses this receiver but logs.enabled is false: it will get no records');
    }
    this.#reasons = new ReasonNames();
    const start = nowUnixNano();
    this.#metrics = new TcpMetrics({ maxSeries: config.max_series, expirationMs: config.series_expiration, startUnixNano: start });
    const opened = TcpDropKernel.open({ ...config, logs: { ...config.logs, enabled: config.logs.enabled && !!this.logsConsumer } }, report);
    this.#kernel = opened.kernel;
    if (opened.skipped.length) {
      logger.info('optional hooks missing on this kernel: owners of some sockets may stay unknown', { skipped: opened.skipped });
    }
    try {
      // After attaching, so a listener is either seen by the programs or found here.
      const seeded = this.#kernel.seedListeners(findListeners());
      logger.debug('listening sockets found in /proc', { count: seeded });
      if (config.logs.enabled && this.logsConsumer) this.#kernel.startDropLog((events) => this.#onDrops(events));
    } catch (err) {
      this.#kernel.close();
      this.#kernel = undefined;
      throw err;
    }
    logger.info('tcp_drop attached', {
      events: config.events,
      programs: opened.kernel.object.links().map((l) => l.description),
      collection_interval_ms: config.collection_interval,
    });
    this.#schedule(Date.now() + config.collection_interval);
  }

  #schedule(at: number): void {
    this.#timer = setTimeout(() => {
      this.#tick = this.#collectAndEmit().finally(() => {
        this.#tick = undefined;
      });
      // Keep the cadence: the next collection is one interval after this one was due.
      let next = at + this.#config.collection_interval;
      const now = Date.now();
      if (next <= now) next = now + this.#config.collection_interval;
      if (!this.#stopping) this.#schedule(next);
    }, Math.max(0, at - Date.now()));
  }

  /** Reads the kernel maps, updates the series and sends every live series down the metrics pipelines. */
  async #collectAndEmit(): Promise<void> {
    const kernel = this.#kernel;
    const metrics = this.#metrics;
    const reasons = this.#reasons;
    if (!kernel || !metrics || !reasons) return;
    try {
      const late = kernel.lateReads;
      const collected = await kernel.collect();
      if (kernel.lateReads > late) this.#settings.logger.warn('a kernel program was still writing to the counts being read: some may be counted late or lost');
      const describe = { cidrs: this.#cidrs, names: this.#names };
      const folded = metrics.ingest(collected, (key) => describeFlow(key, describe), reasons);
      for (const [metric, n] of folded) this.#folded.add(n, { metric });
      this.#exportLosses(kernel.losses());
      const data = metrics.build(collected.timeUnixNano);
      if (this.metricsConsumer && data.resourceMetrics.length) await this.metricsConsumer.consume(data);
    } catch (err) {
      this.#settings.logger.error('tcp_drop collection failed', { error: (err as Error).message });
    }
  }

  #exportLosses(now: KernelLosses): void {
    const last = this.#lastLosses;
    const diff = (a: bigint, b: bigint) => Number(a - b);
    if (now.flowsFull > last.flowsFull) this.#lost.add(diff(now.flowsFull, last.flowsFull), { map: 'flows' });
    if (now.rttFull > last.rttFull) this.#lost.add(diff(now.rttFull, last.rttFull), { map: 'rtt' });
    if (now.ownersFull > last.ownersFull) this.#lost.add(diff(now.ownersFull, last.ownersFull), { map: 'owners' });
    if (now.logsRateLimited > last.logsRateLimited) this.#rateLimited.add(diff(now.logsRateLimited, last.logsRateLimited));
    if (now.logsLost > last.logsLost) this.#ringLost.add(diff(now.logsLost, last.logsLost));
    this.#lastLosses = now;
  }

  #onDrops(events: DropEvent[]): void {
    const consumer = this.logsConsumer;
    const reasons = this.#reasons;
    if (!consumer || !reasons) return;
    const data = dropLogs(events, { cidrs: this.#cidrs, names: this.#names }, (v) => reasons.drop(v));
    if (data.resourceLogs.length === 0) return;
    this.#pendingLogs.track(consumer.consume(data), (err) =>
      this.#settings.logger.warn('drop records refused by the logs pipeline', { error: (err as Error).message }),
    );
  }

  /** Stops collecting, sends a last collection, and detaches every program. Safe twice and without start. */
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
      kernel.drainDropLog();
      await this.#collectAndEmit();
      await this.#pendingLogs.settled();
    } finally {
      kernel.close();
      this.#kernel = undefined;
    }
  }
}
