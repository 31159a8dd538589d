// redis-server (Debian's, test/peers/redis.sh) for tests, on a loopback port chosen at run time,
// its files in a temp dir, nothing persisted.
import { type ChildProcess, spawn } from 'node:child_process';
import { waitForPort } from './ports.ts';

export interface RedisServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startRedis(dir: string, port: number): Promise<RedisServer> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`redis-server exited: ${stderr}`)))]);
  return {
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
