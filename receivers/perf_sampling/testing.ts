// What the perf_sampling tests share: a receiver with consumers that keep what they get, workload
// programs built or written in a temporary directory, and readers of the profiles it emits.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAttribute } from '../../src/pdata/common.ts';
import type { Frame, Profile, ProfilesData } from '../../src/pdata/profiles.ts';
import { type RecordingTelemetry, SinkConsumer, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { perfSamplingConfigSchema } from './config.ts';
import { PerfSamplingReceiver } from './receiver.ts';

export const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

let instances = 0;

export interface RunningReceiver {
  receiver: PerfSamplingReceiver;
  profiles: SinkConsumer<'profiles'>;
  metrics: SinkConsumer<'metrics'>;
  telemetry: RecordingTelemetry;
  stop(): Promise<void>;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('perf_sampling tests load eBPF programs: run them as root');
}

/** Starts a receiver with `config` (YAML-shaped, defaults filled by the schema). */
export async function startReceiver(config: Record<string, unknown>): Promise<RunningReceiver> {
  const parsed = perfSamplingConfigSchema.parse(config);
  const telemetry = recordingTelemetry();
  const profiles = new SinkConsumer<'profiles'>();
  const metrics = new SinkConsumer<'metrics'>();
  const receiver = new PerfSamplingReceiver(testSettings(`perf_sampling/t${++instances}`, 'receiver', 'profiles', { telemetry }), parsed);
  receiver.profilesConsumer = profiles;
  receiver.metricsConsumer = metrics;
  await receiver.start();
  return { receiver, profiles, metrics, telemetry, stop: () => receiver.shutdown() };
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Builds testdata/hot.c with frame pointers into dir (clang: GCC 12 ignores -mno-omit-leaf-frame-pointer); returns the binary's path. */
export function buildHot(dir: string): string {
  const out = join(dir, 'hot');
  execFileSync('clang', ['-O1', '-g', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-o', out, join(TESTDATA, 'hot.c')]);
  return out;
}

/** Spawns a program and resolves once it printed its first line (it is running its workload). */
export function startProgram(command: string, args: string[], options: { cwd?: string; readyLine?: RegExp } = {}): Promise<ChildProcess> {
  return whenReady(spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }), options.readyLine);
}

/** Resolves with the child once its output matched `ready` (default: "ready"); rejects if it exits first. */
export function whenReady(child: ChildProcess, ready = /ready/): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!ready.test(out)) reject(new Error(`${child.spawnfile} exited (${code}) before it was ready: ${err}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Every profile received for a process id. */
export function profilesOf(batches: readonly ProfilesData[], pid: number): Profile[] {
  return batches.flatMap((b) =>
    b.resourceProfiles
      .filter((rp) => getAttribute(rp.resource.attributes, 'process.pid') === BigInt(pid))
      .flatMap((rp) => rp.scopeProfiles.flatMap((sp) => sp.profiles)),
  );
}

/** Samples (count) by leaf frame name ("self" time), over profiles. */
export function selfCounts(profiles: readonly Profile[], skip: (f: Frame) => boolean = () => false): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of profiles) {
    for (const s of p.samples) {
      const leaf = s.frames.find((f) => !skip(f));
      if (!leaf) continue;
      out.set(leaf.function, (out.get(leaf.function) ?? 0) + (s.values[0] ?? 0));
    }
  }
  return out;
}

/** Samples whose stack holds a frame named `name` anywhere ("total" time). */
export function totalCount(profiles: readonly Profile[], match: (f: Frame) => boolean): number {
  let n = 0;
  for (const p of profiles) for (const s of p.samples) if (s.frames.some(match)) n += s.values[0] ?? 0;
  return n;
}

export function sampleCount(profiles: readonly Profile[]): number {
  return profiles.reduce((n, p) => n + p.samples.reduce((m, s) => m + (s.values[0] ?? 0), 0), 0);
}

export function top(counts: Map<string, number>, n = 10): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
}
