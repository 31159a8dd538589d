// Through the CLI: bin/bpfcol with perf_sampling into the flamegraph and pprof exporters (profiles)
// and the Prometheus exporter (process.cpu.samples), sampling a C program: an SVG and its .folded
// file appear per window, the pprof endpoint serves the program's profile, and Prometheus shows its
// samples. On SIGTERM the partial window is written and the programs detach. Needs root.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { startBpfcol, writeConfig } from '../../test/support/cli.ts';
import { freePort } from '../../test/support/ports.ts';
import { decodePprof } from '../../exporters/pprof/encode.ts';
import { buildHot, exited, requireRoot, startProgram, tempDir } from './testing.ts';

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('perf_sampling through bpfcol: flame graphs, pprof and Prometheus', () => {
  const dir = tempDir('bpfcol-perf-cli-');
  let program: ChildProcess | undefined;
  before(() => requireRoot());
  after(async () => {
    if (program && program.exitCode === null) {
      program.kill('SIGKILL');
      await exited(program);
    }
    dir.remove();
  });

  it('writes an SVG and a .folded per window, serves pprof, exports process.cpu.samples', async () => {
    const hot = buildHot(dir.path);
    program = await startProgram(hot, ['60']);
    const pid = program.pid!;
    const [telemetry, prom, pprof] = [await freePort(), await freePort(), await freePort()];
    const graphs = join(dir.path, 'graphs');
    const config = writeConfig(
      dir.path,
      `
receivers:
  perf_sampling:
    frequency: 199
    window: 2s
    read_interval: 1s
    filters: { pids: [${pid}] }
exporters:
  flamegraph: { directory: "${graphs}" }
  pprof: { directory: "${join(dir.path, 'pprof')}", endpoint: "127.0.0.1:${pprof}" }
  prometheus: { endpoint: "127.0.0.1:${prom}", resource_to_telemetry_conversion: { enabled: true } }
service:
  telemetry:
    metrics: { address: "127.0.0.1:${telemetry}" }
  pipelines:
    profiles: { receivers: [perf_sampling], exporters: [flamegraph, pprof] }
    metrics: { receivers: [perf_sampling], exporters: [prometheus] }
`,
    );
    const bpfcol = await startBpfcol(config);
    try {
      const svg = await waitFor('a flame graph', () => readdirSync(graphs).find((n) => n.endsWith('.svg')));
      const text = readFileSync(join(graphs, svg), 'utf8');
      assert.match(text, /data-name="hot_a"/);
      assert.match(text, new RegExp(`data-name="hot \\(pid ${pid}\\)" data-value`));
      assert.match(readFileSync(join(graphs, svg.replace(/\.svg$/, '.folded')), 'utf8'), /;main;hot_a \d+\n/);

      const res = await fetch(`http://127.0.0.1:${pprof}/debug/pprof/profile?pid=${pid}`);
      assert.equal(res.status, 200);
      const p = decodePprof(Buffer.from(await res.arrayBuffer()));
      assert.ok(p.stringTable.includes('hot_a') && p.stringTable.includes('hot_b'));

      const series = await waitFor('process_cpu_samples_total', async () => {
        const body = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
        return body.split('\n').find((l) => l.startsWith('process_cpu_samples_total{') && l.includes('cpu_mode="user"') && l.includes(`process_pid="${pid}"`));
      });
      assert.ok(Number(series.split(' ').at(-1)) > 0, series);
      const self = await (await fetch(`http://127.0.0.1:${telemetry}/metrics`)).text();
      assert.match(self, /bpfcol_receiver_perf_sampling_samples_total\{[^}]*\} [1-9]/);
    } finally {
      const before = readdirSync(graphs).filter((n) => n.endsWith('.svg')).length;
      assert.equal(await bpfcol.stop('SIGTERM'), 0);
      // The partial window at shutdown is written too.
      assert.ok(readdirSync(graphs).filter((n) => n.endsWith('.svg')).length >= before);
    }
  });
});
