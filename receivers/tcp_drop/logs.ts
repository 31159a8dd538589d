// One log record per dropped TCP packet (logs.enabled), from the drop_log ring buffer.
import { type KeyValue, nowUnixNano } from '../../src/pdata/common.ts';
import type { LogRecord, LogsData } from '../../src/pdata/logs.ts';
import { VERSION } from '../../src/version.ts';
import { type DescribeOptions, describeFlow } from './attributes.ts';
import type { DropEvent } from './layout.ts';
import { SCOPE_NAME } from './metrics.ts';

export const DROP_EVENT_NAME = 'tcp.drop';
const SEVERITY_INFO = 9;

/**
 * Log records for drop events. Kernel timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns), the
 * clock of process.hrtime: they become wall-clock time through the offset between the two now.
 */
export function dropLogs(
  events: readonly DropEvent[],
  describe: DescribeOptions,
  dropReason: (value: number) => string,
): LogsData {
  const observed = nowUnixNano();
  const offset = observed - process.hrtime.bigint();
  const records: LogRecord[] = [];
  for (const e of events) {
    const flow = describeFlow(e.key, describe);
    if (!flow) continue;
    const reason = dropReason(e.key.reason);
    const attributes: KeyValue[] = [...flow.attributes, { key: 'tcp.drop.reason', value: { stringValue: reason } }];
    if (e.netns) attributes.push({ key: 'network.namespace.inode', value: { intValue: BigInt(e.netns) } });
    records.push({
      timeUnixNano: e.time_ns + offset,
      observedTimeUnixNano: observed,
      severityNumber: SEVERITY_INFO,
      severityText: 'INFO',
      eventName: DROP_EVENT_NAME,
      body: { stringValue: `TCP packet dropped: ${reason}` },
      attributes,
    });
  }
  return {
    resourceLogs: records.length
      ? [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: SCOPE_NAME, version: VERSION }, logRecords: records }] }]
      : [],
  };
}
