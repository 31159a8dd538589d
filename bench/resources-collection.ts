// What does one collection of the resources receiver cost? On this machine with 500 test processes
// (sleep) spread over 100 test cgroups, the CPU time (user + system, of this process) per
// collection, for the default config (node + containers/cgroups), with every process reported, and
// with eBPF block_io. Target: under 50 ms of CPU per collection. Needs root (test cgroups).
//
//   node bench/resources-collection.ts [collections per config, default 30]
import { type ChildProcess, spawn } from 'node:child_process';
import { SinkConsumer, testSettings } from '../test/support/component-harness.ts';
import { TestCgroupTree, requireRootForCgroups } from '../test/support/cgroups.ts';
import { resourcesConfigSchema } from '../receivers/resources/config.ts';
import { ResourcesReceiver } from '../receivers/resources/receiver.ts';

const PROCESSES = 500;
const CGROUPS = 100;
const TARGET_MS = 50;
const ROUNDS = Number(process.argv[2] ?? 30);

const tree = new TestCgroupTree(requireRootForCgroups());
const children: ChildProcess[] = [];
try {
  const cgroups = Array.from({ length: CGROUPS }, (_, i) => tree.child(`c${i}`));
  for (let i = 0; i < PROCESSES; i++) {
    const child = tree.track(spawn('sleep', ['3600'], { stdio: 'ignore' }));
    children.push(child);
    cgroups[i % CGROUPS]!.add(child.pid!);
  }

  const configs: [string, object][] = [
    ['node + 100 cgroups', { cgroups: { include: [tree.include] } }],
    ['node + 100 cgroups + every process', { cgroups: { include: [tree.include] }, processes: { enabled: true } }],
    ['node + 100 cgroups + block_io', { cgroups: { include: [tree.include] }, block_io: { enabled: true } }],
  ];
  // All three run side by side, one collection each per round, so load from elsewhere on the
  // machine weighs on them alike.
  const runs = [];
  for (const [name, config] of configs) {
    const receiver = new ResourcesReceiver(testSettings('resources', 'receiver', 'metrics'), resourcesConfigSchema.parse(config), new SinkConsumer());
    await receiver.start();
    const first = await receiver.collect();
    let points = 0;
    for (const rm of first.resourceMetrics) for (const m of rm.scopeMetrics[0]!.metrics) points += 'dataPoints' in m.data ? m.data.dataPoints.length : 0;
    for (let i = 0; i < 5; i++) await receiver.collect(); // warm-up: JIT, first sight of every cgroup
    runs.push({ name, receiver, resources: first.resourceMetrics.length, points, cpu: [] as number[], wall: [] as number[] });
  }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of runs) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        await run.receiver.collect();
        const c = process.cpuUsage(c0);
        run.wall.push(performance.now() - w0);
        run.cpu.push((c.user + c.system) / 1000);
      }
    }
    for (const { name, resources, points, cpu, wall } of runs) {
      cpu.sort((a, b) => a - b);
      const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
      const median = cpu[Math.floor(cpu.length / 2)]!;
      const p90 = cpu[Math.floor(cpu.length * 0.9)]!;
      const wallMean = wall.reduce((a, b) => a + b, 0) / wall.length;
      console.log(
        `resources collection, ${name} (${resources} resources, ${points} points): ${mean.toFixed(1)} ms CPU per collection (median ${median.toFixed(1)}, p90 ${p90.toFixed(1)}, wall ${wallMean.toFixed(1)} ms), target ${TARGET_MS} ms: ${(mean / TARGET_MS).toFixed(2)} of target`,
      );
    }
  } finally {
    for (const run of runs) await run.receiver.shutdown();
  }
} finally {
  await tree.remove();
}
