// What the socket_trace end-to-end tests share: bpfcol started through its CLI with a socket_trace
// receiver limited to the test's ports (other processes on the machine make requests too), spans
// and metrics written by file exporters, bpfcol's own metrics on a telemetry port.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { getAttribute, type PlainValue } from '../../src/pdata/common.ts';
import type { Span } from '../../src/pdata/traces.ts';
import type { Resource } from '../../src/pdata/common.ts';
import { type RunningBpfcol, startBpfcol, writeConfig } from '../../test/support/cli.ts';
import { readMetrics, readSpans } from '../../test/support/otlp-files.ts';
import { freePort } from '../../test/support/ports.ts';

export interface TracedRun {
  bpfcol: RunningBpfcol;
  tracesPath: string;
  metricsPath: string;
  telemetryPort: number;
  spans(): { span: Span; resource: Resource }[];
  metrics(): ReturnType<typeof readMetrics>;
  /** bpfcol's own metrics (Prometheus text). */
  selfMetrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts bpfcol with socket_trace on `ports`; `extra` is YAML added to the receiver's config (a `filters:` line replaces the ports filter). */
export async function startTraced(dir: string, ports: number[], extra = '', pipelines?: { otlpPort?: number }): Promise<TracedRun> {
  const telemetryPort = await freePort();
  const tracesPath = join(dir, 'traces.jsonl');
  const metricsPath = join(dir, 'metrics.jsonl');
  const otlp = pipelines?.otlpPort ? `  otlp:\n    protocols:\n      grpc: { endpoint: "127.0.0.1:${pipelines.otlpPort}" }\n` : '';
  const config = writeConfig(
    dir,
    `
receivers:
  socket_trace:
${/^filters:/m.test(extra) ? '' : `    filters: { ports: [${ports.join(', ')}] }\n`}    metrics: { collection_interval: 1s }
${extra.replace(/^/gm, '    ')}
${otlp}
exporters:
  file/traces: { path: "${tracesPath}" }
  file/metrics: { path: "${metricsPath}" }
service:
  telemetry:
    logs: { level: debug }
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [socket_trace${otlp ? ', otlp' : ''}], exporters: [file/traces] }
    metrics: { receivers: [socket_trace], exporters: [file/metrics] }
`,
  );
  const bpfcol = await startBpfcol(config, {}, 120_000);
  return {
    bpfcol,
    tracesPath,
    metricsPath,
    telemetryPort,
    spans: () => readSpans(tracesPath),
    metrics: () => readMetrics(metricsPath),
    selfMetrics: async () => (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text(),
    stop: async () => {
      await bpfcol.stop();
    },
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr}${stdout}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

export function attr(span: Span | { attributes: Span['attributes'] }, key: string): PlainValue | undefined {
  return getAttribute(span.attributes, key);
}

export function resourceAttr(resource: Resource, key: string): PlainValue | undefined {
  return getAttribute(resource.attributes, key);
}

/** Polls until `select` finds at least `count` spans, then waits one more moment for stragglers and returns them. */
export async function waitForSpans(run: TracedRun, select: (s: { span: Span; resource: Resource }) => boolean, count: number, timeoutMs = 30_000): Promise<{ span: Span; resource: Resource }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = run.spans().filter(select);
    if (found.length >= count) {
      await new Promise((r) => setTimeout(r, 1000));
      return run.spans().filter(select);
    }
    if (Date.now() > deadline) {
      const all = run.spans();
      const last = all.slice(-12).map((s) => `${s.span.name} kind=${s.span.kind} service=${resourceAttr(s.resource, 'service.name')} pid=${resourceAttr(s.resource, 'process.pid')} ${JSON.stringify(s.span.attributes.map((a) => [a.key, Object.values(a.value)[0]]), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      throw new Error(`expected ${count} spans, found ${found.length} after ${timeoutMs} ms; all spans: ${all.length}, the last:\n  ${last.join('\n  ')}\nbpfcol said:\n${run.bpfcol.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Realtime ns now, as spans carry. */
export const unixNano = (): bigint => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);

/** Wall-clock bounds of a piece of work, to check span times against. */
export async function bracket<T>(work: () => Promise<T>): Promise<{ value: T; startNs: bigint; endNs: bigint }> {
  const startNs = BigInt(Date.now() - 1) * 1_000_000n; // Date.now() truncates: the true start may be up to 1 ms later
  const value = await work();
  const endNs = BigInt(Date.now() + 1) * 1_000_000n;
  return { value, startNs, endNs };
}

/** The value of a counter (summed over series matching `labels`) in Prometheus text. */
export function counterValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
