// /proc/PID/maps: the executable mappings of a process, which a user-space address is looked up in.
import { readSmall } from '../../../src/host/read.ts';

export interface Mapping {
  /** Addresses as numbers (exact: user space ends below 2^47). */
  start: number;
  end: number;
  /** Offset in the file of the mapping's first byte. */
  offset: number;
  /** "08:01" */
  dev: string;
  inode: number;
  /** A file path, "[vdso]", "[anon:...]", or "" for anonymous memory. */
  path: string;
  /** The kernel appended " (deleted)": the file was replaced or removed since it was mapped. */
  deleted: boolean;
  /** Identity of the mapped file ("dev:inode:path"), for caches keyed by file. */
  fileKey: string;
}

/** Parses the executable mappings of a maps text (others hold no code). */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // 7f2c4a600000-7f2c4a628000 r-xp 00028000 08:01 1835081                    /usr/lib/x86_64-linux-gnu/libc.so.6
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[3]![2] !== 'x') continue;
    let path = m[7] ?? '';
    const deleted = path.endsWith(' (deleted)');
    if (deleted) path = path.slice(0, -' (deleted)'.length);
    out.push({
      start: Number.parseInt(m[1]!, 16),
      end: Number.parseInt(m[2]!, 16),
      offset: Number.parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]),
      path,
      deleted,
      fileKey: `${m[5]}:${m[6]}:${path}`,
    });
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

export function readMaps(pid: number, procRoot = '/proc'): Mapping[] | undefined {
  const text = readSmall(`${procRoot}/${pid}/maps`);
  return text === undefined ? undefined : parseMaps(text);
}

/** The mapping holding an address, by binary search over sorted mappings. */
export function findMapping(maps: readonly Mapping[], address: number): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid]!;
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** True for a mapping backed by a file (not anonymous memory, the vdso or the heap). */
export function isFileMapping(m: Mapping): boolean {
  return m.inode !== 0 && m.path.startsWith('/');
}
