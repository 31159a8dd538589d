// block_io (eBPF): dd writes 64 MiB with O_DIRECT in a test cgroup; the latency histogram and byte
// count of that cgroup match what dd wrote and what the kernel's cgroup files count, and land on the
// cgroup's own resource (its v2 id, also on a hybrid host where the kernel names the v1 blkio cgroup).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgroupIdOf } from '../../src/host/cgroups.ts';
import { REPO_ROOT } from '../../test/support/cli.ts';
import { TestCgroupTree, requireRootForCgroups } from '../../test/support/cgroups.ts';
import { SinkConsumer, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import type { HistogramDataPoint, MetricsData } from '../../src/pdata/metrics.ts';
import { anyValueToString } from '../../src/pdata/common.ts';
import { LATENCY_BOUNDS_S } from './block-io.ts';
import { resourcesConfigSchema } from './config.ts';
import { blockDeviceOf, enableV1BlkioStats, kernelIo } from './testing.ts';
import { ResourcesReceiver } from './receiver.ts';

const MiB = 1024 * 1024;

function histogramOf(data: MetricsData, path: string, device: string): HistogramDataPoint | undefined {
  for (const rm of data.resourceMetrics) {
    if (!rm.resource.attributes.some((a) => a.key === 'container.cgroup.path' && anyValueToString(a.value) === path)) continue;
    for (const m of rm.scopeMetrics[0]?.metrics ?? []) {
      if (m.name !== 'container.disk.operation.duration' || m.data.type !== 'histogram') continue;
      return m.data.dataPoints.find((p) =>
        p.attributes.some((a) => a.key === 'disk.io.direction' && anyValueToString(a.value) === 'write') &&
        p.attributes.some((a) => a.key === 'system.device' && anyValueToString(a.value) === device),
      );
    }
  }
  return undefined;
}

function bytesOf(data: MetricsData, path: string, device: string): number {
  for (const rm of data.resourceMetrics) {
    if (!rm.resource.attributes.some((a) => a.key === 'container.cgroup.path' && anyValueToString(a.value) === path)) continue;
    for (const m of rm.scopeMetrics[0]?.metrics ?? []) {
      if (m.name !== 'container.disk.request.io' || m.data.type !== 'sum') continue;
      const p = m.data.dataPoints.find((x) => x.attributes.some((a) => a.key === 'system.device' && anyValueToString(a.value) === device) &&
        x.attributes.some((a) => a.key === 'disk.io.direction' && anyValueToString(a.value) === 'write'));
      return p ? Number(p.asInt) : 0;
    }
  }
  return 0;
}

describe('block_io: block request latency per cgroup (eBPF)', () => {
  let tree: TestCgroupTree;
  let receiver: ResourcesReceiver;
  const telemetry = recordingTelemetry();
  const dir = (() => {
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    return mkdtempSync(join(REPO_ROOT, 'test-artifacts', 'resources-blockio-'));
  })();

  before(async () => {
    tree = new TestCgroupTree(requireRootForCgroups());
    const config = resourcesConfigSchema.parse({ node: { enabled: false }, cgroups: { include: [tree.include] }, block_io: { enabled: true } });
    receiver = new ResourcesReceiver(testSettings('resources', 'receiver', 'metrics', { telemetry }), config, new SinkConsumer());
    await receiver.start();
  });

  after(async () => {
    await receiver?.shutdown();
    await tree?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dd with O_DIRECT: requests, bytes and latency on the cgroup\'s resource, as dd wrote and the kernel counts', async (t) => {
    const device = blockDeviceOf(dir);
    const cg = tree.child('dd');
    enableV1BlkioStats(cg, device.majorMinor);
    const before = await receiver.collect();
    const k0 = kernelIo(cg, device.majorMinor);
    const h0 = histogramOf(before, cg.path, device.name);
    const b0 = bytesOf(before, cg.path, device.name);
    const dd = tree.track(cg.spawn('dd', ['if=/dev/zero', `of=${join(dir, 'data')}`, 'bs=1M', 'count=64', 'oflag=direct']));
    assert.equal(await new Promise((resolve) => dd.once('exit', resolve)), 0, 'dd must succeed');
    const afterData = await receiver.collect();
    const k1 = kernelIo(cg, device.majorMinor);
    const h1 = histogramOf(afterData, cg.path, device.name);
    assert.ok(h1, `no write latency histogram for ${cg.path} on ${device.name}`);

    const resource = afterData.resourceMetrics.find((rm) => rm.resource.attributes.some((a) => a.key === 'container.cgroup.path' && anyValueToString(a.value) === cg.path))!;
    const id = resource.resource.attributes.find((a) => a.key === 'container.cgroup.id');
    if (cg.unified) assert.equal(id && anyValueToString(id.value), String(cgroupIdOf(cg.unified)), 'named by its v2 id');

    const requests = h1.count - (h0?.count ?? 0);
    const bytes = bytesOf(afterData, cg.path, device.name) - b0;
    const kernelRequests = k1.writes - k0.writes;
    t.diagnostic(`requests ${requests} (kernel ${kernelRequests}), bytes ${bytes} (kernel ${k1.writeBytes - k0.writeBytes}, dd ${64 * MiB}), mean latency ${(((h1.sum ?? 0) - (h0?.sum ?? 0)) / requests * 1e3).toFixed(3)} ms`);
    assert.ok(Math.abs(bytes - 64 * MiB) <= 0.1 * 64 * MiB, `bytes ${bytes} against the 64 MiB dd wrote`);
    assert.ok(Math.abs(bytes - (k1.writeBytes - k0.writeBytes)) <= 0.1 * (k1.writeBytes - k0.writeBytes), `bytes ${bytes} against the kernel's ${k1.writeBytes - k0.writeBytes}`);
    assert.ok(Math.abs(requests - kernelRequests) <= 0.1 * kernelRequests, `requests ${requests} against the kernel's ${kernelRequests}`);

    assert.equal(h1.explicitBounds, LATENCY_BOUNDS_S);
    assert.equal(h1.bucketCounts.length, h1.explicitBounds.length + 1);
    assert.equal(h1.bucketCounts.reduce((a, b) => a + b, 0), h1.count, 'buckets add up to the count');
    const mean = (h1.sum! - (h0?.sum ?? 0)) / requests;
    assert.ok(mean > 1e-6 && mean < 1, `mean latency ${mean}s is a disk's`);
    assert.equal(h1.startTimeUnixNano, h0?.startTimeUnixNano ?? h1.startTimeUnixNano, 'a cumulative series keeps its start');

    const lost = telemetry.gauges.get('receiver_resources_block_io_lost')!();
    assert.ok(Array.isArray(lost) && lost.every((o) => o.value === 0), 'nothing lost');
  });
});
