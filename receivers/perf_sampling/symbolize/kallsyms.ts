// Kernel symbols from /proc/kallsyms: text symbols of the kernel and its modules, sorted, looked
// up by address. Read once (and again when a module may have been loaded: an address past every
// known symbol). Addresses are the low 48 bits (kernel addresses share their top 16), so they fit
// a Float64Array exactly.
import { readFileSync } from 'node:fs';

export interface KernelSymbol {
  name: string;
  /** `[kernel.kallsyms]` or the module's name in brackets. */
  module: string;
}

export class KernelSymbols {
  #offsets = new Float64Array(0);
  #names: string[] = [];
  #modules: (string | undefined)[] = [];
  #loadedAt = 0;
  readonly #path: string;
  /** False when every address reads as 0 (kptr_restrict hides them from this process). */
  available = false;

  constructor(path = '/proc/kallsyms') {
    this.#path = path;
    this.load();
  }

  get size(): number {
    return this.#names.length;
  }

  load(): void {
    this.#loadedAt = Date.now();
    let text: string;
    try {
      text = readFileSync(this.#path, 'latin1');
    } catch {
      this.available = false;
      return;
    }
    this.#parse(text);
  }

  #parse(text: string): void {
    const rows: { addr: number; name: string; module?: string }[] = [];
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      // "ffffffff81000000 T _text" or "ffffffffc0a01000 t foo\t[module]"
      const s1 = line.indexOf(' ');
      if (s1 !== 16 && s1 < 8) continue;
      const type = line[s1 + 1];
      if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
      const rest = line.slice(s1 + 3);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      const module = tab < 0 ? undefined : rest.slice(tab + 1).trim();
      const hex = line.slice(0, s1);
      const addr = Number.parseInt(hex.slice(-12), 16);
      if (addr === 0 || /^0+$/.test(hex)) continue;
      rows.push({ addr, name, module });
    }
    this.available = rows.length > 0;
    if (!rows.length) return;
    rows.sort((a, b) => a.addr - b.addr);
    this.#offsets = new Float64Array(rows.length);
    this.#names = new Array(rows.length);
    this.#modules = new Array(rows.length);
    rows.forEach((r, i) => {
      this.#offsets[i] = r.addr;
      this.#names[i] = r.name;
      this.#modules[i] = r.module;
    });
  }

  /** The symbol holding a kernel address (its low 48 bits; the last symbol at or below it), or undefined. */
  lookup(addr48: number): KernelSymbol | undefined {
    const a = this.#offsets;
    if (!this.available || addr48 < a[0]!) return undefined;
    const x = addr48;
    if (x > a[a.length - 1]! + (1 << 20) && Date.now() - this.#loadedAt > 10_000) {
      this.load(); // past the last symbol: perhaps a module loaded since
      return this.available ? this.lookup(addr48) : undefined;
    }
    let lo = 0;
    let hi = a.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= x) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const module = this.#modules[found];
    return { name: this.#names[found]!, module: module ? module : '[kernel.kallsyms]' };
  }
}
