// HTTP/1.x server requests measured in the kernel (bpf/socket_trace_http1.h: spans.sampling_ratio
// below 1), into the request metrics. The kernel keeps a cumulative histogram per (process,
// method, version, status); each collection adds what one gained since the last to the series the
// same requests feed when user space parses them (protocols/http1.ts serverRequestMetric), so a
// sampled request and a measured one land in one series. Histograms of processes that are gone
// are read one last time, then removed from the kernel.
import { existsSync } from 'node:fs';
import type { KernelHttpSeries } from './kernel.ts';
import { HTTP_METHODS } from './layout.ts';
import type { ProcessResource } from './processes.ts';
import { serverRequestMetric } from './protocols/http1.ts';
import type { RequestMetrics } from './request-metrics.ts';

interface Seen {
  count: number;
  sumNs: number;
  buckets: number[];
}

export interface KernelHttpSource {
  httpRequests(): KernelHttpSeries[];
  deleteHttpRequests(ids: readonly string[]): void;
}

export class KernelHttpRequests {
  readonly #seen = new Map<string, Seen>();
  /** Requests measured in the kernel so far (all collections). */
  requests = 0;

  /**
   * Adds what the kernel measured since the last call to `metrics` (when given: metrics may be
   * off), each process's series under `resourceOf`'s resource. Returns the requests added.
   */
  collect(source: KernelHttpSource, metrics: RequestMetrics | undefined, resourceOf: (tgid: number, startTime: bigint) => ProcessResource, nowNs: bigint): number {
    let added = 0;
    const gone: string[] = [];
    const alive = new Map<number, boolean>();
    for (const k of source.httpRequests()) {
      const before = this.#seen.get(k.id);
      const count = k.count - (before?.count ?? 0);
      if (count > 0) {
        added += count;
        if (metrics) {
          const m = serverRequestMetric(HTTP_METHODS[k.method] || '_OTHER', k.status, k.version === 1 ? '1.1' : '1.0', 'http');
          const series = metrics.series(resourceOf(k.tgid, k.startTime), m.name, m.attributes, nowNs, m.key);
          metrics.merge(
            series,
            {
              count,
              sum: (k.sumNs - (before?.sumNs ?? 0)) / 1e9,
              min: (k.minNs ?? 0) / 1e9,
              max: k.maxNs / 1e9,
              buckets: k.buckets.map((n, i) => n - (before?.buckets[i] ?? 0)),
            },
            nowNs,
          );
        }
        this.#seen.set(k.id, { count: k.count, sumNs: k.sumNs, buckets: k.buckets });
      }
      let ok = alive.get(k.tgid);
      if (ok === undefined) alive.set(k.tgid, (ok = existsSync(`/proc/${k.tgid}`)));
      if (!ok) gone.push(k.id);
    }
    if (gone.length) {
      source.deleteHttpRequests(gone);
      for (const id of gone) this.#seen.delete(id);
    }
    this.requests += added;
    return added;
  }
}
