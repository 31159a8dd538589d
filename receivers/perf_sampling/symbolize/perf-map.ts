// /tmp/perf-PID.map: the symbols of JIT-compiled code, one "START SIZE name" line per code object
// (hex numbers, with or without 0x), written by the JVM (`jcmd PID Compiler.perfmap`,
// -XX:+DumpPerfMapAtExit) and by Node/V8 (--perf-basic-prof, appended as code is compiled).
// Read incrementally: a file that grew is read from where the last read stopped. Code freed and
// compiled again at the same address appears twice: the later line wins.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface PerfMapEntry {
  /** Addresses as numbers (exact: user space ends below 2^47). */
  start: number;
  end: number;
  name: string;
}

/** Parses perf map lines; lines that are not "START SIZE name" are skipped. */
export function parsePerfMapLines(text: string): PerfMapEntry[] {
  const out: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    const start = Number.parseInt(m[1]!, 16);
    const size = Number.parseInt(m[2]!, 16);
    if (size === 0 || !Number.isSafeInteger(start + size)) continue;
    out.push({ start, end: start + size, name: m[3]! });
  }
  return out;
}

export class PerfMap {
  readonly path: string;
  #entries: (PerfMapEntry & { seq: number })[] = [];
  #sorted = true;
  #readBytes = 0;
  #partial = '';
  #seq = 0;
  #ino = -1;
  /** Longest code object so far: how far back a lookup must look for one that covers an address. */
  #maxSize = 0;

  constructor(path: string) {
    this.path = path;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Reads what was appended since the last call (the whole file if it was replaced). False if it cannot be read. */
  refresh(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    try {
      const st = fstatSync(fd);
      if (st.ino !== this.#ino || st.size < this.#readBytes) {
        this.#entries = [];
        this.#readBytes = 0;
        this.#partial = '';
        this.#maxSize = 0;
        this.#ino = st.ino;
      }
      if (st.size === this.#readBytes) return true;
      const buf = Buffer.allocUnsafe(st.size - this.#readBytes);
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, this.#readBytes + done);
        if (n === 0) break;
        done += n;
      }
      this.#readBytes += done;
      const text = this.#partial + buf.toString('utf8', 0, done);
      const lastNewline = text.lastIndexOf('\n');
      this.#partial = text.slice(lastNewline + 1);
      for (const e of parsePerfMapLines(text.slice(0, lastNewline + 1))) {
        this.#entries.push({ ...e, seq: this.#seq++ });
        if (e.end - e.start > this.#maxSize) this.#maxSize = e.end - e.start;
        this.#sorted = false;
      }
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** The name of the code object holding an address (the latest written when several do). */
  lookup(address: number): string | undefined {
    if (!this.#sorted) {
      this.#entries.sort((a, b) => a.start - b.start || a.seq - b.seq);
      this.#sorted = true;
    }
    const e = this.#entries;
    let lo = 0;
    let hi = e.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid]!.start <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best: (PerfMapEntry & { seq: number }) | undefined;
    for (let i = found; i >= 0 && found - i < 256; i--) {
      const x = e[i]!;
      if (address - x.start >= this.#maxSize) break;
      if (address < x.end && (!best || x.seq > best.seq)) best = x;
    }
    return best?.name;
  }
}
