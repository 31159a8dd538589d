// Helpers for this receiver's tests: a collection flattened to resources and points; the disk a
// directory is on and the kernel's own I/O counts of a test cgroup.
import { readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TestCgroup } from '../../test/support/cgroups.ts';
import { parseBlkioRw, parseIoStat } from './cgroup-stats.ts';
import { anyValueToString } from '../../src/pdata/common.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import type { MetricsData, NumberDataPoint } from '../../src/pdata/metrics.ts';

export interface Point {
  metric: string;
  unit: string;
  type: string;
  monotonic?: boolean;
  attributes: Record<string, string>;
  value: number;
  start?: bigint;
}

/** Flattens a collection to resource -> points, for exact comparisons. */
export function flatten(data: MetricsData): { resource: Record<string, string>; points: Point[] }[] {
  const attrs = (list: KeyValue[]) => Object.fromEntries(list.map((a) => [a.key, anyValueToString(a.value)]));
  return data.resourceMetrics.map((rm) => ({
    resource: attrs(rm.resource.attributes),
    points: rm.scopeMetrics.flatMap((sm) =>
      sm.metrics.flatMap((m) => {
        if (m.data.type !== 'sum' && m.data.type !== 'gauge') return [];
        const monotonic = m.data.type === 'sum' ? m.data.isMonotonic : undefined;
        return m.data.dataPoints.map((p: NumberDataPoint) => ({
          metric: m.name,
          unit: m.unit ?? '',
          type: m.data.type,
          ...(monotonic === undefined ? {} : { monotonic }),
          attributes: attrs(p.attributes),
          value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble!,
          ...(p.startTimeUnixNano === undefined ? {} : { start: p.startTimeUnixNano }),
        }));
      }),
    ),
  }));
}

export function value(points: Point[], metric: string, attributes: Record<string, string> = {}): number | undefined {
  const p = points.find((x) => x.metric === metric && Object.entries(attributes).every(([k, v]) => x.attributes[k] === v));
  return p?.value;
}

/** The whole disk a directory's file system is on: name and major:minor (io.stat and blkio count whole disks). */
export function blockDeviceOf(dir: string): { name: string; majorMinor: string } {
  // glibc's dev_t encoding: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
  const dev = statSync(dir, { bigint: true }).dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const majorMinor = `${major}:${minor}`;
  let sys = realpathSync(`/sys/dev/block/${majorMinor}`);
  try {
    statSync(join(sys, 'partition'));
    sys = realpathSync(join(sys, '..'));
  } catch {
    // a whole disk already
  }
  return { name: basename(sys), majorMinor: readFileSync(join(sys, 'dev'), 'utf8').trim() };
}

/**
 * Since Linux 6.8 (blk-throttle set up only once configured), v1 blkio counts nothing on a disk
 * without a throttle rule: a rule far above anything the disk can do turns the counting on and
 * limits nothing. (v2's io.stat always counts; so does the block_io eBPF option.)
 */
export function enableV1BlkioStats(cg: TestCgroup, majorMinor: string): void {
  if (cg.v2Has('io') || !cg.v1.has('blkio')) return;
  writeFileSync(join(cg.dir('blkio'), 'blkio.throttle.write_bps_device'), `${majorMinor} ${2 ** 50}`);
  writeFileSync(join(cg.dir('blkio'), 'blkio.throttle.read_bps_device'), `${majorMinor} ${2 ** 50}`);
}

/** The kernel's own byte and operation counts of a cgroup on a disk (io.stat, or v1 blkio). */
export function kernelIo(cg: TestCgroup, majorMinor: string): { writeBytes: number; writes: number; readBytes: number } {
  if (cg.v2Has('io')) {
    const d = parseIoStat(cg.read('io.stat')).get(majorMinor);
    return { writeBytes: d?.writeBytes ?? 0, writes: d?.writes ?? 0, readBytes: d?.readBytes ?? 0 };
  }
  const bytes = parseBlkioRw(cg.read('blkio.throttle.io_service_bytes_recursive', 'blkio')).get(majorMinor);
  const ops = parseBlkioRw(cg.read('blkio.throttle.io_serviced_recursive', 'blkio')).get(majorMinor);
  return { writeBytes: bytes?.write ?? 0, writes: ops?.write ?? 0, readBytes: bytes?.read ?? 0 };
}
