// The receiver against directory trees that mirror real hosts (cgroup v2 with the systemd driver,
// cgroup v1 with the cgroupfs driver, the hybrid layout) and a /proc of our own making, so every
// number it reports can be checked exactly.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cgroupHierarchies } from '../../src/host/cgroups.ts';
import { SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { resourcesConfigSchema } from './config.ts';
import { ResourcesReceiver } from './receiver.ts';
import { type Point, flatten, value } from './testing.ts';

const ID = 'a3c2d1e0f9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2';
const UID = '5f1c6a1e-2b3d-4c5e-8f9a-0b1c2d3e4f5a';
const UID_ = UID.replaceAll('-', '_');

const temp = mkdtempSync(join(tmpdir(), 'bpfcol-resources-fixtures-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    if (content.startsWith('->')) symlinkSync(content.slice(2), full);
    else writeFileSync(full, content);
  }
}

/** A /proc with the files the receiver reads, and one process (4242) in its own network namespace. */
function fakeProc(root: string): void {
  tree(root, {
    'proc/stat': 'cpu  1000 10 300 5000 40 5 15 2 0 0\ncpu0 500 5 150 2500 20 2 8 1 0 0\ncpu1 500 5 150 2500 20 3 7 1 0 0\nbtime 1700000000\n',
    'proc/loadavg': '0.50 0.25 0.10 1/100 4242\n',
    'proc/meminfo':
      'MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\nBuffers:          50 kB\nCached:          300 kB\n' +
      'SwapTotal:       200 kB\nSwapFree:        150 kB\nShmem:            20 kB\nSReclaimable:     30 kB\nSUnreclaim:       10 kB\n',
    'proc/uptime': '1234.5 2000.0\n',
    'proc/diskstats': ' 254 0 vda 100 10 2000 50 200 20 4000 70 0 90 120 0 0 0 0\n   7 0 loop0 1 0 8 0 0 0 0 0 0 0 0\n',
    'proc/1/net/dev': 'Inter-|\n face |\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 5000 50 1 2 0 0 0 0 7000 70 3 4 0 0 0 0\n',
    'proc/1/mounts': '/dev/vda / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n',
    'proc/1/ns/net': '->net:[4026531840]',
    'proc/4242/ns/net': '->net:[4026532999]',
    'proc/4242/net/dev': 'Inter-|\n face |\n    lo: 99 9 0 0 0 0 0 0 99 9 0 0 0 0 0 0\n  eth0: 123456 100 7 0 0 0 0 0 654321 200 8 0 0 0 0 0\n',
    'proc/4243/ns/net': '->net:[4026532999]',
  });
}

async function collectOnce(root: string, config: object, hierarchies: ReturnType<typeof cgroupHierarchies>) {
  const receiver = new ResourcesReceiver(testSettings('resources', 'receiver', 'metrics'), resourcesConfigSchema.parse({ root_path: root, ...config }), new SinkConsumer(), {
    host: { hierarchies },
  });
  await receiver.start();
  try {
    const first = await receiver.collect();
    const second = await receiver.collect();
    return { first: flatten(first), second: flatten(second) };
  } finally {
    await receiver.shutdown();
  }
}

const V2_POD = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`;
const V2_CONTAINER = `${V2_POD}/cri-containerd-${ID}.scope`;

describe('cgroup v2 (systemd driver, containerd)', async () => {
  const root = join(temp, 'v2');
  const cg = join(root, 'sys/fs/cgroup');
  fakeProc(root);
  tree(cg, {
    'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
    [`${V2_POD}/cpu.stat`]: 'usage_usec 9000000\nuser_usec 6000000\nsystem_usec 3000000\n',
    [`${V2_POD}/memory.current`]: '3000000\n',
    [`${V2_POD}/memory.max`]: 'max\n',
    [`${V2_POD}/memory.stat`]: 'anon 1000000\nfile 1500000\ninactive_file 500000\nactive_file 1000000\npgfault 900\npgmajfault 9\n',
    [`${V2_POD}/cgroup.procs`]: '',
    [`${V2_CONTAINER}/cpu.stat`]:
      'usage_usec 8000000\nuser_usec 5000000\nsystem_usec 3000000\ncore_sched.force_idle_usec 0\nnr_periods 100\nnr_throttled 40\nthrottled_usec 2500000\nnr_bursts 0\nburst_usec 0\n',
    [`${V2_CONTAINER}/memory.current`]: '2000000\n',
    [`${V2_CONTAINER}/memory.max`]: '4000000\n',
    [`${V2_CONTAINER}/memory.stat`]: 'anon 800000\nfile 1200000\ninactive_file 300000\nactive_file 900000\npgfault 500\npgmajfault 5\n',
    [`${V2_CONTAINER}/io.stat`]: '254:0 rbytes=4096 wbytes=1048576 rios=1 wios=16 dbytes=0 dios=0\n',
    [`${V2_CONTAINER}/pids.current`]: '7\n',
    [`${V2_CONTAINER}/pids.max`]: '1024\n',
    [`${V2_CONTAINER}/cgroup.procs`]: '4242\n4243\n',
    [`${V2_CONTAINER}/nested/cpu.stat`]: 'usage_usec 1\n',
    '/system.slice/nginx.service/cpu.stat': 'usage_usec 42000000\nuser_usec 40000000\nsystem_usec 2000000\n',
    '/system.slice/nginx.service/memory.current': '5000\n',
    '/system.slice/nginx.service/cgroup.procs': '',
    '/system.slice/cron.service/cpu.stat': 'usage_usec 1\n',
  });
  const { first, second } = await collectOnce(root, { cgroups: { include: ['/system.slice/nginx.*'] } }, cgroupHierarchies(cg));
  const find = (list: typeof first, key: string, val: string) => list.find((r) => r.resource[key] === val);

  it('reports the container, its pod and the included service, nothing else', () => {
    const paths = first.filter((r) => r.resource['container.cgroup.path']).map((r) => r.resource['container.cgroup.path']).sort();
    assert.deepEqual(paths, [V2_POD, V2_CONTAINER, '/system.slice/nginx.service'].sort());
  });

  it('names the container: id, runtime, pod uid, cgroup id (directory inode) and path', () => {
    const c = find(first, 'container.id', ID)!;
    assert.deepEqual(c.resource, {
      'container.id': ID,
      'container.runtime.name': 'containerd',
      'k8s.pod.uid': UID,
      'container.cgroup.id': String(statSync(join(cg, V2_CONTAINER)).ino),
      'container.cgroup.path': V2_CONTAINER,
    });
  });

  it('container CPU time by mode, throttling, memory, working set, limit, faults, disk, pids, network', () => {
    const p = find(second, 'container.id', ID)!.points;
    assert.equal(value(p, 'container.cpu.time', { 'cpu.mode': 'user' }), 5);
    assert.equal(value(p, 'container.cpu.time', { 'cpu.mode': 'kernel' }), 3);
    assert.equal(value(p, 'container.cpu.usage'), 0, 'no CPU time passed between the two collections');
    assert.equal(value(p, 'container.cpu.throttling_data.periods'), 100);
    assert.equal(value(p, 'container.cpu.throttling_data.throttled_periods'), 40);
    assert.equal(value(p, 'container.cpu.throttling_data.throttled_time'), 2.5);
    assert.equal(value(p, 'container.memory.usage'), 2000000);
    assert.equal(value(p, 'container.memory.working_set'), 1700000);
    assert.equal(value(p, 'container.memory.rss'), 800000);
    assert.equal(value(p, 'container.memory.limit'), 4000000);
    assert.equal(value(p, 'container.memory.available'), 2300000);
    assert.equal(value(p, 'container.paging.faults', { 'system.paging.fault.type': 'major' }), 5);
    assert.equal(value(p, 'container.paging.faults', { 'system.paging.fault.type': 'minor' }), 495);
    assert.equal(value(p, 'container.disk.io', { 'disk.io.direction': 'read', 'system.device': 'vda' }), 4096);
    assert.equal(value(p, 'container.disk.io', { 'disk.io.direction': 'write', 'system.device': 'vda' }), 1048576);
    assert.equal(value(p, 'container.disk.operations', { 'disk.io.direction': 'write', 'system.device': 'vda' }), 16);
    assert.equal(value(p, 'container.pids.count'), 7);
    assert.equal(value(p, 'container.pids.limit'), 1024);
    // 4242 and 4243 share a namespace that is not the host's: it belongs to the pod, not the container.
    assert.equal(value(p, 'container.network.io'), undefined);
  });

  it('the pod: semantic-convention k8s.pod.* metrics and the network of its namespace (loopback left out)', () => {
    const pod = find(second, 'container.cgroup.path', V2_POD)!;
    assert.deepEqual(pod.resource, { 'k8s.pod.uid': UID, 'container.cgroup.id': String(statSync(join(cg, V2_POD)).ino), 'container.cgroup.path': V2_POD });
    const p = pod.points;
    assert.equal(value(p, 'k8s.pod.cpu.time'), 9);
    assert.equal(value(p, 'k8s.pod.memory.usage'), 3000000);
    assert.equal(value(p, 'k8s.pod.memory.working_set'), 2500000);
    assert.equal(value(p, 'k8s.pod.memory.rss'), 1000000);
    assert.equal(value(p, 'k8s.pod.memory.available'), undefined, 'no limit, no available');
    assert.equal(value(p, 'k8s.pod.paging.faults', { 'system.paging.fault.type': 'minor' }), 891);
    assert.equal(value(p, 'k8s.pod.network.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }), 123456);
    assert.equal(value(p, 'k8s.pod.network.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'transmit' }), 654321);
    assert.equal(value(p, 'k8s.pod.network.errors', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }), 7);
    assert.equal(value(p, 'k8s.pod.network.io', { 'network.interface.name': 'lo' }), undefined);
  });

  it('a v2 cgroup without a cpu controller has no throttling, without memory.current no memory', () => {
    const p = find(second, 'container.cgroup.path', '/system.slice/nginx.service')!.points;
    assert.equal(value(p, 'container.cpu.time', { 'cpu.mode': 'user' }), 40);
    assert.equal(value(p, 'container.cpu.throttling_data.periods'), undefined);
    assert.equal(value(p, 'container.memory.usage'), 5000);
  });

  it('counters are cumulative sums with a start time, levels non-monotonic sums, rates gauges', () => {
    const p = find(second, 'container.id', ID)!.points;
    const cpu = p.find((x) => x.metric === 'container.cpu.time')!;
    assert.equal(cpu.type, 'sum');
    assert.equal(cpu.monotonic, true);
    assert.equal(cpu.start, statSync(join(cg, V2_CONTAINER), { bigint: true }).ctimeNs);
    const mem = p.find((x) => x.metric === 'container.memory.usage')!;
    assert.equal(mem.type, 'sum');
    assert.equal(mem.monotonic, false);
    assert.equal(p.find((x) => x.metric === 'container.cpu.usage')!.type, 'gauge');
  });

  it('the node from /proc: CPU modes, load, memory, swap, disks (loop devices left out), interfaces, file systems', () => {
    const node = second.find((r) => r.resource['host.name'])!;
    const p = node.points;
    const cpu = (mode: string) => value(p, 'system.cpu.time', { 'cpu.mode': mode });
    assert.deepEqual(['user', 'nice', 'system', 'idle', 'iowait', 'interrupt', 'steal'].map(cpu), [10, 0.1, 3, 50, 0.4, 0.2, 0.02]);
    assert.equal(p.find((x) => x.metric === 'system.cpu.time')!.start, 1700000000n * 1_000_000_000n, 'counts since boot');
    assert.equal(value(p, 'system.cpu.logical.count'), 2);
    assert.equal(value(p, 'system.cpu.load_average.1m'), 0.5);
    assert.equal(value(p, 'system.cpu.load_average.15m'), 0.1);
    assert.equal(value(p, 'system.memory.limit'), 1000 * 1024);
    assert.equal(value(p, 'system.memory.usage', { 'system.memory.state': 'used' }), 400 * 1024);
    assert.equal(value(p, 'system.memory.usage', { 'system.memory.state': 'available' }), 600 * 1024);
    assert.equal(value(p, 'system.memory.linux.cached'), 300 * 1024);
    assert.equal(value(p, 'system.memory.linux.slab.usage', { 'system.memory.linux.slab.state': 'unreclaimable' }), 10 * 1024);
    assert.equal(value(p, 'system.paging.usage', { 'system.paging.state': 'used' }), 50 * 1024);
    assert.equal(value(p, 'system.disk.io', { 'system.device': 'vda', 'disk.io.direction': 'read' }), 2000 * 512);
    assert.equal(value(p, 'system.disk.io', { 'system.device': 'vda', 'disk.io.direction': 'write' }), 4000 * 512);
    assert.equal(value(p, 'system.disk.operations', { 'system.device': 'vda', 'disk.io.direction': 'write' }), 200);
    assert.equal(value(p, 'system.disk.io_time', { 'system.device': 'vda' }), 0.09);
    assert.equal(value(p, 'system.disk.operation_time', { 'system.device': 'vda', 'disk.io.direction': 'read' }), 0.05);
    assert.equal(value(p, 'system.disk.merged', { 'system.device': 'vda', 'disk.io.direction': 'write' }), 20);
    assert.equal(value(p, 'system.disk.io', { 'system.device': 'loop0' }), undefined);
    assert.equal(value(p, 'system.network.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'transmit' }), 7000);
    assert.equal(value(p, 'system.network.packet.count', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }), 50);
    assert.equal(value(p, 'system.network.errors', { 'network.interface.name': 'eth0', 'network.io.direction': 'transmit' }), 3);
    assert.equal(value(p, 'system.network.packet.dropped', { 'network.interface.name': 'eth0', 'network.io.direction': 'transmit' }), 4);
    assert.equal(value(p, 'system.uptime'), 1234.5);
    const fs = p.filter((x) => x.metric === 'system.filesystem.usage');
    assert.deepEqual([...new Set(fs.map((x) => x.attributes['system.filesystem.mountpoint']))], ['/'], 'proc and tmpfs are left out');
    assert.deepEqual(fs.map((x) => x.attributes['system.filesystem.state']).sort(), ['free', 'reserved', 'used']);
    const sum = fs.reduce((a, x) => a + x.value, 0);
    assert.equal(sum, value(p, 'system.filesystem.limit'), 'used + free + reserved is the size');
  });
});

describe('cgroup v1 (cgroupfs driver) and the hybrid layout', async () => {
  const V1_POD = `/kubepods/burstable/pod${UID}`;
  const V1_CONTAINER = `${V1_POD}/${ID}`;
  const root = join(temp, 'v1');
  fakeProc(root);
  const v1 = (controller: string) => join(root, 'sys/fs/cgroup', controller);
  const files: Record<string, string> = {};
  const put = (controller: string, path: string, content: Record<string, string>) => {
    for (const [f, c] of Object.entries(content)) files[join('sys/fs/cgroup', controller, path, f)] = c;
  };
  for (const [path, cpu, user, sys] of [[V1_POD, 9e9, 6e9, 3e9], [V1_CONTAINER, 8e9, 5e9, 3e9]] as const) {
    put('cpuacct', path, { 'cpuacct.usage': `${cpu}\n`, 'cpuacct.usage_user': `${user}\n`, 'cpuacct.usage_sys': `${sys}\n`, 'cgroup.procs': path === V1_CONTAINER ? '4242\n' : '' });
    put('cpu', path, { 'cpu.stat': 'nr_periods 100\nnr_throttled 40\nthrottled_time 2500000000\nnr_bursts 0\nburst_time 0\n' });
  }
  put('memory', V1_POD, {
    'memory.usage_in_bytes': '3000000\n',
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.stat': 'cache 1\nrss 2\ntotal_cache 1500000\ntotal_rss 1000000\ntotal_pgfault 900\ntotal_pgmajfault 9\ntotal_inactive_file 500000\n',
  });
  put('memory', V1_CONTAINER, {
    'memory.usage_in_bytes': '2000000\n',
    'memory.limit_in_bytes': '4000000\n',
    'memory.stat': 'cache 1\nrss 2\ntotal_cache 1200000\ntotal_rss 800000\ntotal_pgfault 500\ntotal_pgmajfault 5\ntotal_inactive_file 300000\n',
  });
  put('blkio', V1_CONTAINER, {
    'blkio.throttle.io_service_bytes_recursive': '254:0 Read 4096\n254:0 Write 1048576\n254:0 Sync 1048576\n254:0 Async 4096\n254:0 Discard 0\n254:0 Total 1052672\nTotal 1052672\n',
    'blkio.throttle.io_serviced_recursive': '254:0 Read 1\n254:0 Write 16\n254:0 Sync 16\n254:0 Async 1\n254:0 Discard 0\n254:0 Total 17\nTotal 17\n',
  });
  put('pids', V1_CONTAINER, { 'pids.current': '7\n', 'pids.max': 'max\n' });
  // The hybrid host's v2 hierarchy: no controllers, but the same paths (and their ids).
  files[join('sys/fs/cgroup/unified', V1_CONTAINER, 'cpu.stat')] = 'usage_usec 8000000\nuser_usec 5000000\nsystem_usec 3000000\n';
  files[join('sys/fs/cgroup/unified', V1_POD, 'cpu.stat')] = 'usage_usec 9000000\nuser_usec 6000000\nsystem_usec 3000000\n';
  tree(root, files);
  const controllers = Object.fromEntries(['cpu', 'cpuacct', 'memory', 'blkio', 'pids'].map((c) => [c, v1(c)]));

  const checkContainer = (points: Point[]) => {
    assert.equal(value(points, 'container.cpu.time', { 'cpu.mode': 'user' }), 5);
    assert.equal(value(points, 'container.cpu.time', { 'cpu.mode': 'kernel' }), 3);
    assert.equal(value(points, 'container.cpu.throttling_data.periods'), 100);
    assert.equal(value(points, 'container.cpu.throttling_data.throttled_periods'), 40);
    assert.equal(value(points, 'container.cpu.throttling_data.throttled_time'), 2.5);
    assert.equal(value(points, 'container.memory.usage'), 2000000);
    assert.equal(value(points, 'container.memory.working_set'), 1700000);
    assert.equal(value(points, 'container.memory.rss'), 800000);
    assert.equal(value(points, 'container.memory.limit'), 4000000);
    assert.equal(value(points, 'container.paging.faults', { 'system.paging.fault.type': 'minor' }), 495);
    assert.equal(value(points, 'container.disk.io', { 'disk.io.direction': 'write', 'system.device': 'vda' }), 1048576);
    assert.equal(value(points, 'container.disk.operations', { 'disk.io.direction': 'read', 'system.device': 'vda' }), 1);
    assert.equal(value(points, 'container.pids.count'), 7);
    assert.equal(value(points, 'container.pids.limit'), undefined, 'pids.max "max" is no limit');
  };

  it('legacy (v1 only): the same numbers from the v1 files; no v2 id to give', async () => {
    const { second } = await collectOnce(root, {}, cgroupHierarchies(undefined, controllers));
    const c = second.find((r) => r.resource['container.id'] === ID)!;
    assert.deepEqual(c.resource, { 'container.id': ID, 'k8s.pod.uid': UID, 'container.cgroup.path': V1_CONTAINER });
    checkContainer(c.points);
    const pod = second.find((r) => r.resource['container.cgroup.path'] === V1_POD)!;
    assert.equal(value(pod.points, 'k8s.pod.memory.available'), undefined, 'PAGE_COUNTER_MAX is no limit');
    assert.equal(value(pod.points, 'k8s.pod.memory.working_set'), 2500000);
    assert.equal(value(pod.points, 'k8s.pod.network.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }), 123456);
  });

  it('hybrid: CPU from v2, throttling, memory, I/O and pids from v1, ids from the v2 directories', async () => {
    const { second } = await collectOnce(root, {}, cgroupHierarchies(join(root, 'sys/fs/cgroup/unified'), controllers));
    const c = second.find((r) => r.resource['container.id'] === ID)!;
    assert.equal(c.resource['container.cgroup.id'], String(statSync(join(root, 'sys/fs/cgroup/unified', V1_CONTAINER)).ino));
    checkContainer(c.points);
  });
});
