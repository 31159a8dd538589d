// ELF files by identity (device and inode of the mapped file), read once and kept while used (least
// recently used ones are dropped past a bound). A file that cannot be read is remembered as such,
// so a process that maps it does not make us retry on every sample.
import { existsSync } from 'node:fs';
import { type ElfInfo, readElf } from './elf.ts';

export interface CachedElf {
  info: ElfInfo;
  /** Where the symbols came from, when not from the file itself (separate debug info). */
  symbolsFrom?: string;
}

export type LoadResult = CachedElf | { error: string };

export class ElfCache {
  readonly #max: number;
  readonly #entries = new Map<string, LoadResult>();
  loaded = 0;
  failed = 0;

  constructor(maxFiles: number) {
    this.#max = maxFiles;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * The file under `key`, read from the first of `paths` that opens (map_files of the process,
   * the path inside its mount namespace, the path on the host). `root` finds separate debug info
   * (/usr/lib/debug/.build-id/xx/yyyy.debug) inside the process's file system.
   */
  get(key: string, paths: readonly string[], root = ''): LoadResult {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key); // re-insert: most recently used last
      this.#entries.set(key, hit);
      return hit;
    }
    let result: LoadResult = { error: 'no path to read' };
    for (const path of paths) {
      try {
        result = withDebugInfo(readElf(path), root);
        break;
      } catch (err) {
        result = { error: `${path}: ${(err as Error).message}` };
      }
    }
    if ('error' in result) this.failed++;
    else this.loaded++;
    this.#entries.set(key, result);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return result;
  }
}

/** A stripped file keeps only .dynsym: its .symtab may be in a debug file named by build id. */
function withDebugInfo(info: ElfInfo, root: string): CachedElf {
  if (info.symbolSource === 'symtab' || !info.buildId || info.buildId.length < 4) return { info };
  const path = `${root}/usr/lib/debug/.build-id/${info.buildId.slice(0, 2)}/${info.buildId.slice(2)}.debug`;
  if (!existsSync(path)) return { info };
  try {
    const debug = readElf(path);
    if (debug.symbolSource === 'symtab') return { info: { ...info, symbols: debug.symbols, symbolSource: 'symtab' }, symbolsFrom: path };
  } catch {
    // unreadable debug file: the file's own symbols stay
  }
  return { info };
}
