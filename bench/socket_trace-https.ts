// What do socket_trace's TLS uprobes cost an HTTPS server? wrk over HTTPS against nginx (both
// Debian's, both on libssl.so.3) on loopback, nginx on CPU 0 and wrk on CPU 1, keep-alive.
//
// Alternating rounds of three kinds, each with its baseline in the same run:
//   untraced   no bpfcol;
//   tls off    bpfcol with socket_trace and tls.enabled: false (the syscall hooks only: the
//              ciphertext connections are sniffed and given up);
//   tls on     bpfcol with socket_trace and its OpenSSL uprobes (every request a span).
// socket_trace traces nginx's side (filters: the port and executables [nginx]). A uprobe is set on
// a file, so wrk, which maps the same libssl.so.3, takes the probes' traps too (the programs return
// at once for a process the filters leave out): the throughput figures include that, as they would
// on a machine where clients and servers share the library. Printed: medians of requests/s, their
// ratio, the cost per request derived from throughput (1/rps traced - 1/rps untraced), nginx's and
// wrk's CPU per request, and bpfcol's CPU per traced request.
//
//   node bench/socket_trace-https.ts [--rounds 3] [--seconds 5] [--connections 32]
//
// Needs root (bpfcol loads eBPF programs), nginx, wrk and openssl (scripts/apt-packages.txt).
import { spawnSync } from 'node:child_process';
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
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
if (process.getuid?.() !== 0) throw new Error('this benchmark loads eBPF programs: run it as root');

async function requestsTraced(telemetryPort: number): Promise<{ requests: number; lost: number }> {
  const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
  return { requests: counterValue(text, 'bpfcol_receiver_socket_trace_requests_total'), lost: counterValue(text, 'bpfcol_receiver_socket_trace_kernel_lost_total') };
}

type Mode = 'untraced' | 'tls off' | 'tls on';
const MODES: Mode[] = ['untraced', 'tls off', 'tls on'];

async function main(): Promise<void> {
  const dir = tempDir('bpfcol-bench-https-');
  const certificate = join(dir.path, 'cert.pem');
  const key = join(dir.path, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certificate, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  const port = await freePort();
  const telemetryPort = await freePort();
  const nginx = await startNginx(dir.path, port, { tls: { certificate, key } });
  const worker = nginxWorker(nginx);
  const config = (tls: boolean) =>
    writeConfig(
      dir.path,
      `
receivers:
  socket_trace:
    filters: { ports: [${port}], executables: [nginx] }
    tls: { enabled: ${tls} }
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
      `config-${tls ? 'tls' : 'plain'}.yaml`,
    );
  const configs = { 'tls off': config(false), 'tls on': config(true) };
  let bpfcol: RunningBpfcol | undefined;
  const rps: Record<Mode, number[]> = { untraced: [], 'tls off': [], 'tls on': [] };
  const nginxCpu: Record<Mode, number[]> = { untraced: [], 'tls off': [], 'tls on': [] };
  const wrkCpu: Record<Mode, number[]> = { untraced: [], 'tls off': [], 'tls on': [] };
  const bpfcolCpu: number[] = [];
  const traced: string[] = [];
  try {
    console.log(`load average before: ${loadavg()} (the machine is shared with other work: figures are noisy)`);
    wrk(port, { seconds: 2, connections: CONNECTIONS, scheme: 'https' });
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of MODES) {
        if (mode !== 'untraced') bpfcol = await startBpfcol(configs[mode], {}, 120_000);
        await sleep(2000);
        const before = mode === 'tls on' ? await requestsTraced(telemetryPort) : undefined;
        const pid = bpfcol?.child.pid;
        const cpu0 = pid ? cpuSeconds(pid) : 0;
        const n0 = cpuSeconds(worker);
        const r = wrk(port, { seconds: SECONDS, connections: CONNECTIONS, scheme: 'https' });
        const n1 = cpuSeconds(worker);
        if (r.errors) throw new Error(`wrk saw ${r.errors} errors`);
        rps[mode].push(r.rps);
        nginxCpu[mode].push(((n1 - n0) / r.requests) * 1e6);
        wrkCpu[mode].push((r.cpuSeconds / r.requests) * 1e6);
        let line = `round ${round} ${mode.padEnd(8)} ${r.rps.toFixed(0)} req/s, nginx ${(((n1 - n0) / r.requests) * 1e6).toFixed(2)} µs CPU/request, wrk ${((r.cpuSeconds / r.requests) * 1e6).toFixed(2)} µs CPU/request`;
        if (before && pid && bpfcol) {
          await sleep(6000); // counts reach bpfcol's metrics every 5 s
          const cpu = cpuSeconds(pid) - cpu0;
          const after = await requestsTraced(telemetryPort);
          const us = (cpu / r.requests) * 1e6;
          bpfcolCpu.push(us);
          traced.push(`${after.requests - before.requests}/${r.requests}`);
          line += `; bpfcol ${us.toFixed(2)} µs CPU/request, ${after.requests - before.requests} requests traced, ${after.lost - before.lost} records lost`;
        }
        console.log(line);
        await bpfcol?.stop();
        bpfcol = undefined;
      }
    }
    console.log(`load average after: ${loadavg()}`);
    const m = (mode: Mode) => median(rps[mode]);
    const costUs = (mode: Mode) => (1e6 / m(mode) - 1e6 / m('untraced')).toFixed(2);
    const cpu = (xs: Record<Mode, number[]>, mode: Mode) => median(xs[mode]).toFixed(2);
    console.log(`median untraced ${m('untraced').toFixed(0)} req/s, tls off ${m('tls off').toFixed(0)} req/s, tls on ${m('tls on').toFixed(0)} req/s; ${ROUNDS} rounds of ${SECONDS}s, ${CONNECTIONS} connections, keep-alive; traced/requests per round: ${traced.join(', ')}`);
    console.log(`socket_trace https cost per request (from throughput): ${costUs('tls on')} µs with the TLS uprobes, ${costUs('tls off')} µs with the syscall hooks alone`);
    console.log(`socket_trace https CPU per request: nginx ${cpu(nginxCpu, 'tls on')} µs with the TLS uprobes, ${cpu(nginxCpu, 'tls off')} µs tls off, ${cpu(nginxCpu, 'untraced')} µs untraced; wrk ${cpu(wrkCpu, 'tls on')} / ${cpu(wrkCpu, 'tls off')} / ${cpu(wrkCpu, 'untraced')} µs`);
    console.log(`socket_trace https bpfcol CPU per traced request: ${median(bpfcolCpu).toFixed(2)} µs (median of ${bpfcolCpu.length} runs)`);
    console.log(`socket_trace https throughput with TLS uprobes: ${(m('tls on') / m('untraced')).toFixed(2)} of untraced (tls off: ${(m('tls off') / m('untraced')).toFixed(2)})`);
  } finally {
    await bpfcol?.stop();
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
    dir.cleanup();
  }
}

await main();
