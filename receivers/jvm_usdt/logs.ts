// One log record per garbage collection (logs.enabled), from the gc_events ring buffer: which
// collector, why (sun.gc.cause, read by the program from the JVM's hsperfdata memory while the
// collection ran), how long, and the bytes used before and after, summed over every pool.
import { type KeyValue, attributes, nowUnixNano } from '../../src/pdata/common.ts';
import type { LogRecord, LogsData, ResourceLogs } from '../../src/pdata/logs.ts';
import { VERSION } from '../../src/version.ts';
import type { GcEventT } from './layout.ts';
import { GC_ACTIONS, SCOPE_NAME } from './metrics.ts';

export const GC_EVENT_NAME = 'jvm.gc';
const SEVERITY_INFO = 9;

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/**
 * Log records for GC events, one resource per JVM (`resourceOf` gives it; undefined drops the
 * event: a JVM no longer watched). Kernel times are CLOCK_MONOTONIC (bpf_ktime_get_ns), the clock
 * of process.hrtime: they become wall-clock time through the offset between the two now.
 */
export function gcLogs(events: readonly GcEventT[], resourceOf: (pid: number) => KeyValue[] | undefined): LogsData {
  const observed = nowUnixNano();
  const offset = observed - process.hrtime.bigint();
  const byPid = new Map<number, ResourceLogs>();
  for (const e of events) {
    const resource = resourceOf(e.pid);
    if (!resource) continue;
    let rl = byPid.get(e.pid);
    if (!rl) {
      rl = { resource: { attributes: resource }, scopeLogs: [{ scope: { name: SCOPE_NAME, version: VERSION }, logRecords: [] }] };
      byPid.set(e.pid, rl);
    }
    const action = GC_ACTIONS[e.action] ?? `action ${e.action}`;
    const seconds = Number(e.duration_ns) / 1e9;
    const before = Number(e.used_before);
    const after = Number(e.used_after);
    const freed = before - after;
    const cause = e.cause || undefined;
    const record: LogRecord = {
      timeUnixNano: e.begin_ns + e.duration_ns + offset,
      observedTimeUnixNano: observed,
      severityNumber: SEVERITY_INFO,
      severityText: 'INFO',
      eventName: GC_EVENT_NAME,
      body: { stringValue: `${e.manager} ${action}${cause ? ` (${cause})` : ''}: ${(seconds * 1000).toFixed(3)} ms, ${mib(before)} -> ${mib(after)}, ${mib(freed)} freed` },
      attributes: [
        ...attributes({ 'jvm.gc.name': e.manager, 'jvm.gc.action': action, 'jvm.gc.cause': cause }),
        { key: 'jvm.gc.duration', value: { doubleValue: seconds } },
        ...attributes({
        'jvm.gc.memory.used_before': before,
        'jvm.gc.memory.used_after': after,
        'jvm.gc.memory.freed': freed,
        'thread.id': e.tid,
        }),
      ],
    };
    rl.scopeLogs[0]!.logRecords.push(record);
  }
  return { resourceLogs: [...byPid.values()] };
}
