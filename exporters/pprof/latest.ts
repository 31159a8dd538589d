// The latest profile of each process (or container), for the HTTP endpoint: a newer window of a
// process replaces its older one; processes whose profiles stopped coming are forgotten once the
// newest window is `keepWindows` windows past theirs.
import type { Resource } from '../../src/pdata/common.ts';
import { fromAnyValue } from '../../src/pdata/common.ts';
import type { Profile } from '../../src/pdata/profiles.ts';

export interface LatestEntry {
  key: string;
  resource: Resource;
  profile: Profile;
}

/** A stable name of the process or container a resource stands for. */
export function resourceKey(resource: Resource): string {
  const get = (k: string) => {
    const v = resource.attributes.find((a) => a.key === k)?.value;
    return v ? fromAnyValue(v) : undefined;
  };
  const pid = get('process.pid');
  if (pid !== undefined) return `pid-${String(pid)}`;
  const container = get('container.id');
  if (typeof container === 'string') return `container-${container.slice(0, 12)}`;
  return 'all';
}

export class LatestProfiles {
  readonly #entries = new Map<string, LatestEntry>();
  readonly #keepWindows: number;

  constructor(keepWindows = 3) {
    this.#keepWindows = keepWindows;
  }

  add(resource: Resource, profile: Profile): void {
    const key = resourceKey(resource);
    const old = this.#entries.get(key);
    if (old && old.profile.timeUnixNano > profile.timeUnixNano) return;
    const merged = old && old.profile.timeUnixNano === profile.timeUnixNano ? { ...profile, samples: [...old.profile.samples, ...profile.samples] } : profile;
    this.#entries.set(key, { key, resource, profile: merged });
    const newest = this.newestStart();
    const horizon = BigInt(this.#keepWindows) * (profile.durationNano > 0n ? profile.durationNano : 1n);
    for (const [k, e] of this.#entries) if (newest - e.profile.timeUnixNano > horizon) this.#entries.delete(k);
  }

  newestStart(): bigint {
    let newest = 0n;
    for (const e of this.#entries.values()) if (e.profile.timeUnixNano > newest) newest = e.profile.timeUnixNano;
    return newest;
  }

  get(key: string): LatestEntry | undefined {
    return this.#entries.get(key);
  }

  all(): LatestEntry[] {
    return [...this.#entries.values()];
  }

  /** The profiles of the newest window: those overlapping the newest one. */
  newestWindow(): LatestEntry[] {
    const entries = this.all();
    const newest = entries.reduce<LatestEntry | undefined>((a, e) => (!a || e.profile.timeUnixNano > a.profile.timeUnixNano ? e : a), undefined);
    if (!newest) return [];
    const start = newest.profile.timeUnixNano;
    return entries.filter((e) => e.profile.timeUnixNano + e.profile.durationNano > start);
  }
}
