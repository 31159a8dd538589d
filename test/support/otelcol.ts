// A real OpenTelemetry Collector for tests: built once by test/peers/otelcol.sh, started with an
// otlp receiver (gRPC and HTTP on free loopback ports; optionally the jaeger receiver's
// thrift_http; optionally profiles, behind --feature-gates=service.profilesSupport) feeding one file
// exporter per signal that writes OTLP/JSON lines, which the test reads back. pause()/resume() stop
// and restart it on the same ports, as a backend that restarts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromJson } from '../../src/pdata/otlp/json.ts';
import { OTLP_SIGNALS, type OtlpSignal } from '../../src/pdata/otlp/signal.ts';
import { itemCount, type SignalData } from '../../src/pdata/signal.ts';
import { freePort, waitForPort } from './ports.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let binary: Promise<string> | undefined;

/** The Collector binary's path, building it the first time (a few minutes without a Go cache). */
export function otelcolBinary(): Promise<string> {
  binary ??= new Promise((resolvePath, reject) => {
    execFile('bash', [join(ROOT, 'test/peers/otelcol.sh')], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`test/peers/otelcol.sh failed: ${stderr || error.message}`));
      else resolvePath(stdout.trim().split('\n').at(-1)!);
    });
  });
  return binary;
}

export interface OtelcolOptions {
  /** Also run the jaeger receiver's thrift_http protocol into the traces pipeline (see jaegerThriftUrl). */
  jaeger?: boolean;
  /** Also run a profiles pipeline (development status: starts the Collector with --feature-gates=service.profilesSupport; see profileLines). */
  profiles?: boolean;
}

export interface OtelcolPeer {
  /** The OTLP/gRPC receiver, `127.0.0.1:port`. */
  grpcEndpoint: string;
  /** With `jaeger: true`: the jaeger receiver's thrift_http URL, `http://127.0.0.1:port/api/traces`. */
  jaegerThriftUrl?: string;
  /** The OTLP/HTTP receiver's base URL, `http://127.0.0.1:port`. */
  httpUrl: string;
  /** The raw JSON lines the file exporter wrote for a signal so far. */
  lines(signal: OtlpSignal): string[];
  /** With `profiles: true`: the raw OTLP/JSON lines (ExportProfilesServiceRequest) the file exporter wrote so far. */
  profileLines(): string[];
  /** What the file exporter wrote for a signal so far, one entry per line. */
  read<S extends OtlpSignal>(signal: S): SignalData[S][];
  /** Waits until the file for `signal` holds at least `count` items (spans, points, records). */
  waitForItems<S extends OtlpSignal>(signal: S, count: number, timeoutMs?: number): Promise<SignalData[S][]>;
  /** What the Collector printed (its own logs), for failure messages. */
  output(): string;
  /** Stops the Collector (SIGTERM) but keeps its files and ports, as a backend that went away. */
  pause(): Promise<void>;
  /** Starts it again after pause(), on the same ports, appending to the same files. */
  resume(): Promise<void>;
  /** Stops the Collector and removes its files. Safe twice. */
  stop(): Promise<void>;
}

export async function startOtelcol(options: OtelcolOptions = {}): Promise<OtelcolPeer> {
  const bin = await otelcolBinary();
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-otelcol-'));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const jaegerPort = options.jaeger ? await freePort() : undefined;
  const file = (signal: OtlpSignal | 'profiles') => join(dir, `${signal}.jsonl`);
  const signals = options.profiles ? [...OTLP_SIGNALS, 'profiles' as const] : OTLP_SIGNALS;
  // append: a resumed Collector adds to what it wrote before pause().
  const exporters = signals.map((s) => `  file/${s}:\n    path: ${file(s)}\n    append: true\n    flush_interval: 50ms`).join('\n');
  const receiversOf = (s: OtlpSignal | 'profiles') => (s === 'traces' && jaegerPort ? '[otlp, jaeger]' : '[otlp]');
  const pipelines = signals.map((s) => `    ${s}:\n      receivers: ${receiversOf(s)}\n      exporters: [file/${s}]`).join('\n');
  const jaegerReceiver = jaegerPort
    ? `
  jaeger:
    protocols:
      thrift_http:
        endpoint: 127.0.0.1:${jaegerPort}`
    : '';
  const config = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:${httpPort}${jaegerReceiver}
exporters:
${exporters}
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: info
  pipelines:
${pipelines}
`;
  writeFileSync(join(dir, 'config.yaml'), config);

  let output = '';
  let child!: ChildProcess;
  let exited!: Promise<number | null>;
  const spawnCollector = async () => {
    const gates = options.profiles ? ['--feature-gates=service.profilesSupport'] : [];
    child = spawn(bin, ['--config', join(dir, 'config.yaml'), ...gates], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ports = [grpcPort, httpPort, ...(jaegerPort ? [jaegerPort] : [])];
    await Promise.race([
      Promise.all(ports.map((p) => waitForPort(p))),
      exited.then((code) => {
        throw new Error(`the Collector exited with ${code} before listening:\n${output}`);
      }),
    ]);
  };
  const terminate = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await terminate();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await spawnCollector();
  } catch (error) {
    await stop();
    throw error;
  }

  const lines = (signal: OtlpSignal | 'profiles') =>
    existsSync(file(signal)) ? readFileSync(file(signal), 'utf8').split('\n').filter((l) => l.trim() !== '') : [];
  const read = <S extends OtlpSignal>(signal: S) => lines(signal).map((l) => fromJson(signal, l));
  return {
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ...(jaegerPort ? { jaegerThriftUrl: `http://127.0.0.1:${jaegerPort}/api/traces` } : {}),
    lines,
    profileLines: () => lines('profiles'),
    read,
    async waitForItems(signal, count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const batches = read(signal);
        const n = batches.reduce((sum, d) => sum + itemCount(signal, d), 0);
        if (n >= count) return batches;
        if (Date.now() > deadline) throw new Error(`the Collector wrote ${n} ${signal} items, expected ${count}, after ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    output: () => output,
    pause: terminate,
    resume: spawnCollector,
    stop,
  };
}

/** A copy of `data` whose every resource carries `test.case=<name>`, to find it among other tests' data. */
export function tagged<S extends OtlpSignal>(signal: S, data: SignalData[S], name: string): SignalData[S] {
  const copy = structuredClone(data);
  for (const r of resources(signal, copy)) r.resource.attributes.push({ key: 'test.case', value: { stringValue: name } });
  return copy;
}

/** What the Collector writes back for `data`: pdata never leaves a scope out, so an absent one reads back empty. */
export function asCollectorWrites<S extends OtlpSignal>(signal: S, data: SignalData[S]): SignalData[S] {
  const copy = structuredClone(data);
  for (const r of resources(signal, copy)) for (const s of scopes(r)) s.scope ??= { name: '' };
  return copy;
}

/** Waits for the line the Collector wrote for data tagged `name`; returns it raw and decoded. */
export async function waitForTagged<S extends OtlpSignal>(
  peer: OtelcolPeer,
  signal: S,
  name: string,
  timeoutMs = 20_000,
): Promise<{ line: string; data: SignalData[S] }> {
  const deadline = Date.now() + timeoutMs;
  const marker = `{"key":"test.case","value":{"stringValue":${JSON.stringify(name)}}}`;
  for (;;) {
    const line = peer.lines(signal).find((l) => l.includes(marker));
    if (line) return { line, data: fromJson(signal, line) };
    if (Date.now() > deadline) throw new Error(`the Collector wrote no ${signal} tagged ${name} within ${timeoutMs} ms:\n${peer.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type AnyResource = { resource: { attributes: { key: string; value: object }[] } } & Record<string, unknown>;
type AnyScope = { scope?: { name: string } };

function resources(signal: OtlpSignal, data: SignalData[OtlpSignal]): AnyResource[] {
  const d = data as unknown as Record<string, AnyResource[]>;
  return d[{ traces: 'resourceSpans', metrics: 'resourceMetrics', logs: 'resourceLogs' }[signal]]!;
}

function scopes(r: AnyResource): AnyScope[] {
  return (r.scopeSpans ?? r.scopeMetrics ?? r.scopeLogs) as AnyScope[];
}
