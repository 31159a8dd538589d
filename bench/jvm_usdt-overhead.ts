// What does the jvm_usdt receiver cost a JVM that collects garbage all the time? A GC-heavy Java
// program (receivers/jvm_usdt/testdata/GcChurn.java: allocation in a loop, young collections
// all the time) runs for a fixed time and reports how much work it did, alternately with
// bpfcol + jvm_usdt attached (every probe group, logs on or off) and without bpfcol, in one run;
// medians of the work rate (wall clock) and of the work per CPU-second of the JVM, and their ratios. Each traced round starts bpfcol first, so the JVM is
// found through its exec, as a JVM started on a watched machine would be.
//
// The kernel's own accounting of BPF program run time (kernel.bpf_stats_enabled) gives the cost per
// collection, a figure a busy shared machine blurs less than the work rate.
//
//   node bench/jvm_usdt-overhead.ts [--rounds 5] [--seconds 10] [--logs]
//
// Needs root (bpfcol loads eBPF programs) and Debian's OpenJDK 17.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { compilePrograms, debianJdk } from '../receivers/jvm_usdt/testing.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
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
const SETTLE_MS = 1500;
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
  pid: number;
  unitsPerSecond: number;
  /** Work per CPU-second of the whole JVM: what the probes' traps and programs cost it, less blurred by other load. */
  unitsPerCpuSecond: number;
  gcs: number;
}

/** Runs GcChurn for SECONDS on the last CPU (when there are two or more): its work rate and collections. */
function churn(java: string, classes: string): ChurnResult {
  const args = [...JVM_ARGS, '-cp', classes, 'GcChurn', String(SECONDS)];
  const [cmd, argv] = pin && cpus >= 2 ? ['taskset', ['-c', String(cpus - 1), java, ...args]] : [java, args];
  // A shell prints the JVM's pid first (exec keeps it), so the traced rounds can check it was attached.
  const r = spawnSync('sh', ['-c', 'echo pid $$; exec "$@"', 'sh', cmd, ...argv], { encoding: 'utf8' });
  const pid = /^pid (\d+)$/m.exec(r.stdout);
  const m = /^units (\d+) seconds ([\d.E-]+) cpu ([\d.E-]+) gcs (\d+)$/m.exec(r.stdout);
  if (r.status !== 0 || !m || !pid) throw new Error(`GcChurn failed: ${r.stderr}${r.stdout}`);
  return { pid: Number(pid[1]), unitsPerSecond: Number(m[1]) / Number(m[2]), unitsPerCpuSecond: Number(m[1]) / Number(m[3]), gcs: Number(m[4]) };
}

async function main(): Promise<void> {
  const programs = compilePrograms();
  const java = debianJdk().java;
  const dir = tempDir('bpfcol-bench-jvm-');
  const promPort = await freePort();
  const telemetryPort = await freePort();
  const config = writeConfig(
    dir.path,
    `
receivers:
  jvm_usdt:
    collection_interval: 10s
    filters: { main_classes: [GcChurn] }
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
  );
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  let bpfcol: RunningBpfcol | undefined;
  const rates = { untraced: [] as number[], traced: [] as number[] };
  const perCpu = { untraced: [] as number[], traced: [] as number[] };
  const perGcNs: number[] = [];
  const gcRates: number[] = [];
  try {
    churn(java, programs.classes); // warm-up: page cache, CDS archive
    for (let round = 1; round <= ROUNDS; round++) {
      for (const traced of [false, true]) {
        let ours = new Set<number>();
        if (traced) {
          const before = new Set(programStats().keys());
          bpfcol = await startBpfcol(config);
          await bpfcol.waitForOutput(/jvm_usdt started/);
          ours = new Set([...programStats().keys()].filter((id) => !before.has(id)));
        }
        await sleep(SETTLE_MS); // bpfcol's start-up work is not what is measured
        const s0 = programStats();
        const r = churn(java, programs.classes);
        const s1 = programStats();
        rates[traced ? 'traced' : 'untraced'].push(r.unitsPerSecond);
        perCpu[traced ? 'traced' : 'untraced'].push(r.unitsPerCpuSecond);
        gcRates.push(r.gcs / SECONDS);
        let note = '';
        if (bpfcol) {
          await bpfcol.waitForOutput(new RegExp(`JVM found.*pid=${r.pid} .*probes=attached`), 5000);
          let ns = 0;
          let runs = 0;
          for (const id of ours) {
            ns += (s1.get(id)?.ns ?? 0) - (s0.get(id)?.ns ?? 0);
            runs += (s1.get(id)?.runs ?? 0) - (s0.get(id)?.runs ?? 0);
          }
          // kernel.bpf_stats_enabled is global: another process on the machine may have turned it off meanwhile.
          if (runs > 0) perGcNs.push(ns / Math.max(1, r.gcs));
          note = runs > 0
            ? `, attached (pid ${r.pid}): ${runs} probe hits, ${(ns / Math.max(1, r.gcs) / 1000).toFixed(1)} µs of jvm_usdt programs per collection`
            : `, attached (pid ${r.pid}); no program statistics (kernel.bpf_stats_enabled was turned off by another process)`;
          await bpfcol.stop();
          bpfcol = undefined;
        }
        console.log(`round ${round} ${traced ? 'traced  ' : 'untraced'} ${r.unitsPerSecond.toFixed(0)} units/s, ${r.unitsPerCpuSecond.toFixed(0)} units/CPU-s, ${r.gcs} collections${note}`);
      }
    }
  } finally {
    writeFileSync(STATS, statsBefore);
    await bpfcol?.stop();
    programs.cleanup();
    dir.cleanup();
  }
  const u = median(rates.untraced);
  const t = median(rates.traced);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`median: untraced ${u.toFixed(0)} units/s, traced ${t.toFixed(0)} units/s (${ROUNDS} rounds of ${SECONDS}s, ~${median(gcRates).toFixed(0)} collections/s, logs ${LOGS ? 'on' : 'off'}, load average ${load} on ${cpus} CPUs)`);
  if (perGcNs.length) console.log(`jvm_usdt kernel program time per collection: ${(median(perGcNs) / 1000).toFixed(1)} µs (median of ${perGcNs.length} rounds)`);
  const uc = median(perCpu.untraced);
  const tc = median(perCpu.traced);
  console.log(`median work per CPU-second: untraced ${uc.toFixed(0)}, traced ${tc.toFixed(0)}`);
  console.log(`jvm_usdt GcChurn throughput: ${(t / u).toFixed(3)} of untraced`);
  console.log(`jvm_usdt GcChurn work per CPU-second: ${(tc / uc).toFixed(3)} of untraced`);
}

await main();
