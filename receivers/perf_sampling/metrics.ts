// process.cpu.samples: CPU samples per process and CPU mode, a cumulative sum (what Prometheus and
// Grafana chart as a rate: samples/s divided by the frequency is the share of a CPU). The kernel
// maps are reset at every read: the totals live here. At most `maxSeries` processes have a series;
// samples of the others fold into one series marked otel.metric.overflow=true. A process not
// sampled for `expirationMs` is forgotten.
import { type KeyValue, attributes } from '../../src/pdata/common.ts';
import { AggregationTemporality, type MetricsData, type NumberDataPoint, type ResourceMetrics } from '../../src/pdata/metrics.ts';
import { SCOPE, processResource, type ProcessSamples } from './window.ts';

export const SAMPLES_METRIC = 'process.cpu.samples';

interface Series {
  resource: KeyValue[];
  startUnixNano: bigint;
  lastSeen: number;
  user: bigint;
  system: bigint;
}

const OVERFLOW = 'overflow';

export class CpuSampleMetrics {
  readonly #series = new Map<string, Series>();
  readonly #maxSeries: number;
  readonly #expirationMs: number;
  readonly #frequency: number;
  folded = 0;

  constructor(options: { maxSeries: number; expirationMs: number; frequency: number }) {
    this.#maxSeries = options.maxSeries;
    this.#expirationMs = options.expirationMs;
    this.#frequency = options.frequency;
  }

  get seriesCount(): number {
    return this.#series.size;
  }

  add(samples: readonly ProcessSamples[], startUnixNano: bigint): void {
    const now = Date.now();
    for (const s of samples) {
      const p = s.process;
      let key = `${p.tgid}:${p.startTicks ?? ''}`;
      let series = this.#series.get(key);
      if (!series && this.#series.size - (this.#series.has(OVERFLOW) ? 1 : 0) >= this.#maxSeries) {
        key = OVERFLOW;
        series = this.#series.get(key);
        this.folded += s.user + s.system;
      }
      if (!series) {
        series = {
          resource: key === OVERFLOW ? [{ key: 'otel.metric.overflow', value: { boolValue: true } }] : processResource(p),
          startUnixNano,
          lastSeen: now,
          user: 0n,
          system: 0n,
        };
        this.#series.set(key, series);
      }
      series.user += BigInt(s.user);
      series.system += BigInt(s.system);
      series.lastSeen = now;
    }
    for (const [key, series] of this.#series) if (now - series.lastSeen > this.#expirationMs) this.#series.delete(key);
  }

  build(timeUnixNano: bigint): MetricsData {
    const resourceMetrics: ResourceMetrics[] = [];
    for (const s of this.#series.values()) {
      const point = (mode: string, value: bigint): NumberDataPoint => ({
        attributes: attributes({ 'cpu.mode': mode }),
        startTimeUnixNano: s.startUnixNano,
        timeUnixNano,
        asInt: value,
      });
      resourceMetrics.push({
        resource: { attributes: s.resource },
        scopeMetrics: [
          {
            scope: SCOPE,
            metrics: [
              {
                name: SAMPLES_METRIC,
                description: `CPU samples taken while the process ran (${this.#frequency} per second per CPU: samples / ${this.#frequency} is CPU seconds)`,
                unit: '{sample}',
                data: {
                  type: 'sum',
                  aggregationTemporality: AggregationTemporality.CUMULATIVE,
                  isMonotonic: true,
                  dataPoints: [point('user', s.user), point('system', s.system)],
                },
              },
            ],
          },
        ],
      });
    }
    return { resourceMetrics };
  }
}
