// The node's numbers against this machine's /proc read just before and just after the collection:
// every counter must lie between the two readings, every level near them.
import assert from 'node:assert/strict';
import { readFileSync, statfsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { resourcesConfigSchema } from './config.ts';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat } from './procfs.ts';
import { ResourcesReceiver } from './receiver.ts';
import { flatten, value } from './testing.ts';

function snapshot() {
  return {
    stat: parseProcStat(readFileSync('/proc/stat', 'utf8')),
    mem: parseMeminfo(readFileSync('/proc/meminfo', 'utf8')),
    disks: parseDiskstats(readFileSync('/proc/diskstats', 'utf8')),
    net: parseNetDev(readFileSync('/proc/net/dev', 'utf8')),
    load: parseLoadavg(readFileSync('/proc/loadavg', 'utf8')),
    uptime: Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]),
  };
}

function between(actual: number | undefined, a: number, b: number, what: string, slack = 0): void {
  assert.ok(actual !== undefined, `${what}: not reported`);
  const lo = Math.min(a, b) - slack;
  const hi = Math.max(a, b) + slack;
  assert.ok(actual >= lo && actual <= hi, `${what}: ${actual} is not between ${lo} and ${hi}`);
}

describe('node metrics against /proc at the same moment', () => {
  it('CPU, memory, disks, interfaces, uptime, load and the root file system', async () => {
    const receiver = new ResourcesReceiver(
      testSettings('resources', 'receiver', 'metrics'),
      resourcesConfigSchema.parse({ cgroups: { enabled: false }, node: { per_cpu: true } }),
      new SinkConsumer(),
    );
    await receiver.start();
    const before = snapshot();
    const data = await receiver.collect();
    const after = snapshot();
    await receiver.shutdown();
    const node = flatten(data).find((r) => r.resource['host.name'])!;
    const p = node.points;

    for (const [cpu, times] of after.stat.perCpu) {
      const was = before.stat.perCpu.get(cpu)!;
      for (const mode of ['user', 'nice', 'system', 'idle', 'iowait', 'steal'] as const) {
        between(value(p, 'system.cpu.time', { 'cpu.mode': mode, 'cpu.logical_number': String(cpu) }), was[mode] / 100, times[mode] / 100, `cpu${cpu} ${mode}`);
      }
      between(value(p, 'system.cpu.time', { 'cpu.mode': 'interrupt', 'cpu.logical_number': String(cpu) }), (was.irq + was.softirq) / 100, (times.irq + times.softirq) / 100, `cpu${cpu} interrupt`);
    }
    assert.equal(value(p, 'system.cpu.logical.count'), after.stat.perCpu.size);

    assert.equal(value(p, 'system.memory.limit'), after.mem.get('MemTotal'));
    const avail = [before.mem.get('MemAvailable')!, after.mem.get('MemAvailable')!];
    // Memory moves between readings: allow what moved plus 16 MiB.
    between(value(p, 'system.memory.usage', { 'system.memory.state': 'available' }), avail[0]!, avail[1]!, 'available', 16 << 20);
    between(value(p, 'system.memory.usage', { 'system.memory.state': 'used' }), after.mem.get('MemTotal')! - avail[0]!, after.mem.get('MemTotal')! - avail[1]!, 'used', 16 << 20);
    const used = value(p, 'system.memory.usage', { 'system.memory.state': 'used' })! + value(p, 'system.memory.usage', { 'system.memory.state': 'available' })!;
    assert.equal(used, after.mem.get('MemTotal'), 'used + available = limit');

    for (const d of after.disks.filter((x) => !/^(loop|ram|zram|fd|sr)\d+$/.test(x.name))) {
      const was = before.disks.find((x) => x.name === d.name)!;
      between(value(p, 'system.disk.io', { 'system.device': d.name, 'disk.io.direction': 'write' }), was.sectorsWritten * 512, d.sectorsWritten * 512, `${d.name} written`);
      between(value(p, 'system.disk.io', { 'system.device': d.name, 'disk.io.direction': 'read' }), was.sectorsRead * 512, d.sectorsRead * 512, `${d.name} read`);
      between(value(p, 'system.disk.operations', { 'system.device': d.name, 'disk.io.direction': 'write' }), was.writesCompleted, d.writesCompleted, `${d.name} writes`);
      between(value(p, 'system.disk.io_time', { 'system.device': d.name }), was.msDoingIo / 1000, d.msDoingIo / 1000, `${d.name} io time`);
    }
    assert.ok(after.disks.every((d) => !/^loop\d+$/.test(d.name) || value(p, 'system.disk.io', { 'system.device': d.name }) === undefined), 'loop devices are left out');

    for (const n of after.net) {
      const was = before.net.find((x) => x.name === n.name)!;
      between(value(p, 'system.network.io', { 'network.interface.name': n.name, 'network.io.direction': 'receive' }), was.rxBytes, n.rxBytes, `${n.name} rx`);
      between(value(p, 'system.network.io', { 'network.interface.name': n.name, 'network.io.direction': 'transmit' }), was.txBytes, n.txBytes, `${n.name} tx`);
      between(value(p, 'system.network.packet.count', { 'network.interface.name': n.name, 'network.io.direction': 'receive' }), was.rxPackets, n.rxPackets, `${n.name} rx packets`);
    }

    between(value(p, 'system.uptime'), before.uptime, after.uptime, 'uptime');
    between(value(p, 'system.cpu.load_average.1m'), before.load[0], after.load[0], 'load 1m');

    const root = statfsSync('/');
    const limit = value(p, 'system.filesystem.limit', { 'system.filesystem.mountpoint': '/' });
    assert.equal(limit, root.blocks * root.bsize);
    between(value(p, 'system.filesystem.usage', { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'free' }), root.bavail * root.bsize, root.bavail * root.bsize, '/ free', 64 << 20);
  });
});
