// Measures the process's resident memory every check_interval and decides whether data must be
// refused: above the soft limit until usage falls below it again. Above the hard limit it also
// asks V8 for a garbage collection when bpfcol runs with --expose-gc. One checker serves every
// signal of one memory_limiter, as in the Collector.
import type { Component } from '../../src/component/component.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import { type MemoryLimits, MIB } from './limits.ts';

export type ReadMemory = () => number;

const mib = (bytes: number) => Math.round(bytes / MIB);

function requestGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}

export class MemoryChecker implements Component {
  /** True while usage is at or above the soft limit. */
  refusing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly limits: MemoryLimits;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly readMemory: ReadMemory;

  constructor(limits: MemoryLimits, intervalMs: number, logger: Logger, readMemory: ReadMemory = () => process.memoryUsage.rss()) {
    this.limits = limits;
    this.intervalMs = intervalMs;
    this.logger = logger;
    this.readMemory = readMemory;
  }

  async start(): Promise<void> {
    this.logger.info('Memory limiter configured', {
      limit_mib: mib(this.limits.hardBytes),
      spike_limit_mib: mib(this.limits.spikeBytes),
      check_interval_ms: this.intervalMs,
    });
    this.check();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  check(): void {
    let used = this.readMemory();
    if (used >= this.limits.hardBytes) {
      const gc = requestGc();
      this.logger.warn(gc ? 'Memory usage is above hard limit. Forcing a GC.' : 'Memory usage is above hard limit.', {
        cur_mem_mib: mib(used),
        limit_mib: mib(this.limits.hardBytes),
        ...(gc ? {} : { hint: 'run node with --expose-gc to let the memory limiter force a GC' }),
      });
      if (gc) used = this.readMemory();
    }
    const above = used >= this.limits.softBytes;
    if (above && !this.refusing) {
      this.logger.warn('Memory usage is above soft limit. Refusing data.', {
        cur_mem_mib: mib(used),
        soft_limit_mib: mib(this.limits.softBytes),
      });
    } else if (!above && this.refusing) {
      this.logger.info('Memory usage back within limits. Resuming normal operation.', { cur_mem_mib: mib(used) });
    }
    this.refusing = above;
  }
}
