// What does the jvm_usdt receiver cost a JVM that collects garbage all the time? A GC-heavy Java
// program (receivers/jvm_usdt/testdata/GcChurn.java: allocation in a loop, young collections all
// the time) reports how much work it did in a fixed time.
//
// Each round runs two GcChurn JVMs at once, pinned to the same CPU, with bpfcol + jvm_usdt
// attached (every probe group) to one of them only (filters.pids); which one alternates from
// round to round. Sharing one CPU, the two get the same CPU time from the scheduler, and whatever
// else runs on the machine slows both alike: the traced JVM's work divided by the untraced one's
// is the cost of the probes, far less blurred by a busy machine than two runs one after the
// other. Medians over the rounds of that ratio (work done, and work per CPU-second of the JVM).
//
// The kernel's own accounting of BPF program run time (kernel.bpf_stats_enabled) gives the
// programs' share per collection.
//
//   node bench/jvm_usdt-overhead.ts [--rounds 6] [--seconds 10] [--logs]
//
// Needs root (bpfcol loads eBPF programs) and Debian's OpenJDK 17.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { compilePrograms, debianJdk } from '../receivers/jvm_usdt/testing.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '10' },
    logs: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const LOGS = values.logs;

if (process.getuid?.() !== 0) throw new Error('this benchmark loads eBPF programs: run it as root');
const pin = spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
const cpus = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
const SETTLE_MS = 1000;
const JVM_ARGS = ['-XX:+UseG1GC', '-Xms256m', '-Xmx256m', '-Xlog:disable'];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const JVM_PROGRAMS = new Set([
  'on_gc_begin',
  'on_gc_end',
  'on_pool_begin',
  'on_pool_end',
  'on_safepoint_begin',
  'on_safepoint_end',
  'on_vmop_begin',
  'on_vmop_end',
  'on_thread_start',
  'on_thread_stop',
  'on_class_loaded',
  'on_class_unloaded',
]);
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

function programStats(): Map<number, { ns: number; runs: number }> {
  const progs = JSON.parse(spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' }).stdout) as { id: number; name?: string; run_time_ns?: number; run_cnt?: number }[];
  return new Map(progs.filter((p) => p.name && JVM_PROGRAMS.has(p.name)).map((p) => [p.id, { ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 }]));
}

interface ChurnResult {
  units: number;
  unitsPerSecond: number;
  /** Work per CPU-second of the whole JVM (GC threads and the probes' traps included). */
  unitsPerCpuSecond: number;
  gcs: number;
}

/** A GcChurn JVM waiting for its start line, on the last CPU (when there are two or more). */
class Churn {
  readonly child: ChildProcess;
  readonly #lines: AsyncIterator<string>;

  constructor(java: string, classes: string) {
    const args = [...JVM_ARGS, '-cp', classes, 'GcChurn', String(SECONDS), 'wait'];
    const [cmd, argv] = pin && cpus >= 2 ? ['taskset', ['-c', String(cpus - 1), java, ...args]] : [java, args];
    this.child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(): Promise<void> {
    const first = await this.#lines.next();
    if (first.value !== 'ready') throw new Error(`GcChurn said '${String(first.value)}'`);
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  async result(): Promise<ChurnResult> {
    const line = await this.#lines.next();
    const m = /^units (\d+) seconds ([\d.E-]+) cpu ([\d.E-]+) gcs (\d+) gcms (\d+)$/.exec(String(line.value ?? ''));
    if (!m) throw new Error(`GcChurn printed '${String(line.value)}'`);
    if (this.child.exitCode === null) await once(this.child, 'exit');
    return { units: Number(m[1]), unitsPerSecond: Number(m[1]) / Number(m[2]), unitsPerCpuSecond: Number(m[1]) / Number(m[3]), gcs: Number(m[4]) };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const programs = compilePrograms();
  const java = debianJdk().java;
  const dir = tempDir('bpfcol-bench-jvm-');
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  let bpfcol: RunningBpfcol | undefined;
  let pair: Churn[] = [];
  const workRatios: number[] = [];
  const cpuRatios: number[] = [];
  const perGcNs: number[] = [];
  const gcRates: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      pair = [new Churn(java, programs.classes), new Churn(java, programs.classes)];
      await Promise.all(pair.map((c) => c.ready()));
      const tracedIndex = round % 2; // alternate which of the two (started first or second) is traced
      const traced = pair[tracedIndex]!;
      const untraced = pair[1 - tracedIndex]!;
      const promPort = await freePort();
      const telemetryPort = await freePort();
      const config = writeConfig(
        dir.path,
        `
receivers:
  jvm_usdt:
    collection_interval: 10s
    filters: { pids: [${traced.pid}] }
    logs: { enabled: ${LOGS} }
exporters:
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
  debug: { verbosity: basic }
service:
  telemetry: { logs: { level: info }, metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    metrics: { receivers: [jvm_usdt], exporters: [prometheus] }
${LOGS ? '    logs: { receivers: [jvm_usdt], exporters: [debug] }' : ''}
`,
        `round-${round}.yaml`,
      );
      const before = new Set(programStats().keys());
      bpfcol = await startBpfcol(config);
      await bpfcol.waitForOutput(new RegExp(`JVM found.*pid=${traced.pid} .*probes=attached`), 30_000);
      const ours = new Set([...programStats().keys()].filter((id) => !before.has(id)));
      await sleep(SETTLE_MS);
      const s0 = programStats();
      for (const c of pair) c.go();
      const [t, u] = await Promise.all([traced.result(), untraced.result()]);
      const s1 = programStats();
      await bpfcol.stop();
      bpfcol = undefined;
      let ns = 0;
      let runs = 0;
      for (const id of ours) {
        ns += (s1.get(id)?.ns ?? 0) - (s0.get(id)?.ns ?? 0);
        runs += (s1.get(id)?.runs ?? 0) - (s0.get(id)?.runs ?? 0);
      }
      workRatios.push(t.units / u.units);
      cpuRatios.push(t.unitsPerCpuSecond / u.unitsPerCpuSecond);
      gcRates.push((t.gcs + u.gcs) / 2 / SECONDS);
      // kernel.bpf_stats_enabled is global: another process on the machine may turn it off meanwhile.
      if (runs > 0) perGcNs.push(ns / Math.max(1, t.gcs));
      const stats = runs > 0 ? `${runs} probe hits, ${(ns / Math.max(1, t.gcs) / 1000).toFixed(1)} µs of programs per collection` : 'no program statistics (bpf_stats turned off by another process)';
      console.log(
        `round ${round}: traced ${t.unitsPerSecond.toFixed(0)} units/s (${t.unitsPerCpuSecond.toFixed(0)}/CPU-s, ${t.gcs} collections), ` +
          `untraced ${u.unitsPerSecond.toFixed(0)} units/s (${u.unitsPerCpuSecond.toFixed(0)}/CPU-s, ${u.gcs} collections): ` +
          `work ${(t.units / u.units).toFixed(3)}, per CPU-s ${(t.unitsPerCpuSecond / u.unitsPerCpuSecond).toFixed(3)}; ${stats}`,
      );
      pair = [];
    }
  } finally {
    writeFileSync(STATS, statsBefore);
    for (const c of pair) c.kill();
    await bpfcol?.stop();
    programs.cleanup();
    dir.cleanup();
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `${ROUNDS} rounds of ${SECONDS}s, two JVMs sharing CPU ${pin && cpus >= 2 ? cpus - 1 : 'any'}, ~${median(gcRates).toFixed(0)} collections/s each, logs ${LOGS ? 'on' : 'off'}; ` +
      `load average ${load} on ${cpus} CPUs (a shared machine: other work runs meanwhile)`,
  );
  if (perGcNs.length) console.log(`jvm_usdt kernel program time per collection: ${(median(perGcNs) / 1000).toFixed(1)} µs (median of ${perGcNs.length} rounds)`);
  console.log(`jvm_usdt GcChurn work per CPU-second: ${median(cpuRatios).toFixed(3)} of untraced`);
  console.log(`jvm_usdt GcChurn throughput: ${median(workRatios).toFixed(3)} of untraced`);
}

await main();
