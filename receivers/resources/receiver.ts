// The resources receiver: every collection_interval, one MetricsData holding the node's resource,
// one resource per container / pod / included cgroup, one per chosen process, and (block_io) the
// eBPF block request latency per cgroup.
import type { Component, CreateSettings } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { nowUnixNano } from '../../src/pdata/common.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { Counter, Histogram } from '../../src/telemetry/self.ts';
import { BlockIoKernel, BlockIoSeries, type TargetLookup, blockIoMissingFeatures } from './block-io.ts';
import { CollectionBuilder } from './builder.ts';
import type { ResourcesConfig } from './config.ts';
import { CgroupCollector } from './containers.ts';
import { HostInfo, type HostInfoOptions } from './host-info.ts';
import { NodeCollector } from './node.ts';
import { ProcessCollector } from './processes.ts';

export interface ResourcesReceiverOptions {
  /** Host facts to use instead of the machine's (tests with fixture hierarchies). */
  host?: Partial<HostInfoOptions>;
}

export class ResourcesReceiver implements Component {
  readonly #settings: CreateSettings;
  readonly #config: ResourcesConfig;
  readonly #consumer: Consumer<'metrics'>;
  readonly #options: ResourcesReceiverOptions;
  readonly #cgroupsSkipped: Counter;
  readonly #processesSkipped: Counter;
  readonly #failures: Counter;
  readonly #duration: Histogram;
  readonly #blockIoDropped: Counter;
  #host: HostInfo | undefined;
  #node: NodeCollector | undefined;
  #cgroups: CgroupCollector | undefined;
  #processes: ProcessCollector | undefined;
  #blockIo: { kernel: BlockIoKernel; series: BlockIoSeries } | undefined;
  #reportedCgroups = 0;
  #reportedProcesses = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #collecting: Promise<MetricsData> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(settings: CreateSettings, config: ResourcesConfig, consumer: Consumer<'metrics'>, options: ResourcesReceiverOptions = {}) {
    this.#settings = settings;
    this.#config = config;
    this.#consumer = consumer;
    this.#options = options;
    const t = settings.telemetry;
    this.#cgroupsSkipped = t.counter('receiver_resources_cgroups_skipped', 'Cgroups not reported because cgroups.max_cgroups were already reported', '{cgroups}');
    this.#processesSkipped = t.counter('receiver_resources_processes_skipped', 'Processes not reported because processes.max_processes were already reported', '{processes}');
    this.#failures = t.counter('receiver_resources_collection_failures', 'Collections that failed (the error is logged)', '{collections}');
    this.#duration = t.histogram('receiver_resources_collection_duration', 'Wall time of one collection', 's', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
    this.#blockIoDropped = t.counter('receiver_resources_block_io_series_dropped', 'Block I/O records not kept (reason=max_series: block_io.max_series series were live; cgroup_gone: a v1 cgroup removed before its id was resolved)', '{points}');
    t.gauge('receiver_resources_cgroups', 'Cgroups reported by the last collection', () => this.#reportedCgroups, '{cgroups}');
    t.gauge('receiver_resources_processes', 'Processes reported by the last collection', () => this.#reportedProcesses, '{processes}');
    t.gauge(
      'receiver_resources_block_io_lost',
      'Block requests the eBPF program could not follow (map=inflight|stats: the map was full)',
      () => {
        const l = this.#blockIo?.kernel.losses();
        return l ? [{ value: Number(l.inflightFull), attributes: { map: 'inflight' } }, { value: Number(l.statsFull), attributes: { map: 'stats' } }] : [];
      },
      '{requests}',
    );
  }

  get #where(): string {
    return `receivers.${this.#settings.id.text}`;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const { logger } = this.#settings;
    const host = new HostInfo({ rootPath: config.root_path, ...this.#options.host });
    this.#host = host;
    if (config.node.enabled) this.#node = new NodeCollector(config.node, host);
    if (config.cgroups.enabled) {
      this.#cgroups = new CgroupCollector(config.cgroups, host);
      if (!this.#cgroups.walkRoot) logger.warn('no cgroup file system is mounted: container and pod metrics are off');
    }
    if (config.processes.enabled) this.#processes = new ProcessCollector(config.processes, host);
    if (config.block_io.enabled) {
      const missing = blockIoMissingFeatures();
      if (missing.length) throw new Error(`${this.#where}: this kernel cannot run block_io: ${missing.join('; ')}`);
      const kernel = BlockIoKernel.open(config.block_io);
      this.#blockIo = { kernel, series: new BlockIoSeries(host.hierarchies, config.block_io.max_series) };
      logger.info('block_io attached', { programs: kernel.object.links().map((l) => l.description) });
    }
    logger.info('resources collecting', {
      collection_interval_ms: config.collection_interval,
      cgroup_hierarchy: this.#cgroups?.walkRoot,
      node: config.node.enabled,
      processes: config.processes.enabled,
      block_io: config.block_io.enabled,
    });
    this.#schedule(Date.now() + config.collection_interval);
  }

  #schedule(at: number): void {
    this.#timer = setTimeout(() => {
      this.#tick = this.#collectAndEmit().finally(() => (this.#tick = undefined));
      let next = at + this.#config.collection_interval;
      const now = Date.now();
      if (next <= now) next = now + this.#config.collection_interval;
      if (!this.#stopping) this.#schedule(next);
    }, Math.max(0, at - Date.now()));
  }

  async #collectAndEmit(): Promise<void> {
    try {
      const data = await this.collect();
      if (data.resourceMetrics.length) await this.#consumer.consume(data);
    } catch (err) {
      this.#failures.add(1);
      this.#settings.logger.error('resources collection failed', { error: (err as Error).message });
    }
  }

  /** One collection (after start). Calls never overlap. */
  collect(): Promise<MetricsData> {
    const run = (this.#collecting ?? Promise.resolve()).then(
      () => this.#collect(),
      () => this.#collect(),
    );
    this.#collecting = run;
    return run;
  }

  async #collect(): Promise<MetricsData> {
    const host = this.#host;
    if (!host) throw new Error(`${this.#where}: collect() before start()`);
    const began = performance.now();
    host.newCollection();
    const out = new CollectionBuilder(nowUnixNano());
    const nodeDone = this.#node?.collect(out);
    if (this.#cgroups) {
      const stats = { skipped: 0 };
      const targets = this.#cgroups.discover(stats);
      if (stats.skipped) this.#cgroupsSkipped.add(stats.skipped);
      this.#reportedCgroups = targets.length;
      const builders = this.#cgroups.collect(out, targets);
      if (this.#blockIo) await this.#collectBlockIo(out, (id) => {
        const t = this.#cgroups?.targetById(id);
        return t && builders.get(t.path);
      });
    } else if (this.#blockIo) await this.#collectBlockIo(out, () => undefined);
    if (this.#processes) {
      const { pids, skipped } = this.#processes.select();
      if (skipped) this.#processesSkipped.add(skipped);
      this.#reportedProcesses = pids.length;
      this.#processes.collect(out, pids);
    }
    await nodeDone;
    this.#duration.record((performance.now() - began) / 1000);
    return out.build();
  }

  async #collectBlockIo(out: CollectionBuilder, lookup: TargetLookup): Promise<void> {
    const { kernel, series } = this.#blockIo!;
    const host = this.#host!;
    series.add(await kernel.collect(), (dev) => host.deviceName(dev));
    series.emit(out, lookup);
    if (series.dropped) {
      this.#blockIoDropped.add(series.dropped, { reason: 'max_series' });
      series.dropped = 0;
    }
    if (series.unresolved) {
      this.#blockIoDropped.add(series.unresolved, { reason: 'cgroup_gone' });
      series.unresolved = 0;
    }
  }

  /** Stops collecting, sends a last collection, detaches block_io. Safe twice and without start. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#tick;
    if (!this.#host) return;
    try {
      if (this.#blockIo) await this.#collectAndEmit();
    } finally {
      this.#blockIo?.kernel.close();
      this.#blockIo = undefined;
      this.#host = undefined;
    }
  }
}

