// The flamegraph exporter: every window of profiles becomes an interactive SVG flame graph and,
// beside it, the folded stacks it was drawn from (`<time>-all.svg` and `<time>-all.folded`, or one
// pair per process with file_per_process).
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CreateSettings, Exporter } from '../../src/component/component.ts';
import type { Capabilities } from '../../src/component/consumer.ts';
import { fromAnyValue } from '../../src/pdata/common.ts';
import type { ProfilesData, ResourceProfiles } from '../../src/pdata/profiles.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { FlamegraphConfig } from './config.ts';
import { buildTree, foldProfiles, foldedText } from './folded.ts';
import { renderSvg, thousands } from './svg.ts';

/** 2026-11-27T03:30:00.123Z -> 20261127T033000.123Z: sorts by time, safe in file names. */
export function fileTime(unixNano: bigint): string {
  return new Date(Number(unixNano / 1_000_000n)).toISOString().replace(/[-:]/g, '');
}

function attr(rp: ResourceProfiles, key: string): string | undefined {
  const v = rp.resource.attributes.find((a) => a.key === key)?.value;
  const plain = v ? fromAnyValue(v) : undefined;
  return plain === undefined ? undefined : String(plain);
}

function groupName(rp: ResourceProfiles): string {
  const pid = attr(rp, 'process.pid');
  const safe = (t: string) => t.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64);
  if (pid) return `${safe(attr(rp, 'process.executable.name') ?? 'process')}-pid-${pid}`;
  const container = attr(rp, 'container.id');
  return container ? `container-${container.slice(0, 12)}` : 'all';
}

function describeWindow(data: ProfilesData, samples: number): string {
  const profiles = data.resourceProfiles.flatMap((rp) => rp.scopeProfiles.flatMap((sp) => sp.profiles));
  const start = profiles.reduce((m, p) => (p.timeUnixNano < m ? p.timeUnixNano : m), profiles[0]?.timeUnixNano ?? 0n);
  const end = profiles.reduce((m, p) => (p.timeUnixNano + p.durationNano > m ? p.timeUnixNano + p.durationNano : m), 0n);
  const seconds = Number(end - start) / 1e9;
  const when = new Date(Number(start / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const groups = data.resourceProfiles.length;
  return `${when}, ${seconds.toFixed(1)} s, ${thousands(samples)} samples, ${groups} ${groups === 1 ? 'process' : 'processes'}`;
}

export class FlamegraphExporter implements Exporter<'profiles'> {
  readonly capabilities: Capabilities = { mutatesData: false };
  readonly #config: FlamegraphConfig;
  readonly #directory: string;
  readonly #written: string[] = [];
  readonly #files: Counter;

  constructor(settings: CreateSettings, config: FlamegraphConfig) {
    this.#config = config;
    this.#directory = resolve(settings.configDir, config.directory);
    this.#files = settings.telemetry.counter('exporter_flamegraph_files', 'Flame graphs written (each an .svg and a .folded file)', '{files}');
  }

  get directory(): string {
    return this.#directory;
  }

  async start(): Promise<void> {
    await mkdir(this.#directory, { recursive: true });
    const existing = (await readdir(this.#directory)).filter((n) => n.endsWith('.svg')).sort();
    this.#written.push(...existing.map((n) => join(this.#directory, n.slice(0, -'.svg'.length))));
  }

  async shutdown(): Promise<void> {}

  async consume(data: ProfilesData): Promise<void> {
    // One graph per window (profiles starting at one time), or per process of a window.
    const groups = new Map<string, { name: string; time: bigint; data: ProfilesData }>();
    for (const rp of data.resourceProfiles) {
      for (const sp of rp.scopeProfiles) {
        for (const profile of sp.profiles) {
          if (profile.samples.length === 0) continue;
          const name = this.#config.file_per_process ? groupName(rp) : 'all';
          const key = `${profile.timeUnixNano}|${name}`;
          let g = groups.get(key);
          if (!g) {
            g = { name, time: profile.timeUnixNano, data: { resourceProfiles: [] } };
            groups.set(key, g);
          }
          g.data.resourceProfiles.push({ resource: rp.resource, scopeProfiles: [{ scope: sp.scope, profiles: [profile] }] });
        }
      }
    }
    for (const g of groups.values()) await this.#write(g.name, g.time, g.data);
  }

  async #write(name: string, time: bigint, data: ProfilesData): Promise<void> {
    const stacks = foldProfiles(data);
    const tree = buildTree(stacks);
    const base = join(this.#directory, `${fileTime(time)}-${name}`);
    const svg = renderSvg(tree, {
      title: this.#config.title,
      subtitle: describeWindow(data, tree.value),
      width: this.#config.width,
      minWidth: this.#config.min_width,
    });
    await writeFile(`${base}.folded.tmp`, foldedText(stacks));
    await rename(`${base}.folded.tmp`, `${base}.folded`);
    await writeFile(`${base}.svg.tmp`, svg);
    await rename(`${base}.svg.tmp`, `${base}.svg`);
    this.#files.add(1);
    if (!this.#written.includes(base)) this.#written.push(base);
    const max = this.#config.max_files;
    while (max > 0 && this.#written.length > max) {
      const oldest = this.#written.shift()!;
      await unlink(`${oldest}.svg`).catch(() => undefined);
      await unlink(`${oldest}.folded`).catch(() => undefined);
    }
  }
}
