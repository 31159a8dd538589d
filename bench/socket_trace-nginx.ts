// What does socket_trace cost a busy web server, and how much can it follow without losing any
// request? wrk against nginx (both from Debian) on loopback, nginx on CPU 0 and wrk on CPU 1.
//
//  1. Saturation: alternating rounds without bpfcol; with socket_trace's programs attached and
//     tracing nothing (protocols: [redis]: nginx's connections are looked at, then ignored: the
//     floor of hooking every syscall); with socket_trace making a span of every request; and with
//     spans.sampling_ratio (default 0.01: the other requests measured in the kernel,
//     bpf/socket_trace_http1.h). Tracing nginx's side (filters ports + executables), wrk -c32
//     keep-alive; medians of requests/s and p99 latency, their ratios; bpfcol's own CPU time per
//     request (/proc/PID/stat over the run) and nginx's CPU per request.
//  2. Paced load (wrk with a 1 ms delay per connection, connections = rate / 1000): the highest
//     rate at which every request became a span and the kernel lost no record.
// Spans go through a batch processor to the debug exporter (basic: a line per batch), so the
// figures are socket_trace's cost, not an exporter's.
//
//   node bench/socket_trace-nginx.ts [--rounds 3] [--seconds 5] [--connections 32] [--sampling-ratio 0.01] [--rates 5000,10000,...]
//
// Needs root (bpfcol loads eBPF programs), nginx and wrk (scripts/apt-packages.txt).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';
import { counterValue } from '../receivers/socket_trace/testing.ts';
import { cpuSeconds, loadavg, median, nginxWorker, startNginx, wrk } from './support/nginx.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rates: { type: 'string', default: '5000,10000,15000,20000,25000,30000,40000' },
    'sampling-ratio': { type: 'string', default: '0.01' },
  },
});
const SAMPLING_RATIO = Number(values['sampling-ratio']);
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const RATES = values.rates.split(',').map(Number);
if (process.getuid?.() !== 0) throw new Error('this benchmark loads eBPF programs: run it as root');

interface Counts {
  requests: number;
  lost: number;
  dropped: number;
}

async function counts(telemetryPort: number): Promise<Counts> {
  const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
  return {
    requests: counterValue(text, 'bpfcol_receiver_socket_trace_requests_total'),
    lost: counterValue(text, 'bpfcol_receiver_socket_trace_kernel_lost_total'),
    dropped: counterValue(text, 'bpfcol_receiver_socket_trace_spans_dropped_total'),
  };
}

/** Counts reach bpfcol's metrics every 5 s: wait for a fresh export. */
const settleCounts = () => sleep(6000);

async function main(): Promise<void> {
  const dir = tempDir('bpfcol-bench-st-');
  const port = await freePort();
  const telemetryPort = await freePort();
  const nginx = await startNginx(dir.path, port);
  const worker = nginxWorker(nginx);
  const configWith = (samplingRatio: number, protocols?: string) =>
    writeConfig(
      dir.path,
      `
receivers:
  socket_trace:
    filters: { ports: [${port}], executables: [nginx] }
    spans: { sampling_ratio: ${samplingRatio} }${protocols ? `
    protocols: [${protocols}]` : ''}
processors:
  batch: {}
exporters:
  debug: { verbosity: basic }
service:
  telemetry:
    logs: { level: info }
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [socket_trace], processors: [batch], exporters: [debug] }
    metrics: { receivers: [socket_trace], processors: [batch], exporters: [debug] }
`,
      `config-${samplingRatio}-${protocols ?? 'all'}.yaml`,
    );
  type Variant = 'untraced' | 'hooks' | 'traced' | 'sampled';
  const configs: Record<Exclude<Variant, 'untraced'>, string> = { hooks: configWith(1, 'redis'), traced: configWith(1), sampled: configWith(SAMPLING_RATIO) };
  const config = configs.traced;
  const VARIANTS: Variant[] = ['untraced', 'hooks', 'traced', 'sampled'];
  let bpfcol: RunningBpfcol | undefined;
  const perVariant = (): Record<Variant, number[]> => ({ untraced: [], hooks: [], traced: [], sampled: [] });
  const rps = perVariant();
  const p99 = perVariant();
  const nginxCpu = perVariant();
  const bpfcolCpu = perVariant();
  const tracedShare: string[] = [];
  try {
    console.log(`load average before: ${loadavg()} (the machine is shared with other work: figures are noisy)`);
    wrk(port, { seconds: 2, connections: CONNECTIONS });
    for (let round = 1; round <= ROUNDS; round++) {
      for (const key of VARIANTS) {
        const traced = key !== 'untraced';
        let before: Counts | undefined;
        if (traced) {
          bpfcol = await startBpfcol(configs[key], {}, 120_000);
          await sleep(2000);
          before = await counts(telemetryPort);
        } else await sleep(2000);
        const pid = bpfcol?.child.pid;
        const cpu0 = pid ? cpuSeconds(pid) : 0;
        const n0 = cpuSeconds(worker);
        const r = wrk(port, { seconds: SECONDS, connections: CONNECTIONS });
        const n1 = cpuSeconds(worker);
        rps[key].push(r.rps);
        p99[key].push(r.p99Ms);
        nginxCpu[key].push(((n1 - n0) / r.requests) * 1e6);
        let line = `round ${round} ${key.padEnd(8)} ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, nginx ${(((n1 - n0) / r.requests) * 1e6).toFixed(2)} µs CPU/request`;
        if (traced && pid && bpfcol && before) {
          await settleCounts();
          const cpu = cpuSeconds(pid) - cpu0; // the run, and draining what it left in the ring
          const after = await counts(telemetryPort);
          const us = (cpu / r.requests) * 1e6;
          bpfcolCpu[key].push(us);
          const seen = after.requests - before.requests;
          tracedShare.push(`${key} ${seen}/${r.requests}`);
          line += `; bpfcol ${us.toFixed(2)} µs CPU/request, ${seen} requests traced, ${after.lost - before.lost} records lost, ${after.dropped - before.dropped} spans dropped`;
          await bpfcol.stop();
          bpfcol = undefined;
        }
        console.log(line);
      }
    }
    // Paced load: the highest rate with nothing lost.
    bpfcol = await startBpfcol(config, {}, 120_000);
    await sleep(2000);
    const script = join(dir.path, 'pace.lua');
    writeFileSync(script, 'function delay() return 1 end\n');
    let best: { rate: number; achieved: number } | undefined;
    for (const rate of RATES) {
      // wrk paces each connection (1 ms between its requests, plus the request's latency): start
      // with rate/1000 connections and add until the rate is reached (or nginx saturates).
      let connections = Math.max(1, Math.round(rate / 1000));
      let result: { r: ReturnType<typeof wrk>; seen: number; lost: number; dropped: number } | undefined;
      for (let attempt = 0; attempt < 4; attempt++) {
        const before = await counts(telemetryPort);
        const r = wrk(port, { seconds: SECONDS, connections, script });
        await settleCounts();
        const after = await counts(telemetryPort);
        result = { r, seen: after.requests - before.requests, lost: after.lost - before.lost, dropped: after.dropped - before.dropped };
        if (r.rps >= rate * 0.9 || result.lost || result.dropped) break;
        connections = Math.ceil((connections * rate) / Math.max(r.rps, 1));
      }
      const { r, seen, lost, dropped } = result!;
      const ok = lost === 0 && dropped === 0 && seen >= r.requests && seen <= r.requests + connections;
      console.log(`paced ${rate} req/s target: ${r.rps.toFixed(0)} req/s achieved (${connections} connections), ${r.requests} requests, ${seen} traced, ${lost} records lost, ${dropped} spans dropped: ${ok ? 'nothing lost' : 'LOSS'}`);
      if (ok && (!best || r.rps > best.achieved)) best = { rate, achieved: r.rps };
      if (!ok) break;
    }
    console.log(`load average after: ${loadavg()}`);
    const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
    const medians = VARIANTS.map((v) => `${v} ${median(rps[v]).toFixed(0)} req/s (p99 ${median(p99[v]).toFixed(2)} ms)`).join(', ');
    console.log(`median ${medians}; ${ROUNDS} rounds of ${SECONDS}s, ${CONNECTIONS} connections; traced/requests per round: ${tracedShare.join(', ')}`);
    for (const [key, what] of [['hooks', 'programs attached, tracing nothing'], ['traced', 'every request a span'], ['sampled', `spans.sampling_ratio ${SAMPLING_RATIO}, the rest measured in the kernel`]] as const) {
      console.log(`socket_trace nginx throughput (${what}): ${ratio(rps[key], rps.untraced)} of untraced`);
      // each round against the untraced run just before it: the machine's speed drifts between rounds
      const paired = rps[key].map((r, i) => r / rps.untraced[i]!);
      console.log(`socket_trace nginx throughput (${what}), paired by round [${paired.map((x) => x.toFixed(2)).join(', ')}]: ${median(paired).toFixed(2)} of untraced`);
      console.log(`socket_trace nginx p99 latency (${what}): ${ratio(p99[key], p99.untraced)} of untraced`);
      console.log(`socket_trace nginx CPU per request (${what}): ${median(nginxCpu[key]).toFixed(2)} µs, ${median(nginxCpu.untraced).toFixed(2)} µs untraced: ${ratio(nginxCpu[key], nginxCpu.untraced)} of untraced`);
      console.log(`socket_trace bpfcol CPU per traced request (${what}): ${median(bpfcolCpu[key]).toFixed(2)} µs (median of ${bpfcolCpu[key].length} saturated runs)`);
    }
    console.log(best ? `socket_trace highest paced rate with nothing lost: ${best.achieved.toFixed(0)} req/s (target ${best.rate})` : 'socket_trace lost records at every paced rate tried');
  } finally {
    await bpfcol?.stop();
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
    dir.cleanup();
  }
}

await main();
