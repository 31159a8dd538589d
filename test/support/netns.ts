// Two network namespaces joined by a veth pair, for tests that cause real TCP events (drops,
// resets, retransmits) away from the host's own traffic. Names and addresses are unique per run;
// cleanup() kills what was started inside and deletes both namespaces (also at process exit, in
// case a test dies first). Needs root, iproute2 and nft (drop and loss rules).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PEER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'tcp-peer.ts');

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Fails loudly (never skips) when the test cannot create namespaces. */
export function requireRootForNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('this test creates network namespaces and loads eBPF programs: run it as root');
  for (const tool of ['ip', 'nft', 'ss']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`this test needs '${tool}' (Debian: iproute2, nftables)`);
  }
}

/** Kernel counters of a namespace, named as nstat names them (TcpRetransSegs, TcpExtTCPSynRetrans...). */
export type NetStats = Record<string, number>;

export function parseNetStats(text: string): NetStats {
  const out: NetStats = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const prefix = names[0]!.replace(/:$/, '');
    if (values[0] !== names[0]) continue;
    for (let j = 1; j < names.length; j++) out[`${prefix}${names[j]}`] = Number(values[j]);
  }
  return out;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Netns {
  readonly name: string;
  /** Address on the veth, and its IPv6 one. */
  readonly address: string;
  readonly address6: string;
  readonly #children = new Set<ChildProcess>();

  constructor(name: string, address: string, address6: string) {
    this.name = name;
    this.address = address;
    this.address6 = address6;
  }

  /** Runs a command inside the namespace to completion; throws on a non-zero exit. */
  exec(cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** Runs a command inside; resolves with its exit and output, whatever they are. */
  execAsync(cmd: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = this.spawn(cmd, args);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Starts a command inside (ip netns exec execs it: the child's pid is the command's pid). */
  spawn(cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Runs test/support/tcp-peer.ts inside with Node (see that file for the commands). */
  peer(args: string[]): ChildProcess {
    return this.spawn(process.execPath, [PEER_SCRIPT, ...args]);
  }

  /** Runs a tcp-peer command to completion and returns the JSON line it printed. */
  async peerResult<T = Record<string, unknown>>(args: string[], timeoutMs = 60_000): Promise<T> {
    const r = await this.execAsync(process.execPath, [PEER_SCRIPT, ...args], timeoutMs);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !line.startsWith('{')) throw new Error(`tcp-peer ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    return JSON.parse(line) as T;
  }

  /** Starts a tcp-peer server and resolves once it listens (with its pid). */
  async server(args: string[]): Promise<{ child: ChildProcess; pid: number }> {
    const child = this.peer(['server', ...args]);
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) {
          child.stdout!.off('data', onData);
          try {
            resolve((JSON.parse(out.split('\n')[0]!) as { pid: number }).pid);
          } catch (err) {
            reject(err as Error);
          }
        }
      };
      child.stdout!.on('data', onData);
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) => reject(new Error(`tcp-peer server exited (${code}) before listening: ${err}`)));
    });
    return { child, pid };
  }

  /** The namespace's TCP/IP counters now (/proc/net/snmp and /proc/net/netstat as seen inside). */
  netStats(): NetStats {
    return { ...parseNetStats(this.exec('cat', ['/proc/net/snmp'])), ...parseNetStats(this.exec('cat', ['/proc/net/netstat'])) };
  }

  /** TCP sockets inside, as `ss -tanH` lines (state first). */
  sockets(): string[] {
    return this.exec('ss', ['-tanH'])
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  /** Resolves once no socket inside is in a state that can still send (only LISTEN and TIME-WAIT left). */
  async waitForQuietSockets(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const busy = this.sockets().filter((l) => !/^(LISTEN|TIME-WAIT)\s/.test(l));
      if (busy.length === 0) return;
      if (Date.now() > deadline) throw new Error(`sockets of ${this.name} still active after ${timeoutMs} ms:\n${busy.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  killChildren(): void {
    for (const c of this.#children) c.kill('SIGKILL');
  }
}

export interface NetnsPair {
  /** The two ends: a is 10.x.y.1, b is 10.x.y.2 (and fd..::1 / ::2). */
  a: Netns;
  b: Netns;
  /** 10.x.y.0/24 */
  cidr: string;
  cidr6: string;
  /** Drops TCP packets arriving in `ns` for `port` with an nft rule that counts them. */
  dropIncoming(ns: Netns, port: number): void;
  /** Packets the drop rule of `ns` has dropped so far. */
  droppedByRule(ns: Netns): number;
  /**
   * Loses `percent`% of the TCP packets arriving in `ns`, at random (an nft numgen rule on input:
   * this kernel has no tc netem). Each loss is a NETFILTER_DROP in `ns`, counted by the rule.
   */
  loseIncoming(ns: Netns, percent: number): void;
  /** Packets the loss rule of `ns` has dropped so far. */
  lostByRule(ns: Netns): number;
  removeLoss(ns: Netns): void;
  cleanup(): void;
}

const live = new Set<string>();
let exitHook = false;

function deleteNamespace(name: string): void {
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  live.delete(name);
}

export function createNetnsPair(): NetnsPair {
  const tag = `${process.pid.toString(36)}${randomInt(36 ** 4).toString(36)}`;
  const x = randomInt(16, 250);
  const y = randomInt(0, 255);
  const h6 = randomInt(0x1000, 0xffff).toString(16);
  const a = new Netns(`bpfcol-${tag}-a`, `10.${x}.${y}.1`, `fd00:${h6}::1`);
  const b = new Netns(`bpfcol-${tag}-b`, `10.${x}.${y}.2`, `fd00:${h6}::2`);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const name of live) deleteNamespace(name);
    });
  }
  try {
    for (const ns of [a, b]) {
      run('ip', ['netns', 'add', ns.name]);
      live.add(ns.name);
      run('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
    run('ip', ['-n', a.name, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', b.name]);
    for (const ns of [a, b]) {
      run('ip', ['-n', ns.name, 'addr', 'add', `${ns.address}/24`, 'dev', 'veth0']);
      run('ip', ['-n', ns.name, '-6', 'addr', 'add', `${ns.address6}/64`, 'dev', 'veth0', 'nodad']);
      run('ip', ['-n', ns.name, 'link', 'set', 'veth0', 'up']);
    }
  } catch (err) {
    for (const ns of [a, b]) deleteNamespace(ns.name);
    throw err;
  }
  return {
    a,
    b,
    cidr: `10.${x}.${y}.0/24`,
    cidr6: `fd00:${h6}::/64`,
    dropIncoming(ns, port) {
      ns.exec('nft', ['add', 'table', 'inet', 'bpfcol_test']);
      ns.exec('nft', ['add', 'chain', 'inet', 'bpfcol_test', 'input', '{ type filter hook input priority 0; policy accept; }']);
      ns.exec('nft', ['add', 'rule', 'inet', 'bpfcol_test', 'input', 'tcp', 'dport', String(port), 'counter', 'drop']);
    },
    droppedByRule(ns) {
      const text = ns.exec('nft', ['list', 'chain', 'inet', 'bpfcol_test', 'input']);
      const m = /counter packets (\d+)/.exec(text);
      if (!m) throw new Error(`no counter in the drop rule of ${ns.name}:\n${text}`);
      return Number(m[1]);
    },
    loseIncoming(ns, percent) {
      ns.exec('nft', ['add', 'table', 'inet', 'bpfcol_loss']);
      ns.exec('nft', ['add', 'chain', 'inet', 'bpfcol_loss', 'input', '{ type filter hook input priority 0; policy accept; }']);
      ns.exec('nft', ['add', 'rule', 'inet', 'bpfcol_loss', 'input', 'meta', 'l4proto', 'tcp', 'numgen', 'random', 'mod', '100', '<', String(percent), 'counter', 'drop']);
    },
    lostByRule(ns) {
      const text = ns.exec('nft', ['list', 'chain', 'inet', 'bpfcol_loss', 'input']);
      const m = /counter packets (\d+)/.exec(text);
      if (!m) throw new Error(`no counter in the loss rule of ${ns.name}:\n${text}`);
      return Number(m[1]);
    },
    removeLoss(ns) {
      ns.exec('nft', ['delete', 'table', 'inet', 'bpfcol_loss']);
    },
    cleanup() {
      for (const ns of [a, b]) ns.killChildren();
      for (const ns of [a, b]) deleteNamespace(ns.name);
    },
  };
}
