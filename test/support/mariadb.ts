// A MariaDB server (Debian's, test/peers/mariadb.sh) for tests: mariadb-install-db into a temp dir,
// mariadbd on a loopback port chosen at run time and a socket in that dir. Accounts are the
// installer's, reached over TCP as root@localhost with a password the test sets.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { waitForPort } from './ports.ts';

export interface MariadbServer {
  port: number;
  socket: string;
  child: ChildProcess;
  /** Runs SQL through the mariadb client over the unix socket as root (unix_socket auth). */
  admin(sql: string): string;
  stop(): Promise<void>;
}

export async function startMariadb(dir: string, port: number): Promise<MariadbServer> {
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const install = spawnSync('mariadb-install-db', [`--datadir=${data}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}${install.stdout}`);
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--skip-name-resolve',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([waitForPort(port, '127.0.0.1', 120_000), exited.then(() => Promise.reject(new Error(`mariadbd exited: ${stderr}`)))]);
  const admin = (sql: string) => {
    const r = spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`mariadb -e '${sql}' failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    port,
    socket,
    child,
    admin,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
