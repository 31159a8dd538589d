// The pprof exporter: every profile it gets is written as a gzipped profile.proto file (one per
// process per window, or one per window), and the latest ones are served over HTTP, so
// `go tool pprof <file>` and `go tool pprof http://127.0.0.1:6060/debug/pprof/profile` both work.
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join, resolve } from 'node:path';
import type { Exporter } from '../../src/component/component.ts';
import type { CreateSettings } from '../../src/component/component.ts';
import type { Capabilities } from '../../src/component/consumer.ts';
import { splitHostPort } from '../../src/config/types.ts';
import { fromAnyValue } from '../../src/pdata/common.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { PprofConfig } from './config.ts';
import { type SourcedProfile, encodePprof } from './encode.ts';
import { LatestProfiles, resourceKey } from './latest.ts';

const FILE_SUFFIX = '.pb.gz';

/** 2026-11-27T03:30:00.123Z -> 20261127T033000.123Z: sorts by time, safe in file names. */
export function fileTime(unixNano: bigint): string {
  return new Date(Number(unixNano / 1_000_000n)).toISOString().replace(/[-:]/g, '');
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'unknown';
}

export function fileNameFor(group: SourcedProfile[], perProcess: boolean): string {
  const first = group[0]!;
  const time = fileTime(first.profile.timeUnixNano);
  if (!perProcess) return `${time}-all${FILE_SUFFIX}`;
  const exe = first.resource.attributes.find((a) => a.key === 'process.executable.name')?.value;
  const name = exe ? String(fromAnyValue(exe)) : 'process';
  return `${time}-${safeName(name)}-${resourceKey(first.resource)}${FILE_SUFFIX}`;
}

export class PprofExporter implements Exporter<'profiles'> {
  readonly capabilities: Capabilities = { mutatesData: false };
  readonly #config: PprofConfig;
  readonly #settings: CreateSettings;
  readonly #directory: string;
  readonly #latest = new LatestProfiles();
  readonly #written: string[] = [];
  readonly #files: Counter;
  #server: Server | undefined;
  /** The address the HTTP endpoint listens on once started (port 0 picks one). */
  address: { host: string; port: number } | undefined;

  constructor(settings: CreateSettings, config: PprofConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#directory = resolve(settings.configDir, config.directory);
    this.#files = settings.telemetry.counter('exporter_pprof_files', 'profile.proto files written', '{files}');
  }

  get directory(): string {
    return this.#directory;
  }

  async start(): Promise<void> {
    await mkdir(this.#directory, { recursive: true });
    // Files of an earlier run count against max_files too, oldest first (names start with the time).
    const existing = (await readdir(this.#directory)).filter((n) => n.endsWith(FILE_SUFFIX)).sort();
    this.#written.push(...existing.map((n) => join(this.#directory, n)));
    if (this.#config.endpoint) await this.#listen(this.#config.endpoint);
  }

  async #listen(endpoint: string): Promise<void> {
    const { host, port } = splitHostPort(endpoint);
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        ok();
      });
    });
    const a = server.address();
    if (a && typeof a === 'object') this.address = { host: a.address, port: a.port };
    this.#server = server;
    this.#settings.logger.info('pprof endpoint listening', { endpoint: `${host}:${this.address?.port ?? port}` });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'only GET\n');
    if (url.pathname === '/profiles') {
      const index = this.#latest.all().map((e) => ({
        key: e.key,
        resource: Object.fromEntries(e.resource.attributes.map((a) => [a.key, String(fromAnyValue(a.value))])),
        time: new Date(Number(e.profile.timeUnixNano / 1_000_000n)).toISOString(),
        duration_ms: Number(e.profile.durationNano / 1_000_000n),
        samples: e.profile.samples.reduce((n, s) => n + (s.values[0] ?? 0), 0),
        url: `/profiles/${e.key}`,
      }));
      return send(200, 'application/json', `${JSON.stringify(index, null, 2)}\n`);
    }
    let entries: SourcedProfile[] | undefined;
    if (url.pathname === '/debug/pprof/profile' || url.pathname === '/debug/pprof/profile/') {
      const pid = url.searchParams.get('pid');
      entries = pid ? [this.#latest.get(`pid-${pid}`)].filter((e) => e !== undefined) : this.#latest.newestWindow();
    } else if (url.pathname.startsWith('/profiles/')) {
      const e = this.#latest.get(decodeURIComponent(url.pathname.slice('/profiles/'.length)));
      entries = e ? [e] : [];
    } else {
      return send(404, 'text/plain', 'not found: try /debug/pprof/profile, /debug/pprof/profile?pid=N, /profiles\n');
    }
    if (entries.length === 0) return send(404, 'text/plain', 'no profile yet\n');
    try {
      const body = encodePprof(entries, { comment: 'bpfcol' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="profile.pb.gz"' });
      res.end(body);
    } catch (err) {
      send(500, 'text/plain', `${(err as Error).message}\n`);
    }
  }

  async consume(data: ProfilesData): Promise<void> {
    const groups = new Map<string, SourcedProfile[]>();
    for (const rp of data.resourceProfiles) {
      for (const sp of rp.scopeProfiles) {
        for (const profile of sp.profiles) {
          if (profile.samples.length === 0) continue;
          this.#latest.add(rp.resource, profile);
          // Files group profiles of one window (and one process, unless file_per_process is off).
          const key = `${profile.timeUnixNano}|${this.#config.file_per_process ? resourceKey(rp.resource) : ''}|${JSON.stringify(profile.sampleTypes)}`;
          const list = groups.get(key) ?? [];
          list.push({ resource: rp.resource, profile });
          groups.set(key, list);
        }
      }
    }
    for (const group of groups.values()) await this.#write(group);
  }

  async #write(group: SourcedProfile[]): Promise<void> {
    const path = join(this.#directory, fileNameFor(group, this.#config.file_per_process));
    const tmp = `${path}.tmp`;
    await writeFile(tmp, encodePprof(group, { comment: 'bpfcol' }));
    await rename(tmp, path);
    this.#files.add(1);
    if (!this.#written.includes(path)) this.#written.push(path);
    const max = this.#config.max_files;
    while (max > 0 && this.#written.length > max) {
      const oldest = this.#written.shift()!;
      await unlink(oldest).catch(() => undefined);
    }
  }

  async shutdown(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }
}
