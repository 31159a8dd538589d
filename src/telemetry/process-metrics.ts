// The process series the Collector reports about itself: uptime, CPU, memory.
import type { SelfTelemetry } from './self.ts';

export function registerProcessMetrics(telemetry: SelfTelemetry): void {
  const startedAt = Date.now();
  telemetry.gauge('process_uptime', 'Uptime of the process.', () => (Date.now() - startedAt) / 1000, 's');
  telemetry.gauge('process_cpu_seconds', 'Total CPU user and system time.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }, 's');
  telemetry.gauge('process_memory_rss', 'Total physical memory (resident set size).', () => process.memoryUsage().rss, 'By');
  telemetry.gauge('process_runtime_heap_alloc_bytes', 'Bytes of allocated heap objects (V8 heap used).', () => process.memoryUsage().heapUsed, 'By');
}
