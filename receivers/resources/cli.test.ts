// Through the CLI: bin/bpfcol with the resources receiver (node, a test cgroup, one process,
// block_io) into the file exporter; what lands in the file has the documented names, units,
// temporalities and attributes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type KeyValue, type Resource, anyValueToString } from '../../src/pdata/common.ts';
import type { Metric } from '../../src/pdata/metrics.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../../test/support/cli.ts';
import { TestCgroupTree, requireRootForCgroups } from '../../test/support/cgroups.ts';
import { readMetrics, waitForItems } from '../../test/support/otlp-files.ts';
import { freePort } from '../../test/support/ports.ts';
import { ALL_METRICS } from './metrics.ts';

type Item = { metric: Metric; resource: Resource };

const attrs = (list: KeyValue[]): Record<string, string> => Object.fromEntries(list.map((a) => [a.key, anyValueToString(a.value)]));

describe('resources through bpfcol to the file exporter', () => {
  const dir = tempDir();
  let tree: TestCgroupTree;
  let bpfcol: RunningBpfcol;
  let items: Item[];
  let sleeperPid: number;
  let cgroupPath: string;

  before(async () => {
    tree = new TestCgroupTree(requireRootForCgroups());
    const cg = tree.child('app');
    cgroupPath = cg.path;
    const sleeper = tree.track(cg.spawn('sleep', ['600']));
    sleeperPid = sleeper.pid!;
    const telemetry = await freePort();
    const config = writeConfig(dir.path, `
receivers:
  resources:
    collection_interval: 500ms
    cgroups: { include: ["${tree.include}"] }
    processes: { enabled: true, include: { pids: [${sleeperPid}] } }
    block_io: { enabled: true }
exporters:
  file: { path: "${join(dir.path, 'metrics.jsonl')}" }
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetry}" }
  pipelines:
    metrics: { receivers: [resources], exporters: [file] }
`);
    bpfcol = await startBpfcol(config);
    // Two collections: the second has container.cpu.usage (a rate needs two readings).
    const wanted = (list: Item[]) => (list.some((i) => i.metric.name === 'container.cpu.usage') ? list : []);
    items = await waitForItems(() => wanted(readMetrics(join(dir.path, 'metrics.jsonl'))), 1, 30_000);
  });

  after(async () => {
    await bpfcol?.stop();
    await tree?.remove();
    dir.cleanup();
  });

  it('every metric has its documented unit and instrument', () => {
    const specs = new Map(ALL_METRICS.map((s) => [s.name, s]));
    for (const { metric } of items) {
      const spec = specs.get(metric.name);
      assert.ok(spec, `${metric.name} is not documented`);
      assert.equal(metric.unit, spec.unit, `${metric.name} unit`);
      const d = metric.data;
      const kind = d.type === 'gauge' ? 'gauge' : d.type === 'histogram' ? 'histogram' : d.type === 'sum' && d.isMonotonic ? 'counter' : 'updowncounter';
      assert.equal(kind, spec.instrument, `${metric.name} instrument`);
      if (metric.data.type === 'sum' || metric.data.type === 'histogram') assert.equal(metric.data.aggregationTemporality, 2, `${metric.name} is cumulative`);
      if (metric.data.type === 'sum') for (const p of metric.data.dataPoints) assert.ok(p.startTimeUnixNano! > 0n && p.startTimeUnixNano! <= p.timeUnixNano, `${metric.name} start time`);
    }
  });

  it('the node: system.* metrics with their semantic-convention attributes', () => {
    const node = items.filter((i) => attrs(i.resource.attributes)['host.name']);
    const names = new Set(node.map((i) => i.metric.name));
    for (const n of ['system.cpu.time', 'system.cpu.load_average.1m', 'system.memory.usage', 'system.memory.limit', 'system.disk.io', 'system.disk.operations', 'system.network.io', 'system.network.errors', 'system.network.packet.dropped', 'system.filesystem.usage', 'system.uptime']) {
      assert.ok(names.has(n), `${n} is missing`);
    }
    const keys = (name: string) => {
      const m = node.find((i) => i.metric.name === name)!.metric;
      const points = m.data.type === 'sum' || m.data.type === 'gauge' ? m.data.dataPoints : [];
      return new Set(points.flatMap((p) => p.attributes.map((a) => a.key)));
    };
    assert.deepEqual(keys('system.cpu.time'), new Set(['cpu.mode']));
    assert.deepEqual(keys('system.memory.usage'), new Set(['system.memory.state']));
    assert.deepEqual(keys('system.disk.io'), new Set(['system.device', 'disk.io.direction']));
    assert.deepEqual(keys('system.network.io'), new Set(['network.interface.name', 'network.io.direction']));
    assert.deepEqual(keys('system.filesystem.usage'), new Set(['system.device', 'system.filesystem.state', 'system.filesystem.type', 'system.filesystem.mode', 'system.filesystem.mountpoint']));
  });

  it('the test cgroup: container.* metrics on a resource naming its cgroup id and path', () => {
    const mine = items.filter((i) => attrs(i.resource.attributes)['container.cgroup.path'] === cgroupPath);
    assert.ok(mine.length, `nothing for ${cgroupPath}`);
    const resource = attrs(mine[0]!.resource.attributes);
    if (tree.root.unified) assert.match(resource['container.cgroup.id']!, /^\d+$/);
    const names = new Set(mine.map((i) => i.metric.name));
    for (const n of ['container.cpu.time', 'container.cpu.usage', 'container.memory.usage', 'container.memory.working_set']) assert.ok(names.has(n), `${n} is missing`);
    const cpu = mine.find((i) => i.metric.name === 'container.cpu.time')!.metric;
    assert.ok(cpu.data.type === 'sum' && cpu.data.dataPoints.every((p) => ['user', 'kernel'].includes(anyValueToString(p.attributes[0]!.value))));
  });

  it('the chosen process: process.* metrics on a resource naming it', () => {
    const mine = items.filter((i) => attrs(i.resource.attributes)['process.pid'] === String(sleeperPid));
    const resource = attrs(mine[0]!.resource.attributes);
    assert.equal(resource['process.executable.name'], 'sleep');
    assert.equal(resource['container.cgroup.path'], cgroupPath);
    const names = new Set(mine.map((i) => i.metric.name));
    for (const n of ['process.cpu.time', 'process.memory.usage', 'process.unix.file_descriptor.count', 'process.thread.count', 'process.disk.io']) assert.ok(names.has(n), `${n} is missing`);
    const threads = mine.find((i) => i.metric.name === 'process.thread.count')!.metric;
    assert.ok(threads.data.type === 'sum' && threads.data.dataPoints[0]!.asInt === 1n);
    assert.ok(!items.some((i) => attrs(i.resource.attributes)['process.pid'] && attrs(i.resource.attributes)['process.pid'] !== String(sleeperPid)), 'only the chosen process');
  });
});
