// process.executable.name of a pid: the base name of /proc/<pid>/exe's target (as the semantic
// conventions say), else /proc/<pid>/comm. Cached for a while: a pid's name is asked for once per
// series per interval. bpfcol must see the host's /proc (hostPID in Kubernetes) for pids to match.
import { readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class ProcessNames {
  readonly #cache = new Map<number, { name: string | undefined; at: number }>();
  readonly #proc: string;

  constructor(procRoot = '/proc') {
    this.#proc = procRoot;
  }

  get(pid: number, nowMs = Date.now()): string | undefined {
    if (pid <= 0) return undefined;
    const hit = this.#cache.get(pid);
    if (hit && nowMs - hit.at < TTL_MS) return hit.name;
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
    const name = this.#read(pid);
    this.#cache.set(pid, { name, at: nowMs });
    return name;
  }

  #read(pid: number): string | undefined {
    try {
      const target = readlinkSync(`${this.#proc}/${pid}/exe`).replace(/ \(deleted\)$/, '');
      const name = basename(target);
      if (name) return name;
    } catch {
      // kernel threads have no exe; a process gone since is gone
    }
    try {
      return readFileSync(`${this.#proc}/${pid}/comm`, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }
}
