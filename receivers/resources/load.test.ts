// Real load in real test cgroups, checked against the kernel's own files over the same window and
// against the work done: a CPU burner held to 20% of a CPU by a CFS quota, a process touching
// 200 MiB, dd writing 64 MiB with O_DIRECT, and a TCP transfer into a network namespace over a veth
// pair. Needs root (cgroups, namespaces). On a hybrid host (v1 controllers, as on the CI machine)
// the limits and the kernel's numbers come from the v1 files; on a v2 host from the v2 ones.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseKeyValues } from '../../src/host/read.ts';
import { REPO_ROOT } from '../../test/support/cli.ts';
import { type TestCgroup, TestCgroupTree, requireRootForCgroups } from '../../test/support/cgroups.ts';
import { SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { resourcesConfigSchema } from './config.ts';
import { ResourcesReceiver } from './receiver.ts';
import { type Point, blockDeviceOf, enableV1BlkioStats, flatten, kernelIo, value } from './testing.ts';

const MiB = 1024 * 1024;

function within(actual: number, expected: number, fraction: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= fraction * Math.abs(expected),
    `${what}: ${actual} is not within ${fraction * 100}% of ${expected} (off by ${(((actual - expected) / expected) * 100).toFixed(1)}%)`,
  );
}

/** Δ of a metric between two collections (summed over the points matching `attributes`). */
function delta(a: Point[], b: Point[], metric: string, attributes: Record<string, string> = {}): number {
  const sum = (points: Point[]) =>
    points
      .filter((p) => p.metric === metric && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
      .reduce((s, p) => s + p.value, 0);
  return sum(b) - sum(a);
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function waitForLine(child: import('node:child_process').ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output: ${text}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}; output: ${text}`));
    });
  });
}

describe('resources under real load in test cgroups', () => {
  let tree: TestCgroupTree;
  let receiver: ResourcesReceiver;

  before(async () => {
    tree = new TestCgroupTree(requireRootForCgroups());
    const config = resourcesConfigSchema.parse({ node: { enabled: false }, cgroups: { include: [tree.include] } });
    receiver = new ResourcesReceiver(testSettings('resources', 'receiver', 'metrics'), config, new SinkConsumer());
    await receiver.start();
  });

  after(async () => {
    await receiver?.shutdown();
    await tree?.remove();
  });

  /** The points of one test cgroup in a fresh collection. */
  async function points(cg: TestCgroup): Promise<{ points: Point[]; resource: Record<string, string>; time: bigint }> {
    const data = await receiver.collect();
    const time = collectionTime(data);
    const r = flatten(data).find((x) => x.resource['container.cgroup.path'] === cg.path);
    assert.ok(r, `${cg.path} is not in the collection`);
    return { points: r.points, resource: r.resource, time };
  }

  it('CPU: a burner held to 20% of a CPU: CPU time as the kernel counts it and as the quota allows; throttling seen', async (t) => {
    const cg = tree.child('cpu');
    cg.limitCpu(20_000, 100_000);
    cg.favourCpu();
    const burner = tree.track(cg.spawn('sh', ['-c', 'while :; do :; done']));
    await sleep(1000);
    assert.equal(burner.exitCode, null, 'the burner must run');
    const kernel = () => {
      if (cg.v2Has('cpu')) {
        const s = parseKeyValues(cg.read('cpu.stat'));
        return { cpu: s.get('usage_usec')! / 1e6, throttled: s.get('nr_throttled')!, throttledSeconds: s.get('throttled_usec')! / 1e6 };
      }
      const s = parseKeyValues(cg.read('cpu.stat', 'cpu'));
      return { cpu: Number(cg.read('cpuacct.usage', 'cpuacct')) / 1e9, throttled: s.get('nr_throttled')!, throttledSeconds: s.get('throttled_time')! / 1e9 };
    };
    const a = await points(cg);
    const ka = kernel();
    await sleep(4000);
    const b = await points(cg);
    const kb = kernel();

    const cpu = delta(a.points, b.points, 'container.cpu.time');
    t.diagnostic(`cpu ${cpu.toFixed(4)}s, kernel ${(kb.cpu - ka.cpu).toFixed(4)}s, quota ${(0.2 * (Number(b.time - a.time) / 1e9)).toFixed(4)}s, usage ${value(b.points, 'container.cpu.usage')?.toFixed(4)}, throttled periods ${delta(a.points, b.points, 'container.cpu.throttling_data.throttled_periods')} (kernel ${kb.throttled - ka.throttled})`);
    within(cpu, kb.cpu - ka.cpu, 0.1, 'container.cpu.time against the kernel');
    const wall = Number(b.time - a.time) / 1e9;
    within(cpu, 0.2 * wall, 0.1, 'container.cpu.time against the 20% quota over the window');
    within(value(b.points, 'container.cpu.usage')!, 0.2, 0.1, 'container.cpu.usage');
    const throttled = delta(a.points, b.points, 'container.cpu.throttling_data.throttled_periods');
    assert.ok(throttled > 0, 'throttled periods must grow');
    within(throttled, kb.throttled - ka.throttled, 0.1, 'throttled periods against the kernel');
    assert.ok(delta(a.points, b.points, 'container.cpu.throttling_data.throttled_time') > 0, 'throttled time must grow');
    assert.ok(delta(a.points, b.points, 'container.cpu.throttling_data.periods') >= throttled);
    burner.kill('SIGKILL');
  });

  it('memory: a process touching 200 MiB: usage as the kernel counts it, working set, RSS, the limit', async (t) => {
    const cg = tree.child('memory');
    cg.limitMemory(512 * MiB);
    const allocator = tree.track(
      cg.spawn(process.execPath, ['-e', `const b = Buffer.alloc(${200 * MiB}, 1); console.log('ready'); setInterval(() => b[0]++, 1000);`]),
    );
    await waitForLine(allocator, /ready/);
    const { points: p } = await points(cg);
    const kernel = cg.v2Has('memory') ? Number(cg.read('memory.current')) : Number(cg.read('memory.usage_in_bytes', 'memory'));
    const usage = value(p, 'container.memory.usage')!;
    t.diagnostic(`usage ${usage}, kernel ${kernel}, working set ${value(p, 'container.memory.working_set')}, rss ${value(p, 'container.memory.rss')}`);
    within(usage, kernel, 0.1, 'container.memory.usage against the kernel');
    assert.ok(usage >= 200 * MiB, `usage ${usage} must hold the 200 MiB touched`);
    const ws = value(p, 'container.memory.working_set')!;
    assert.ok(ws <= usage && ws >= 200 * MiB, `working set ${ws}`);
    assert.ok(value(p, 'container.memory.rss')! >= 200 * MiB);
    assert.equal(value(p, 'container.memory.limit'), 512 * MiB);
    assert.equal(value(p, 'container.memory.available'), 512 * MiB - ws);
    assert.ok(value(p, 'container.pids.count')! >= 1);
    allocator.kill('SIGKILL');
  });

  it('disk: dd writing 64 MiB with O_DIRECT: bytes and operations as the kernel counts them and as written', async (t) => {
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    const dir = mkdtempSync(join(REPO_ROOT, 'test-artifacts', 'resources-dd-'));
    try {
      const device = blockDeviceOf(dir);
      const cg = tree.child('io');
      enableV1BlkioStats(cg, device.majorMinor);
      const kernel = () => kernelIo(cg, device.majorMinor);
      const a = await points(cg).catch(() => ({ points: [] as Point[] }));
      const ka = kernel();
      const dd = tree.track(cg.spawn('dd', ['if=/dev/zero', `of=${join(dir, 'data')}`, 'bs=1M', 'count=64', 'oflag=direct']));
      const code = await new Promise<number | null>((resolve) => dd.once('exit', resolve));
      assert.equal(code, 0, 'dd must succeed');
      const b = await points(cg);
      const kb = kernel();
      const written = delta(a.points, b.points, 'container.disk.io', { 'disk.io.direction': 'write', 'system.device': device.name });
      t.diagnostic(`written ${written} (kernel ${kb.writeBytes - ka.writeBytes}, dd ${64 * MiB})`);
      within(written, 64 * MiB, 0.1, 'container.disk.io write against the bytes dd wrote');
      within(written, kb.writeBytes - ka.writeBytes, 0.1, 'container.disk.io write against the kernel');
      const ops = delta(a.points, b.points, 'container.disk.operations', { 'disk.io.direction': 'write', 'system.device': device.name });
      assert.ok(ops >= 64, `at least one write per 1 MiB block, got ${ops}`);
      within(ops, kb.writes - ka.writes, 0.1, 'container.disk.operations against the kernel');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('network: 32 MiB sent over a veth pair into a test namespace: received bytes as sent and as the kernel counts them', async (t) => {
    const ns = `bpfcol-test-${randomBytes(3).toString('hex')}`;
    const hostIf = `bt${randomBytes(3).toString('hex')}a`;
    const nsIf = 'veth-test';
    const subnet = `10.${randomInt(200, 250)}.${randomInt(1, 250)}`;
    run('ip', ['netns', 'add', ns]);
    try {
      run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
      run('ip', ['addr', 'add', `${subnet}.1/30`, 'dev', hostIf]);
      run('ip', ['link', 'set', hostIf, 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${subnet}.2/30`, 'dev', nsIf]);
      run('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const cg = tree.child('net');
      const port = randomInt(20000, 60000);
      const server = tree.track(
        cg.spawn(
          process.execPath,
          ['-e', `let n = 0; require('net').createServer((s) => { s.on('data', (d) => (n += d.length)); s.on('end', () => { console.log('received', n); s.end(); }); }).listen(${port}, '${subnet}.2', () => console.log('listening'));`],
          { netns: ns },
        ),
      );
      await waitForLine(server, /listening/);
      const kernel = () => (JSON.parse(run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', nsIf])) as { stats64: { rx: { bytes: number } } }[])[0]!.stats64.rx.bytes;
      const a = await points(cg);
      const ka = kernel();
      const sent = 32 * MiB;
      const received = waitForLine(server, /received/);
      await new Promise<void>((resolve, reject) => {
        const sock = connect(port, `${subnet}.2`, () => sock.end(Buffer.alloc(sent, 7)));
        sock.on('error', reject);
        sock.on('close', () => resolve());
        sock.resume();
      });
      assert.equal(Number((await received).split(' ')[1]), sent);
      const b = await points(cg);
      const kb = kernel();
      const rx = delta(a.points, b.points, 'container.network.io', { 'network.interface.name': nsIf, 'network.io.direction': 'receive' });
      t.diagnostic(`received ${rx} (kernel ${kb - ka}, sent ${sent})`);
      within(rx, sent, 0.1, 'container.network.io receive against the bytes sent');
      within(rx, kb - ka, 0.1, 'container.network.io receive against the kernel (netlink)');
      assert.equal(value(b.points, 'container.network.io', { 'network.interface.name': 'lo' }), undefined);
      assert.ok(delta(a.points, b.points, 'container.network.io', { 'network.interface.name': nsIf, 'network.io.direction': 'transmit' }) > 0, 'ACKs go out');
    } finally {
      spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  });
});

function collectionTime(data: import('../../src/pdata/metrics.ts').MetricsData): bigint {
  for (const rm of data.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const p = m.data.dataPoints[0];
        if (p) return p.timeUnixNano;
      }
    }
  }
  return 0n;
}
