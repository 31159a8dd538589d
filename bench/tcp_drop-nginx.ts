// What does the tcp_drop receiver cost a busy web server? Requests/s of wrk against nginx (both
// from Debian) on loopback, untraced and with bpfcol + tcp_drop attached, alternating rounds in
// one run; medians and their ratio. Two loads: keep-alive connections (per-send hooks only) and a
// new connection per request (every connection hook fires on every request).
//
//   node bench/tcp_drop-nginx.ts [--rounds 5] [--seconds 5] [--connections 32]
//
// Needs root (bpfcol loads eBPF programs), nginx and wrk (scripts/apt-packages.txt).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startBpfcol, tempDir, writeConfig, type RunningBpfcol } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';
import { median, startNginx, wrk } from './support/nginx.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);

if (process.getuid?.() !== 0) throw new Error('this benchmark loads eBPF programs: run it as root');
/** Pause before each measured round, traced or not, so both start alike. */
const SETTLE_MS = 2000;

// The kernel's own accounting of BPF program run time (kernel.bpf_stats_enabled), a figure the
// noise of a shared machine does not blur the way it blurs requests/s.
const TCP_DROP_PROGRAMS = new Set(['on_kfree_skb', 'on_retransmit_skb', 'on_retransmit_synack', 'on_send_reset', 'on_receive_reset', 'on_set_state', 'on_send_length']);
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

function programTimes(): Map<number, number> {
  const progs = JSON.parse(spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' }).stdout) as { id: number; name?: string; run_time_ns?: number }[];
  return new Map(progs.filter((p) => p.name && TCP_DROP_PROGRAMS.has(p.name)).map((p) => [p.id, p.run_time_ns ?? 0]));
}

/** Proof that the traced rounds were traced: nginx's accepted connections as tcp_drop counted them. */
async function openedOnNginx(promPort: number, port: number): Promise<string> {
  const deadline = Date.now() + 15_000;
  const re = new RegExp(`^tcp_connections_opened_total\\{(?=[^}]*network_local_port="${port}")(?=[^}]*process_executable_name="nginx")[^}]*\\} (\\d+)`, 'm');
  while (Date.now() < deadline) {
    const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    const m = re.exec(text);
    if (m) return `tcp_drop counted ${m[1]} connections opened by nginx on port ${port}`;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('tcp_drop reported no connection to nginx: the traced rounds were not traced');
}

async function main(): Promise<void> {
  const dir = tempDir('bpfcol-bench-nginx-');
  const port = await freePort();
  const promPort = await freePort();
  const telemetryPort = await freePort();
  const nginx = await startNginx(dir.path, port);
  const config = writeConfig(
    dir.path,
    `
receivers:
  tcp_drop: { collection_interval: 10s }
exporters:
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    metrics: { receivers: [tcp_drop], exporters: [prometheus] }
`,
  );
  let bpfcol: RunningBpfcol | undefined;
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  const kernelNs: Record<'keepalive' | 'close', number[]> = { keepalive: [], close: [] };
  const results: Record<'keepalive' | 'close', { untraced: number[]; traced: number[] }> = {
    keepalive: { untraced: [], traced: [] },
    close: { untraced: [], traced: [] },
  };
  try {
    wrk(port, { seconds: SECONDS, connections: CONNECTIONS }); // warm-up
    for (let round = 1; round <= ROUNDS; round++) {
      for (const traced of [false, true]) {
        let ours = new Set<number>();
        if (traced) {
          const before = new Set(programTimes().keys());
          bpfcol = await startBpfcol(config);
          ours = new Set([...programTimes().keys()].filter((id) => !before.has(id)));
          await sleep(SETTLE_MS); // bpfcol's start-up work is not what is measured
        } else {
          await sleep(SETTLE_MS);
        }
        for (const load of ['keepalive', 'close'] as const) {
          const t0 = programTimes();
          const { rps, requests } = wrk(port, { seconds: SECONDS, connections: CONNECTIONS, close: load === 'close' });
          const t1 = programTimes();
          results[load][traced ? 'traced' : 'untraced'].push(rps);
          let note = '';
          if (traced) {
            let ns = 0;
            for (const id of ours) ns += (t1.get(id) ?? 0) - (t0.get(id) ?? 0);
            kernelNs[load].push(ns / requests);
            note = `, ${(ns / requests / 1000).toFixed(2)} µs of tcp_drop programs per request`;
          }
          console.log(`round ${round} ${traced ? 'traced  ' : 'untraced'} ${load.padEnd(9)} ${rps.toFixed(0)} req/s${note}`);
        }
        if (bpfcol && round === ROUNDS) console.log(`(check) ${await openedOnNginx(promPort, port)}`);
        if (bpfcol) {
          await bpfcol.stop();
          bpfcol = undefined;
        }
      }
    }
  } finally {
    writeFileSync(STATS, statsBefore);
    await bpfcol?.stop();
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
    dir.cleanup();
  }
  for (const load of ['keepalive', 'close'] as const) {
    const u = median(results[load].untraced);
    const t = median(results[load].traced);
    console.log(`median ${load}: untraced ${u.toFixed(0)} req/s, traced ${t.toFixed(0)} req/s (${ROUNDS} rounds of ${SECONDS}s, ${CONNECTIONS} connections)`);
  }
  const ratio = (load: 'keepalive' | 'close') => (median(results[load].traced) / median(results[load].untraced)).toFixed(2);
  for (const load of ['keepalive', 'close'] as const) {
    console.log(`tcp_drop kernel program time per ${load} request: ${(median(kernelNs[load]) / 1000).toFixed(2)} µs (median)`);
  }
  console.log(`tcp_drop nginx throughput: ${ratio('keepalive')} of untraced`);
  console.log(`tcp_drop nginx new-connection throughput: ${ratio('close')} of untraced`);
}

await main();
