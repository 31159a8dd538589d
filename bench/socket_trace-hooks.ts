// Which syscall hooks should socket_trace use? nginx's requests/s under wrk on loopback with
// count-only programs attached three ways, against no program, alternating in one run (medians):
//   tracepoints: one program on each of the 24 per-syscall tracepoints socket_trace needs
//                (syscalls:sys_enter_X / sys_exit_X for read, write, readv, writev, recvfrom, sendto,
//                recvmsg, sendmsg, connect, accept, accept4, close)
//   raw:         one program on raw_syscalls:sys_enter and one on sys_exit, dispatching on the id
//   raw+lookup:  raw, and a (tgid, fd) hash lookup on every syscall of interest (socket_trace's first step)
//   raw+btf-regs: raw, the exit's syscall id read with bpf_task_pt_regs() and a direct load, not a probe read
//
//   node bench/socket_trace-hooks.ts [--rounds 5] [--seconds 5] [--connections 32]
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BpfObject, readCounter, testObjectPath } from '../src/bpf/index.ts';
import { tempDir } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';
import { cpuSeconds, median, nginxWorker, startNginx, wrk } from './support/nginx.ts';

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

const SYSCALLS = ['read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'recvmsg', 'sendmsg', 'connect', 'accept', 'accept4', 'close'];
type Variant = 'none' | 'tracepoints' | 'raw' | 'raw+lookup' | 'raw+btf-regs';
const VARIANTS: Variant[] = ['none', 'tracepoints', 'raw', 'raw+lookup', 'raw+btf-regs'];

const PROGRAMS: Record<Exclude<Variant, 'none' | 'tracepoints'>, [string, string]> = {
  raw: ['raw_enter', 'raw_exit'],
  'raw+lookup': ['raw_enter_lookup', 'raw_exit'],
  'raw+btf-regs': ['raw_enter', 'raw_exit_btf'],
};

function attach(variant: Variant): BpfObject | undefined {
  if (variant === 'none') return undefined;
  const tps = SYSCALLS.flatMap((s) => [`sys_enter_${s}`, `sys_exit_${s}`]);
  const want = new Set(
    variant === 'tracepoints' ? tps.map((t) => `tp_${t}`) : PROGRAMS[variant],
  );
  const all = [...tps.map((t) => `tp_${t}`), 'raw_enter', 'raw_exit', 'raw_enter_lookup', 'raw_exit_btf'];
  const obj = BpfObject.open(testObjectPath('syscall_hook_cost'), { autoload: Object.fromEntries(all.map((p) => [p, want.has(p)])) });
  if (variant === 'tracepoints') for (const t of tps) obj.program(`tp_${t}`).attachTracepoint('syscalls', t);
  else {
    const [enter, exit] = PROGRAMS[variant];
    obj.program(enter).attachRawTracepoint('sys_enter');
    obj.program(exit).attachRawTracepoint('sys_exit');
  }
  return obj;
}

/** CPU nanoseconds per syscall of a command that makes `calls` syscalls in a loop (bash `times`). */
function nsPerSyscall(command: string, calls: number): number {
  const r = spawnSync('bash', ['-c', `${command} >/dev/null 2>&1; times`], { encoding: 'utf8' });
  const [user = 0, sys = 0] = r.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  return ((user + sys) / calls) * 1e9;
}
const LOOP = 2_000_000;
/** Syscalls socket_trace hooks (read + write on /dev/zero, /dev/null: not sockets), and one it does not (getppid). */
const MICRO = {
  'read+write': () => nsPerSyscall(`dd if=/dev/zero of=/dev/null bs=1 count=${LOOP / 2}`, LOOP),
  getppid: () => nsPerSyscall(`python3 -c 'import os\nfor _ in range(${LOOP}): os.getppid()'`, LOOP),
};
const micro = new Map<string, number[]>();
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of VARIANTS) {
    const obj = attach(variant);
    for (const [name, run] of Object.entries(MICRO)) {
      const key = `${variant}|${name}`;
      micro.set(key, [...(micro.get(key) ?? []), run()]);
    }
    obj?.close();
  }
}
for (const name of Object.keys(MICRO)) {
  const base = median(micro.get(`none|${name}`)!);
  console.log(
    `${name} loop, CPU ns per syscall (median of ${ROUNDS}): ` +
      VARIANTS.map((v) => `${v} ${median(micro.get(`${v}|${name}`)!).toFixed(0)}${v === 'none' ? '' : ` (+${(median(micro.get(`${v}|${name}`)!) - base).toFixed(0)})`}`).join(', '),
  );
}

const dir = tempDir('bpfcol-bench-hooks-');
const port = await freePort();
const nginx = await startNginx(dir.path, port);
const results = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
const cpuPerRequest = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
const worker = nginxWorker(nginx);
const hits = new Map<Variant, bigint>();
try {
  wrk(port, { seconds: 2, connections: CONNECTIONS });
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of VARIANTS) {
      const obj = attach(variant);
      await sleep(1000);
      const before = cpuSeconds(worker);
      const r = wrk(port, { seconds: SECONDS, connections: CONNECTIONS });
      const us = ((cpuSeconds(worker) - before + r.cpuSeconds) / r.requests) * 1e6;
      cpuPerRequest.get(variant)!.push(us);
      if (obj) {
        hits.set(variant, readCounter(obj.map('hits')));
        obj.close();
      }
      results.get(variant)!.push(r.rps);
      console.log(`round ${round} ${variant.padEnd(12)} ${r.rps.toFixed(0)} req/s, nginx+wrk ${us.toFixed(2)} µs CPU/request`);
    }
  }
} finally {
  nginx.kill('SIGTERM');
  await new Promise((r) => nginx.once('exit', r));
  dir.cleanup();
}
const base = median(results.get('none')!);
const baseCpu = median(cpuPerRequest.get('none')!);
console.log(`load average while measuring: ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()} (shared machine)`);
for (const v of VARIANTS) {
  const m = median(results.get(v)!);
  const c = median(cpuPerRequest.get(v)!);
  console.log(
    `syscall hooks ${v}: ${m.toFixed(0)} req/s, nginx+wrk ${c.toFixed(2)} µs CPU/request (+${(c - baseCpu).toFixed(2)})` +
      `${hits.has(v) ? `, last round ${hits.get(v)} program hits` : ''}; throughput ${(m / base).toFixed(2)} of untraced`,
  );
}
