// A real Jaeger (v2, built by test/peers/jaeger.sh) for tests: in-memory storage, its collector's
// OTLP gRPC/HTTP and Thrift-over-HTTP receivers and its query API, all on free loopback ports.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';
import { freePort, waitForPort } from './ports.ts';

let binary: Promise<string> | undefined;

export function jaegerBinary(): Promise<string> {
  binary ??= new Promise((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'test/peers/jaeger.sh')], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`test/peers/jaeger.sh failed: ${stderr || error.message}`));
      else resolve(stdout.trim().split('\n').at(-1)!);
    });
  });
  return binary;
}

/** A span as Jaeger's query API (/api/traces) returns it. */
export interface JaegerApiSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  logs: { timestamp: number; fields: { key: string; type: string; value: unknown }[] }[];
  processID: string;
}
export interface JaegerApiTrace {
  traceID: string;
  spans: JaegerApiSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] }>;
}

export interface JaegerPeer {
  otlpGrpcEndpoint: string;
  otlpHttpUrl: string;
  thriftHttpUrl: string;
  /** Base URL of the query API and UI. */
  queryUrl: string;
  /** GET /api/services. */
  services(): Promise<string[]>;
  /** GET /api/traces?service=...: every trace of a service, whenever its spans started. */
  traces(service: string): Promise<JaegerApiTrace[]>;
  /** Polls traces(service) until `accept` holds (default: some span), or rejects after timeoutMs. */
  waitForTraces(service: string, accept?: (traces: JaegerApiTrace[]) => boolean, timeoutMs?: number): Promise<JaegerApiTrace[]>;
  output(): string;
  stop(): Promise<void>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

export async function startJaeger(): Promise<JaegerPeer> {
  const bin = await jaegerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-jaeger-'));
  const [grpc, http, thrift, query, queryGrpc] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'config.yaml'),
    `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp, jaeger]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${query}
    grpc:
      endpoint: 127.0.0.1:${queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpc}
      http:
        endpoint: 127.0.0.1:${http}
  jaeger:
    protocols:
      thrift_http:
        endpoint: 127.0.0.1:${thrift}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  let output = '';
  const child: ChildProcess = spawn(bin, ['--config', join(dir, 'config.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-50_000)));
  child.stderr!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-50_000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      Promise.all([grpc, http, thrift, query].map((p) => waitForPort(p, '127.0.0.1', 60_000))),
      exited.then((code) => {
        throw new Error(`jaeger exited with ${code} before listening:\n${output}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  const queryUrl = `http://127.0.0.1:${query}`;
  const traces = (service: string) => getJson<JaegerApiTrace[]>(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=1000&start=1000000&end=${(Date.now() + 3_600_000) * 1000}`);
  return {
    otlpGrpcEndpoint: `127.0.0.1:${grpc}`,
    otlpHttpUrl: `http://127.0.0.1:${http}`,
    thriftHttpUrl: `http://127.0.0.1:${thrift}/api/traces`,
    queryUrl,
    services: async () => (await getJson<string[] | null>(`${queryUrl}/api/services`)) ?? [],
    traces,
    async waitForTraces(service, accept = (t) => t.some((x) => x.spans.length > 0), timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: JaegerApiTrace[] = [];
      for (;;) {
        last = await traces(service).catch(() => []);
        if (accept(last)) return last;
        if (Date.now() > deadline) throw new Error(`jaeger: no acceptable traces for ${service} within ${timeoutMs} ms (got ${last.length}):\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    output: () => output,
    stop,
  };
}
