// What the jvm_usdt tests and benchmark share: the JDKs installed on this machine, the Java test
// programs (testdata/*.java) compiled once per run, and a driver for the Workload JVM, which
// answers every command with its own JMX view (one JSON line).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getAttribute, type PlainValue } from '../../src/pdata/common.ts';
import type { LogRecord, LogsData } from '../../src/pdata/logs.ts';
import type { HistogramDataPoint, MetricsData, NumberDataPoint, ResourceMetrics } from '../../src/pdata/metrics.ts';
import { type RecordingTelemetry, SinkConsumer, captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { jvmUsdtConfigSchema } from './config.ts';
import { JvmUsdtReceiver } from './receiver.ts';

export interface Jdk {
  /** Short name for test titles: debian-17, temurin-25. */
  name: string;
  home: string;
  java: string;
  libjvm: string;
  /** javac and jstat when it is a JDK (not a bare JRE). */
  javac?: string;
  jstat?: string;
  /** Feature version (17, 25...). */
  feature: number;
}

function releaseField(home: string, key: string): string | undefined {
  try {
    const text = execFileSync('cat', [join(home, 'release')], { encoding: 'utf8' });
    return new RegExp(`^${key}="([^"]*)"`, 'm').exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Every JDK under /usr/lib/jvm and /opt with a server libjvm.so (symlinked homes counted once). */
export function installedJdks(): Jdk[] {
  const out: Jdk[] = [];
  const seen = new Set<string>();
  for (const root of ['/usr/lib/jvm', '/opt']) {
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const dir = join(root, n);
      const libjvm = join(dir, 'lib/server/libjvm.so');
      const java = join(dir, 'bin/java');
      if (!existsSync(libjvm) || !existsSync(java)) continue;
      const home = realpathSync(dir);
      if (seen.has(home)) continue;
      seen.add(home);
      const version = releaseField(home, 'JAVA_VERSION') ?? '';
      const feature = Number(version.split('.')[0]) || 0;
      const implementor = (releaseField(home, 'IMPLEMENTOR') ?? 'jdk').toLowerCase();
      const vendor = implementor.includes('adoptium') ? 'temurin' : implementor.includes('debian') ? 'debian' : implementor.split(/\s+/)[0];
      out.push({
        name: `${vendor}-${feature}`,
        home,
        java: join(home, 'bin/java'),
        libjvm: realpathSync(libjvm),
        javac: existsSync(join(home, 'bin/javac')) ? join(home, 'bin/javac') : undefined,
        jstat: existsSync(join(home, 'bin/jstat')) ? join(home, 'bin/jstat') : undefined,
        feature,
      });
    }
  }
  return out;
}

/** Debian's OpenJDK 17 (the tests need it; it comes with the machine's packages). */
export function debianJdk(): Jdk {
  const jdk = installedJdks().find((j) => j.home.includes('java-17-openjdk'));
  if (!jdk?.javac) throw new Error('Debian OpenJDK 17 (javac included) is not installed: apt-get install openjdk-17-jdk-headless');
  return jdk;
}

/**
 * A copy of a JDK whose libjvm.so has no .note.stapsdt section (objcopy removes it): a HotSpot
 * build without DTrace probes. Everything else is a symbolic link to the original.
 */
export function jdkWithoutProbes(jdk: Jdk): Jdk & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-jdk-noprobes-'));
  chmodSync(dir, 0o755);
  const mirror = (from: string, to: string, keep: (name: string) => boolean) => {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from)) if (keep(e)) symlinkSync(join(from, e), join(to, e));
  };
  mirror(jdk.home, dir, (e) => e !== 'bin' && e !== 'lib');
  mirror(join(jdk.home, 'bin'), join(dir, 'bin'), (e) => e !== 'java');
  copyFileSync(join(jdk.home, 'bin/java'), join(dir, 'bin/java'));
  chmodSync(join(dir, 'bin/java'), 0o755);
  mirror(join(jdk.home, 'lib'), join(dir, 'lib'), (e) => e !== 'server');
  mirror(join(jdk.home, 'lib/server'), join(dir, 'lib/server'), (e) => e !== 'libjvm.so');
  execFileSync('objcopy', ['--remove-section', '.note.stapsdt', jdk.libjvm, join(dir, 'lib/server/libjvm.so')]);
  return {
    ...jdk,
    name: `${jdk.name}-without-probes`,
    home: dir,
    java: join(dir, 'bin/java'),
    libjvm: join(dir, 'lib/server/libjvm.so'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

export interface CompiledPrograms {
  /** Class path of Workload and GcChurn (readable by every user). */
  classes: string;
  /** Directory holding Payload.class only (loaded by Workload's own class loaders). */
  payload: string;
  cleanup(): void;
}

/** Compiles testdata/*.java with javac --release 17 into a world-readable temporary directory. */
export function compilePrograms(): CompiledPrograms {
  const jdk = debianJdk();
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-jvm-'));
  chmodSync(dir, 0o755);
  const classes = join(dir, 'classes');
  const payload = join(dir, 'payload');
  execFileSync(jdk.javac!, ['--release', '17', '-d', classes, join(TESTDATA, 'Workload.java'), join(TESTDATA, 'GcChurn.java')], { stdio: 'inherit' });
  execFileSync(jdk.javac!, ['--release', '17', '-d', payload, join(TESTDATA, 'Payload.java')], { stdio: 'inherit' });
  for (const d of [classes, payload]) chmodSync(d, 0o755);
  return { classes, payload, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface MemoryUsageJson {
  used: number;
  committed: number;
  max: number;
}

/** What Workload answers: the JVM's own view of itself. */
export interface JmxState {
  pools: { name: string; type: 'Heap memory' | 'Non-heap memory'; usage: MemoryUsageJson; afterGc: MemoryUsageJson | null }[];
  gcs: { name: string; count: number; timeMs: number }[];
  threads: { live: number; daemon: number; started: number };
  classes: { loaded: number; unloaded: number; current: number };
}

export interface WorkloadOptions {
  jdk: Jdk;
  programs: CompiledPrograms;
  /** JVM options before the main class. */
  jvmArgs?: string[];
  uid?: number;
  gid?: number;
}

/** A running Workload JVM. */
export class Workload {
  readonly child: ChildProcess;
  readonly pid: number;
  /** JMX view when it said ready. */
  readonly initial: JmxState;
  readonly #lines: AsyncIterator<string>;
  readonly exited: Promise<number | null>;
  #stderr = '';

  private constructor(child: ChildProcess, lines: AsyncIterator<string>, pid: number, initial: JmxState, exited: Promise<number | null>) {
    this.child = child;
    this.#lines = lines;
    this.pid = pid;
    this.initial = initial;
    this.exited = exited;
    child.stderr?.on('data', (b: Buffer) => (this.#stderr += b.toString()));
  }

  static async start(options: WorkloadOptions): Promise<Workload> {
    const child = spawn(options.jdk.java, [...(options.jvmArgs ?? []), '-cp', options.programs.classes, 'Workload', options.programs.payload], {
      stdio: ['pipe', 'pipe', 'pipe'],
      uid: options.uid,
      gid: options.gid,
      // HOME for a user without one: the JVM only needs /tmp.
      env: { ...process.env, HOME: options.uid !== undefined ? '/tmp' : process.env.HOME },
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), exited.then((code) => ({ done: true, value: `exited ${code}` }))]);
    const m = /^ready (\d+) (.*)$/.exec(String(first.value ?? ''));
    if (first.done || !m) {
      child.kill('SIGKILL');
      throw new Error(`Workload (${options.jdk.name}) did not start: ${String(first.value)}\n${stderr}`);
    }
    return new Workload(child, lines, Number(m[1]), JSON.parse(m[2]!) as JmxState, exited);
  }

  /** Sends a command; resolves with the JVM's view after it ran. */
  async command(line: string): Promise<JmxState> {
    this.child.stdin!.write(`${line}\n`);
    const next = await this.#lines.next();
    const m = /^ok \S+ (.*)$/.exec(String(next.value ?? ''));
    if (next.done || !m) throw new Error(`Workload answered '${String(next.value)}' to '${line}'\n${this.#stderr}`);
    return JSON.parse(m[1]!) as JmxState;
  }

  /** Asks it to exit and waits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.write('exit\n');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 10_000))]);
    this.kill();
    await this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls cond until it returns a value (not undefined) or timeoutMs passes (then throws, naming what). */
export async function until<T>(what: string, cond: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- the receiver under test ---------------------------------------------------------------------


let instances = 0;

export interface RunningReceiver {
  receiver: JvmUsdtReceiver;
  metrics: SinkConsumer<'metrics'>;
  logs: SinkConsumer<'logs'>;
  telemetry: RecordingTelemetry;
  /** What the receiver logged. */
  logLines: string[];
  /** Resolves after `n` more metric batches (default 2: one may have been read before the caller's last action). */
  nextBatches(n?: number, timeoutMs?: number): Promise<MetricsData>;
  stop(): Promise<void>;
}

/** Starts a jvm_usdt receiver made directly (the factory only wires consumers; the CLI test goes through it). */
export async function startReceiver(config: Record<string, unknown>, options: { logs?: boolean } = {}): Promise<RunningReceiver> {
  const parsed = jvmUsdtConfigSchema.parse(config);
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger('debug');
  const metrics = new SinkConsumer<'metrics'>();
  const logs = new SinkConsumer<'logs'>();
  const receiver = new JvmUsdtReceiver(testSettings(`jvm_usdt/t${++instances}`, 'receiver', 'metrics', { telemetry, logger }), parsed);
  receiver.metricsConsumer = metrics;
  if (options.logs) receiver.logsConsumer = logs;
  await receiver.start();
  const nextBatches = async (n = 2, timeoutMs = 30_000) => {
    const want = metrics.received.length + n;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      metrics.waitFor(want),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no metrics batch #${want} within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return metrics.received.at(-1)!;
  };
  return { receiver, metrics, logs, telemetry, logLines: lines, nextBatches, stop: () => receiver.shutdown() };
}

/** The resource of a pid in a batch. */
export function resourceOf(data: MetricsData | undefined, pid: number): ResourceMetrics | undefined {
  return data?.resourceMetrics.find((rm) => getAttribute(rm.resource.attributes, 'process.pid') === BigInt(pid));
}

type Want = Record<string, PlainValue | undefined>;

function matches(attrs: NumberDataPoint['attributes'], want: Want): boolean {
  return Object.entries(want).every(([k, v]) => (v === undefined ? getAttribute(attrs, k) === undefined : getAttribute(attrs, k) === (typeof v === 'number' ? BigInt(v) : v)));
}

function metricOf(rm: ResourceMetrics | undefined, name: string) {
  return rm?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.name === name);
}

/** The value of a sum's point for a pid (undefined when absent). */
export function sumValue(data: MetricsData | undefined, pid: number, name: string, want: Want = {}): number | undefined {
  const m = metricOf(resourceOf(data, pid), name);
  if (!m || m.data.type !== 'sum') return undefined;
  const p = m.data.dataPoints.find((x) => matches(x.attributes, want));
  return p?.asInt !== undefined ? Number(p.asInt) : p?.asDouble;
}

export function sumPoints(data: MetricsData | undefined, pid: number, name: string): NumberDataPoint[] {
  const m = metricOf(resourceOf(data, pid), name);
  return m?.data.type === 'sum' ? m.data.dataPoints : [];
}

export function histogram(data: MetricsData | undefined, pid: number, name: string, want: Want = {}): HistogramDataPoint | undefined {
  const m = metricOf(resourceOf(data, pid), name);
  if (!m || m.data.type !== 'histogram') return undefined;
  return m.data.dataPoints.find((x) => matches(x.attributes, want));
}

/** Every log record for a pid received so far. */
export function logRecordsOf(batches: readonly LogsData[], pid: number): LogRecord[] {
  return batches.flatMap((b) => b.resourceLogs.filter((rl) => getAttribute(rl.resource.attributes, 'process.pid') === BigInt(pid)).flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords)));
}

/** Perf-event attachments (uprobes: libbpf 1.1 attaches them as perf events) of the given program ids, as bpftool sees them. */
export function perfAttachments(programIds: readonly number[]): { pid: number; fd: number; prog_id: number; filename?: string }[] {
  const out = JSON.parse(execFileSync('bpftool', ['perf', 'show', '--json'], { encoding: 'utf8' }) || '[]') as { pid: number; fd: number; prog_id: number; filename?: string }[];
  const ids = new Set(programIds);
  return out.filter((a) => ids.has(a.prog_id));
}

/** Ids of every loaded BPF program (bpftool prog show). */
export function loadedProgramIds(): Set<number> {
  return new Set((JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' })) as { id: number }[]).map((p) => p.id));
}
