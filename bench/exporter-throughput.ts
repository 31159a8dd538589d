// How many spans per CPU-second does the pipeline otlp receiver -> batch -> otlp exporter pass,
// in bpfcol and in the OpenTelemetry Collector built here (test/peers/otelcol.sh)? Same input
// (pre-encoded OTLP/gRPC requests of 100 spans, 8 in flight), same machine, same sink (a second
// Collector, otlp receiver -> debug exporter). For each subject: spans/s from the first request
// until the sink counted every span, CPU-seconds (user + system of the subject process, from
// /proc) per million spans, and peak RSS (VmHWM). Subjects alternate over the rounds.
//
//   node bench/exporter-throughput.ts [spans per round, default 300000] [rounds, default 2]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { encodeRequest, otlpGrpcMethodPaths } from '../src/pdata/otlp/index.ts';
import { BPFCOL, tempDir, writeConfig } from '../test/support/cli.ts';
import { otelcolBinary } from '../test/support/otelcol.ts';
import { freePort, waitForPort } from '../test/support/ports.ts';
import { numberedSpans } from '../test/support/spans.ts';

const SPANS = Number(process.argv[2] ?? 300_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const PER_REQUEST = 100;
const IN_FLIGHT = 8;
const CLK_TCK = 100;

const dir = tempDir('bpfcol-bench-exporter-');
const children: ChildProcess[] = [];

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  child.once('exit', (code) => {
    if (code !== 0 && code !== null && !stopping) console.error(`${command} exited with ${code}:\n${err}`);
  });
  children.push(child);
  return child;
}
let stopping = false;

/** user + system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

async function sinkAccepted(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('otelcol_receiver_accepted_spans'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function main(): Promise<void> {
  const otelcol = await otelcolBinary();
  // The sink: a Collector that counts and drops (debug exporter, basic verbosity, sampled logs).
  const [sinkGrpc, sinkMetrics] = [await freePort(), await freePort()];
  start(otelcol, [
    '--config',
    writeConfig(
      dir.path,
      `receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${sinkGrpc}" } } }
exporters:
  debug: { verbosity: basic, sampling_initial: 1, sampling_thereafter: 100000 }
service:
  telemetry:
    logs: { level: warn }
    metrics:
      level: basic
      readers:
        - pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${sinkMetrics} } } }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`,
      'sink.yaml',
    ),
  ]);
  await waitForPort(sinkGrpc);
  await waitForPort(sinkMetrics);

  // The subjects, each: otlp receiver -> batch -> otlp exporter -> sink, with the same settings.
  const subjects: { name: string; port: number; child: ChildProcess }[] = [];
  for (const name of ['bpfcol', 'otelcol'] as const) {
    const [port, telemetry] = [await freePort(), await freePort()];
    const exporter = name === 'bpfcol' ? 'otlp' : 'otlp_grpc';
    const telemetryYaml =
      name === 'bpfcol' ? `metrics: { address: "127.0.0.1:${telemetry}" }\n    logs: { level: warn }` : `metrics: { level: none }\n    logs: { level: warn }`;
    const config = writeConfig(
      dir.path,
      `receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${port}" } } }
processors:
  batch: {}
exporters:
  ${exporter}: { endpoint: "127.0.0.1:${sinkGrpc}", tls: { insecure: true } }
service:
  telemetry:
    ${telemetryYaml}
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [${exporter}] }
`,
      `${name}.yaml`,
    );
    const child = name === 'bpfcol' ? start(BPFCOL, ['--config', config]) : start(otelcol, ['--config', config]);
    await waitForPort(port, '127.0.0.1', 60_000);
    subjects.push({ name, port, child });
  }

  // The input: requests encoded once, so the load generator spends little per request.
  const requests = Array.from({ length: 50 }, (_, i) => Buffer.from(encodeRequest('traces', numberedSpans(1, i, PER_REQUEST, 'bench'))));
  const identity = (b: Buffer) => b;

  async function load(port: number, spans: number): Promise<void> {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    let next = 0;
    const total = Math.ceil(spans / PER_REQUEST);
    const worker = async () => {
      while (next < total) {
        const body = requests[next++ % requests.length]!;
        await new Promise<void>((resolve, reject) =>
          client.makeUnaryRequest(otlpGrpcMethodPaths.traces, identity, identity, body, (error) => (error ? reject(error) : resolve())),
        );
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    client.close();
  }

  const results = new Map<string, { spans: number; seconds: number; cpu: number }>();
  await load(subjects[0]!.port, 20_000); // warm-up both (JIT, connections)
  await load(subjects[1]!.port, 20_000);
  let expected = 40_000;
  while ((await sinkAccepted(sinkMetrics)) < expected) await new Promise((r) => setTimeout(r, 100));

  for (let round = 0; round < ROUNDS; round++) {
    for (const s of subjects) {
      const pid = s.child.pid!;
      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      await load(s.port, SPANS);
      expected += Math.ceil(SPANS / PER_REQUEST) * PER_REQUEST;
      while ((await sinkAccepted(sinkMetrics)) < expected) await new Promise((r) => setTimeout(r, 20));
      const seconds = (performance.now() - t0) / 1000;
      // The CPU this round cost: wait for the batch timer to go quiet, then read.
      await new Promise((r) => setTimeout(r, 300));
      const r = results.get(s.name) ?? { spans: 0, seconds: 0, cpu: 0 };
      r.spans += Math.ceil(SPANS / PER_REQUEST) * PER_REQUEST;
      r.seconds += seconds;
      r.cpu += cpuSeconds(pid) - cpu0;
      results.set(s.name, r);
    }
  }

  const line = (name: string) => {
    const r = results.get(name)!;
    const pid = subjects.find((s) => s.name === name)!.child.pid!;
    return { rate: r.spans / r.seconds, cpuPerMillion: (r.cpu / r.spans) * 1e6, rss: peakRssMiB(pid) };
  };
  const b = line('bpfcol');
  const o = line('otelcol');
  console.log(`input: ${ROUNDS} x ${SPANS} spans per subject, requests of ${PER_REQUEST} spans, ${IN_FLIGHT} in flight; batch -> otlp exporter -> sink Collector`);
  console.log(`otlp->batch->otlp throughput: bpfcol ${b.rate.toFixed(0)} spans/s, otelcol ${o.rate.toFixed(0)} spans/s: ${(b.rate / o.rate).toFixed(2)} of otelcol`);
  console.log(`otlp->batch->otlp CPU per million spans: bpfcol ${b.cpuPerMillion.toFixed(2)} s, otelcol ${o.cpuPerMillion.toFixed(2)} s: ${(b.cpuPerMillion / o.cpuPerMillion).toFixed(2)} of otelcol`);
  console.log(`otlp->batch->otlp peak RSS: bpfcol ${b.rss.toFixed(0)} MiB, otelcol ${o.rss.toFixed(0)} MiB: ${(b.rss / o.rss).toFixed(2)} of otelcol`);
}

try {
  await main();
} finally {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  dir.cleanup();
}
