// nginx and wrk for the socket_trace benchmarks: nginx (Debian's) with one worker pinned to CPU 0
// in a temp dir, wrk pinned to CPU 1 (when there are two), results parsed from wrk's output.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type NginxOptions, writeNginxConfig } from '../../test/support/nginx.ts';
import { waitForPort } from '../../test/support/ports.ts';

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found: apt-get install ${pkg}`);
}
need('nginx', 'nginx');
need('wrk', 'wrk');
const pin = spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
export const CPUS = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
const onCpu = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
  pin && CPUS >= 2 ? ['taskset', ['-c', String(cpu % CPUS), cmd, ...args]] : [cmd, args];

/** The 1, 5 and 15 minute load averages, as /proc/loadavg says them. */
export const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** tls: serve HTTPS with this certificate and key (PEM files). Room for many connections and requests. */
export async function startNginx(dir: string, port: number, options: NginxOptions = {}): Promise<ChildProcess> {
  const conf = writeNginxConfig(dir, port, '    location / { return 200 "hello from nginx\\n"; }', { ...options, workerConnections: 4096, keepaliveRequests: 10_000_000 });
  const [cmd, args] = onCpu(0, 'nginx', ['-p', dir, '-c', conf]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return child;
}

export interface WrkResult {
  rps: number;
  requests: number;
  /** 99th percentile latency in ms. */
  p99Ms: number;
  /** Non-2xx/3xx responses and socket errors. */
  errors: number;
  /** CPU seconds wrk used (user + system), its traced syscalls included. */
  cpuSeconds: number;
}

export interface WrkOptions {
  seconds: number;
  connections: number;
  /** A new connection per request. */
  close?: boolean;
  /** A wrk Lua script (rate limiting). */
  script?: string;
  path?: string;
  /** https: wrk speaks TLS (it links OpenSSL). */
  scheme?: 'http' | 'https';
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

export function wrk(port: number, o: WrkOptions): WrkResult {
  const headers = o.close ? ['-H', 'Connection: close'] : [];
  const script = o.script ? ['-s', o.script] : [];
  const [cmd, args] = onCpu(1, 'wrk', ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', ...headers, ...script, `${o.scheme ?? 'http'}://127.0.0.1:${port}${o.path ?? '/'}`]);
  // bash's `times` prints the CPU its children used: wrk's, with the kernel's work in its syscalls.
  const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${quoted}; status=$?; times; exit $status`], { encoding: 'utf8' });
  const times = r.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/).map(clock);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const total = /(\d+) requests in/.exec(r.stdout);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s|m)\b/.exec(r.stdout);
  if (r.status !== 0 || !rps || !total) throw new Error(`wrk failed: ${r.stderr}${r.stdout}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const errors = Number(non2xx?.[1] ?? 0) + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  return { rps: Number(rps[1]), requests: Number(total[1]), p99Ms: p99 ? Number(p99[1]) * UNITS[p99[2]!]! : NaN, errors, cpuSeconds: (times[0] ?? 0) + (times[1] ?? 0) };
}

/** bash `times` output (`0m1.234s`) in seconds. */
function clock(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
}

/** CPU seconds (user + system) a process used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The pid of nginx's (only) worker process. */
export function nginxWorker(master: ChildProcess): number {
  const r = spawnSync('pgrep', ['-P', String(master.pid), 'nginx'], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim().split('\n')[0]);
  if (!pid) throw new Error('no nginx worker found');
  return pid;
}
