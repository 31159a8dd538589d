// A PostgreSQL cluster (Debian's binaries, test/peers/postgresql.sh) for tests: initdb into a temp
// dir of its own (owned by the postgres user: the server refuses to run as root) and pg_ctl start
// on a loopback port chosen at run time; trust authentication on 127.0.0.1. stop() stops it and
// removes the dir.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  port: number;
  /** The server's unix socket directory. */
  socketDir: string;
  stop(): void;
}

export function postgresBinDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('PostgreSQL is not installed: bash test/peers/postgresql.sh install');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

function asPostgres(cmd: string, args: string[]): string {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: '/tmp', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function startPostgres(port: number): PostgresServer {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-pg-'));
  const data = join(dir, 'pgdata');
  mkdirSync(data, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  chownSync(data, uid, gid);
  try {
    start(bin, dir, data, port);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    socketDir: dir,
    stop() {
      try {
        asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function start(bin: string, dir: string, data: string, port: number): void {
  asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=20`;
  asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
}
