// What does continuous profiling cost? perf_sampling at 99 Hz on every CPU (the default config's
// profiles pipeline: 30 s windows into the flamegraph exporter) while a CPU-bound C program runs one
// worker per CPU for a fixed time and counts its work; alternately without bpfcol, in one run. For
// each round: the workers' work rate, bpfcol's own CPU time (user + system from /proc, as a share
// of one CPU), and the kernel program's run time (kernel.bpf_stats_enabled) per sample. Medians of
// the rounds; the slowdown is the ratio of the median work rates.
//
//   node bench/perf_sampling-overhead.ts [--rounds 2] [--seconds 60] [--frequency 99]
//
// Needs root (bpfcol loads eBPF programs) and clang. The work rate of a shared, busy machine is
// noisy (other processes take the CPUs in turns), so the workers run at a higher priority
// (--nice, default -15) in both configurations: what other processes take from them shrinks, what
// profiling takes (the kernel program runs in the timer interrupt; bpfcol gets the little CPU it
// asks for) stays. Read the work rate next to the CPU figures, which the load blurs less.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '60' },
    frequency: { type: 'string', default: '99' },
    nice: { type: 'string', default: '-15' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const FREQUENCY = Number(values.frequency);
const NICE = Number(values.nice);
const CLK_TCK = 100;
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

if (process.getuid?.() !== 0) throw new Error('this benchmark loads eBPF programs: run it as root');
const cpus = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;

// One worker: a dependent multiply-add chain, counted, until `seconds` of wall time have passed.
const WORKER_C = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
__attribute__((noinline)) unsigned long work(unsigned long x) {
  for (int i = 0; i < 100000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
  return x;
}
int main(int argc, char **argv) {
  double end = now() + atof(argv[1]);
  unsigned long x = 1, units = 0;
  while (now() < end) { x = work(x); units++; }
  struct timespec c; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
  printf("units %lu cpu %.6f %lu\\n", units, c.tv_sec + c.tv_nsec / 1e9, x & 1);
  return 0;
}
`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface ProgramStats {
  id: number;
  name?: string;
  run_time_ns?: number;
  run_cnt?: number;
}

function programs(): ProgramStats[] {
  return JSON.parse(spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' }).stdout) as ProgramStats[];
}

/** Run time of the on_sample programs whose ids are in `ids` (those the bpfcol of this round loaded). */
function sampleProgramStats(ids: Set<number>): { ns: number; runs: number } {
  return programs()
    .filter((p) => ids.has(p.id))
    .reduce((a, p) => ({ ns: a.ns + (p.run_time_ns ?? 0), runs: a.runs + (p.run_cnt ?? 0) }), { ns: 0, runs: 0 });
}

/**
 * Runs one worker per CPU (pinned) for SECONDS: their total work units per second of wall time, and
 * per second of their own CPU time (what scheduling noise does not change).
 */
async function runWorkers(binary: string): Promise<{ perSecond: number; perCpuSecond: number }> {
  const runs = Array.from({ length: cpus }, (_, cpu) =>
    new Promise<{ units: number; cpu: number }>((resolve, reject) => {
      const child = spawn('nice', ['-n', String(NICE), 'taskset', '-c', String(cpu), binary, String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => {
        const m = /^units (\d+) cpu ([\d.]+)/m.exec(out);
        if (code !== 0 || !m) reject(new Error(`worker failed (${code}): ${out}`));
        else resolve({ units: Number(m[1]), cpu: Number(m[2]) });
      });
    }),
  );
  const results = await Promise.all(runs);
  const units = results.reduce((a, r) => a + r.units, 0);
  return { perSecond: units / SECONDS, perCpuSecond: units / results.reduce((a, r) => a + r.cpu, 0) };
}

async function main(): Promise<void> {
  const dir = tempDir('bpfcol-bench-perf-');
  const binary = join(dir.path, 'worker');
  writeFileSync(`${binary}.c`, WORKER_C);
  execFileSync('clang', ['-O2', '-fno-omit-frame-pointer', '-o', binary, `${binary}.c`]);
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  const telemetry = await freePort();
  const config = writeConfig(
    dir.path,
    `
receivers:
  perf_sampling:
    frequency: ${FREQUENCY}
    window: 30s
exporters:
  flamegraph: { directory: "${join(dir.path, 'flamegraphs')}" }
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetry}" }
  pipelines:
    profiles: { receivers: [perf_sampling], exporters: [flamegraph] }
`,
  );
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`perf_sampling overhead: ${FREQUENCY} Hz on ${cpus} CPUs, ${ROUNDS} rounds of ${SECONDS} s per side, alternating, workers at nice ${NICE}; load average at start ${load()}`);
  const base: number[] = [];
  const profiled: number[] = [];
  const baseCpu: number[] = [];
  const profiledCpu: number[] = [];
  const bpfcolCpu: number[] = [];
  const perSampleNs: number[] = [];
  const kernelCpu: number[] = [];
  let bpfcol: RunningBpfcol | undefined;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await runWorkers(binary);
      base.push(b.perSecond);
      baseCpu.push(b.perCpuSecond);
      console.log(`  round ${round} unprofiled: ${b.perSecond.toFixed(0)} units/s, ${b.perCpuSecond.toFixed(0)} units/CPU-s (load ${load()})`);

      const before = new Set(programs().map((p) => p.id));
      bpfcol = await startBpfcol(config);
      await new Promise((r) => setTimeout(r, 2000)); // attached, first processes announced
      const pid = bpfcol.child.pid!;
      // Program ids only grow: the on_sample programs that appeared are this bpfcol's.
      const ours = new Set(programs().filter((p) => p.name === 'on_sample' && !before.has(p.id)).map((p) => p.id));
      const cpu0 = cpuSeconds(pid);
      const k0 = sampleProgramStats(ours);
      const t0 = performance.now();
      const p = await runWorkers(binary);
      const wall = (performance.now() - t0) / 1000;
      const k1 = sampleProgramStats(ours);
      const cpu = cpuSeconds(pid) - cpu0;
      await bpfcol.stop('SIGTERM');
      bpfcol = undefined;
      profiled.push(p.perSecond);
      profiledCpu.push(p.perCpuSecond);
      bpfcolCpu.push(cpu / wall);
      const runs = k1.runs - k0.runs;
      perSampleNs.push(runs ? (k1.ns - k0.ns) / runs : 0);
      kernelCpu.push((k1.ns - k0.ns) / 1e9 / wall);
      console.log(
        `  round ${round} profiled:   ${p.perSecond.toFixed(0)} units/s, ${p.perCpuSecond.toFixed(0)} units/CPU-s; bpfcol ${(100 * cpu / wall).toFixed(2)}% of a CPU; ` +
          `kernel program ${runs} runs, ${((k1.ns - k0.ns) / Math.max(runs, 1)).toFixed(0)} ns each (load ${load()})`,
      );
    }
  } finally {
    await bpfcol?.stop('SIGTERM');
    writeFileSync(STATS, statsBefore);
    dir.cleanup();
  }
  const ratio = median(profiled) / median(base);
  const cpuRatio = median(profiledCpu) / median(baseCpu);
  console.log(`perf_sampling ${FREQUENCY} Hz, CPU-bound work on ${cpus} CPUs: ${median(profiled).toFixed(0)} vs ${median(base).toFixed(0)} units/s: ${ratio.toFixed(4)} of unprofiled (slowdown ${(100 * (1 - ratio)).toFixed(2)}%)`);
  console.log(`perf_sampling ${FREQUENCY} Hz, work per CPU-second of the workers: ${median(profiledCpu).toFixed(0)} vs ${median(baseCpu).toFixed(0)}: ${cpuRatio.toFixed(4)} of unprofiled (slowdown ${(100 * (1 - cpuRatio)).toFixed(2)}%)`);
  console.log(`perf_sampling ${FREQUENCY} Hz, bpfcol process CPU: ${(100 * median(bpfcolCpu)).toFixed(2)}% of one CPU: ${median(bpfcolCpu).toFixed(4)} of a CPU`);
  console.log(
    `perf_sampling ${FREQUENCY} Hz, kernel program: ${median(perSampleNs).toFixed(0)} ns per sample, ${(100 * median(kernelCpu)).toFixed(3)}% of one CPU: ${median(kernelCpu).toFixed(5)} of a CPU`,
  );
}

await main();
