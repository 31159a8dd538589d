// The process series the Collector reports about itself: uptime, CPU, memory; and, because one
// event loop serves every receiver and the scrape endpoints, how long it was kept busy.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SelfTelemetry } from './self.ts';

export function registerProcessMetrics(telemetry: SelfTelemetry): void {
  const startedAt = Date.now();
  telemetry.gauge('process_uptime', 'Uptime of the process.', () => (Date.now() - startedAt) / 1000, 's');
  telemetry.gauge('process_cpu_seconds', 'Total CPU user and system time.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }, 's');
  telemetry.gauge('process_memory_rss', 'Total physical memory (resident set size).', () => process.memoryUsage().rss, 'By');
  // The longest stall since the last read: what a late scrape or a late ring buffer read waited.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  telemetry.gauge('process_runtime_event_loop_delay_max', 'Longest event loop delay since the last read (nodejs.eventloop.delay.max).', () => {
    const max = delay.max / 1e9;
    delay.reset();
    return max;
  }, 's');
  telemetry.gauge('process_runtime_heap_alloc_bytes', 'Bytes of allocated heap objects (V8 heap used).', () => process.memoryUsage().heapUsed, 'By');
}
