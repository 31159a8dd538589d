// Listening TCP sockets that existed before the programs were attached, found in /proc (as
// `ss -ltp` finds them): the kernel program learns listeners at listen(), so without this a server
// started before bpfcol would own none of the connections it accepts until they first send.
// Every network namespace is covered: /proc/<pid>/net/tcp shows the namespace of <pid>.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export interface ExistingListener {
  /** Network namespace inode number (what the kernel's ns.inum is). */
  netns: number;
  port: number;
  pid: number;
  /** cgroup v2 id of the process (the inode of its cgroup directory), 0 when unknown. */
  cgroupId: bigint;
  /** Base name of /proc/<pid>/exe (as the kernel program names owners). */
  exe: string;
}

const LISTEN = '0A';

function inodeOfLink(path: string, prefix: string): number | undefined {
  try {
    const m = new RegExp(`^${prefix}:\\[(\\d+)\\]$`).exec(readlinkSync(path));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Socket inode -> local port of the LISTEN sockets in one /proc/<pid>/net/tcp{,6} pair. */
function listeningInodes(proc: string, pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${proc}/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const port = parseInt(f[1]!.split(':')[1] ?? '', 16);
      const inode = Number(f[9]);
      if (Number.isInteger(port) && inode > 0) out.set(inode, port);
    }
  }
  return out;
}

function cgroupIdOf(proc: string, pid: number, cgroupRoot: string): bigint {
  try {
    const line = readFileSync(`${proc}/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return 0n;
    return statSync(`${cgroupRoot}${line.slice(3)}`, { bigint: true }).ino;
  } catch {
    return 0n;
  }
}

function exeOf(proc: string, pid: number): string {
  try {
    return basename(readlinkSync(`${proc}/${pid}/exe`).replace(/ \(deleted\)$/, '')).slice(0, 31);
  } catch {
    return '';
  }
}

/** Every listening TCP socket of every namespace, with the first process holding it. */
export function findListeners(proc = '/proc', cgroupRoot = '/sys/fs/cgroup'): ExistingListener[] {
  const pids = readdirSync(proc)
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  // One read of net/tcp per namespace.
  const byNetns = new Map<number, Map<number, number>>();
  const out: ExistingListener[] = [];
  const seen = new Set<string>();
  for (const pid of pids) {
    const netns = inodeOfLink(`${proc}/${pid}/ns/net`, 'net');
    if (netns === undefined) continue;
    let listening = byNetns.get(netns);
    if (!listening) {
      listening = listeningInodes(proc, pid);
      byNetns.set(netns, listening);
    }
    if (listening.size === 0) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const inode = inodeOfLink(`${proc}/${pid}/fd/${fd}`, 'socket');
      const port = inode === undefined ? undefined : listening.get(inode);
      if (port === undefined) continue;
      const key = `${netns}:${port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ netns, port, pid, cgroupId: cgroupIdOf(proc, pid, cgroupRoot), exe: exeOf(proc, pid) });
    }
  }
  return out;
}
