// nginx (Debian's, test/peers/nginx.sh) for tests: one worker, a generated config in a temp dir,
// listening on a loopback port chosen at run time. `locations` is the inside of the server block.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForPort } from './ports.ts';

export interface NginxServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
  /** Parameters added to the listen directive (`http2` for cleartext HTTP/2). */
  listen?: string;
}

export interface NginxConfigOptions extends NginxOptions {
  /** events.worker_connections; default 1024. */
  workerConnections?: number;
  /** http.keepalive_requests; default 1000000. */
  keepaliveRequests?: number;
}

/** Writes dir/nginx.conf (one worker, logs and temp files under dir) and returns its path. */
export function writeNginxConfig(dir: string, port: number, locations: string, options: NginxConfigOptions = {}): string {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs/error.log')} warn;
events { worker_connections ${options.workerConnections ?? 1024}; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  keepalive_requests ${options.keepaliveRequests ?? 1_000_000};
  server {
    listen 127.0.0.1:${port}${options.tls ? ' ssl' : ''}${options.listen ? ` ${options.listen}` : ''};
${options.tls ? `    ssl_certificate ${options.tls.certificate};\n    ssl_certificate_key ${options.tls.key};\n` : ''}${locations}
  }
}
`,
  );
  return conf;
}

export async function startNginx(dir: string, port: number, locations: string, options: NginxOptions = {}): Promise<NginxServer> {
  const conf = writeNginxConfig(dir, port, locations, options);
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`nginx exited: ${stderr}`)))]);
  return {
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
