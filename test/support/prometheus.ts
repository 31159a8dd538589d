// A real Prometheus (Debian's 2.42) for tests: its own config, data dir and loopback port in a
// temp dir, never the Debian service. Scrapes the given targets every second; queries go
// through its HTTP API.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';
import { freePort } from './ports.ts';

export interface PrometheusOptions {
  /** host:port of each target, scraped at /metrics. */
  targets: string[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Keep job/instance labels the target sends (as the Collector's docs advise); default true. */
  honorLabels?: boolean;
  /** Default `bpfcol`. */
  jobName?: string;
  /** Start with --web.enable-remote-write-receiver (see remoteWriteUrl). */
  remoteWriteReceiver?: boolean;
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface TargetHealth {
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrapeDuration: number;
}

export interface PrometheusPeer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** http://127.0.0.1:<port>/api/v1/write (remote write is accepted only with remoteWriteReceiver). */
  remoteWriteUrl: string;
  /** An instant query; rejects when Prometheus answers with an error. */
  query(promql: string): Promise<Sample[]>;
  /** Polls `query` until it returns samples (that satisfy `accept`), or rejects after timeoutMs. */
  waitForSeries(promql: string, options?: { timeoutMs?: number; accept?: (samples: Sample[]) => boolean }): Promise<Sample[]>;
  /** Each target's state as /api/v1/targets reports it (for failure messages). */
  targets(): Promise<TargetHealth[]>;
  /** What Prometheus logged so far (for failure messages). */
  logs(): string;
  /** SIGTERM (SIGKILL after 10 s), then removes the temp dir. Safe twice. */
  stop(): Promise<void>;
}

/** Makes sure the Debian package is there (test/peers/prometheus.sh) and returns the binary's path. */
export function prometheusBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'test/peers/prometheus.sh')], { timeout: 300_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`test/peers/prometheus.sh failed: ${error.message}\n${stderr}`));
      else resolve(stdout.trim().split('\n').pop()!);
    });
  });
}

function configYaml(options: PrometheusOptions): string {
  const interval = options.scrapeInterval ?? '1s';
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.jobName ?? 'bpfcol')}`,
    `    honor_labels: ${options.honorLabels ?? true}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
    '',
  ].join('\n');
}

async function waitUntilReady(url: string, child: ChildProcess, logs: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logs()}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready at ${url} after ${timeoutMs} ms:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusPeer> {
  const binary = await prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'bpfcol-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, configYaml(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(options.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    await waitUntilReady(url, child, () => output, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${promql} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`prometheus query ${promql}: expected a vector, got ${body.data.resultType}`);
    return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  };

  const waitForSeries = async (promql: string, opts: { timeoutMs?: number; accept?: (s: Sample[]) => boolean } = {}) => {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let last: Sample[] = [];
    for (;;) {
      last = await query(promql);
      if (last.length > 0 && (opts.accept?.(last) ?? true)) return last;
      if (Date.now() > deadline) {
        throw new Error(`prometheus: no acceptable result for ${promql} after ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const targets = async (): Promise<TargetHealth[]> => {
    const body = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: TargetHealth[] } };
    return body.data.activeTargets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError, lastScrapeDuration: t.lastScrapeDuration }));
  };

  return { url, remoteWriteUrl: `${url}/api/v1/write`, query, waitForSeries, targets, logs: () => output, stop };
}
