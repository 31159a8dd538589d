// Asks a HotSpot JVM for its perf map (`jcmd PID Compiler.perfmap`, JDK 17+) through the JVM's
// dynamic attach protocol, as jcmd does, without a JDK on the node:
//   1. unless its attach socket (/tmp/.java_pid<nspid> in the JVM's mount namespace) exists,
//      create /proc/PID/cwd/.attach_pid<nspid> and send SIGQUIT: the JVM starts its attach listener;
//   2. connect to the socket, send "1\0jcmd\0Compiler.perfmap\0\0\0", read "0\n" and the output.
// The JVM accepts connections from its own user or root. A JVM started with -Xrs or
// -XX:+DisableAttachMechanism would take the SIGQUIT as a thread dump request (or worse): that is
// why this is opt-in (perf_sampling's symbolizer.jvm_perf_maps), as running jcmd would be.
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const LISTENER_WAIT_MS = 5000;
const REPLY_TIMEOUT_MS = 10_000;

export interface AttachTarget {
  pid: number;
  /** The pid in the JVM's own pid namespace (names its socket and attach file). */
  nsPid: number;
  procRoot?: string;
}

/** Runs one jcmd command in the JVM; resolves with its output, rejects with the JVM's error. */
export async function jcmd(target: AttachTarget, command: string): Promise<string> {
  const proc = `${target.procRoot ?? '/proc'}/${target.pid}`;
  const socket = `${proc}/root/tmp/.java_pid${target.nsPid}`;
  if (!existsSync(socket)) await startListener(proc, target, socket);
  return request(socket, ['jcmd', command, '', '']);
}

async function startListener(proc: string, target: AttachTarget, socket: string): Promise<void> {
  const candidates = [`${proc}/cwd/.attach_pid${target.nsPid}`, `${proc}/root/tmp/.attach_pid${target.nsPid}`];
  let trigger: string | undefined;
  for (const path of candidates) {
    try {
      writeFileSync(path, '');
      trigger = path;
      break;
    } catch {
      // read-only working directory: try /tmp
    }
  }
  if (!trigger) throw new Error(`cannot create an attach file for JVM ${target.pid}`);
  try {
    process.kill(target.pid, 'SIGQUIT');
    const deadline = Date.now() + LISTENER_WAIT_MS;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error(`JVM ${target.pid} did not start its attach listener`);
      await sleep(50);
    }
  } finally {
    try {
      unlinkSync(trigger);
    } catch {
      // the JVM removed it
    }
  }
}

function request(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error('the JVM did not answer'));
    }, REPLY_TIMEOUT_MS);
    conn.on('connect', () => conn.write(Buffer.from(`1\0${args.join('\0')}\0`)));
    conn.on('data', (d: Buffer) => chunks.push(d));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const newline = text.indexOf('\n');
      const code = newline < 0 ? text.trim() : text.slice(0, newline).trim();
      const output = newline < 0 ? '' : text.slice(newline + 1);
      if (code === '0') resolve(output);
      else reject(new Error(`the JVM answered ${code || 'nothing'}: ${output.trim()}`));
    });
  });
}

/** True when a process maps HotSpot (libjvm.so). */
export function isJvm(paths: Iterable<string>): boolean {
  for (const p of paths) if (p.endsWith('/libjvm.so')) return true;
  return false;
}
