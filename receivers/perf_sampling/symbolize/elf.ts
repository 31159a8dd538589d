// A small ELF reader: what symbolizing needs of an executable or shared object, and nothing else:
// its loadable segments (to turn a file offset into a virtual address), its function symbols
// (.symtab, or .dynsym when stripped) and its GNU build id. 64-bit little-endian files (x86-64,
// aarch64), read with positioned reads, so a large library is never read whole.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHT_NOBITS = 8;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;
const SHN_UNDEF = 0;
const MAX_SYMBOLS_BYTES = 256 << 20; // a symbol table larger than this is refused, not read

export interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  executable: boolean;
}

/** Function symbols sorted by address; names by index. */
export interface SymbolTable {
  addresses: Float64Array;
  sizes: Float64Array;
  names: string[];
}

export interface ElfInfo {
  /** ET_EXEC (2) or ET_DYN (3: shared objects and PIE executables). */
  type: number;
  segments: LoadSegment[];
  buildId?: string;
  /** .gnu_debuglink file name, to find separate debug info. */
  debugLink?: string;
  symbols: SymbolTable;
  /** Which table the symbols came from. */
  symbolSource: 'symtab' | 'dynsym' | 'none';
}

export class ElfError extends Error {}

class FileReader {
  readonly fd: number;
  readonly size: number;
  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }
  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new ElfError(`read of ${length} bytes at ${offset} is outside the file (${this.size} bytes)`);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new ElfError(`file ended at ${offset + done}`);
      done += n;
    }
    return out;
  }
  close(): void {
    closeSync(this.fd);
  }
}

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

const num = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/** Reads the ELF file at path. Throws ElfError (or a file system error) when it cannot. */
export function readElf(path: string): ElfInfo {
  const f = new FileReader(path);
  try {
    return parse(f);
  } finally {
    f.close();
  }
}

function parse(f: FileReader): ElfInfo {
  if (f.size < 64) throw new ElfError('not an ELF file (too short)');
  const h = f.read(0, 64);
  if (h.readUInt32LE(0) !== ELF_MAGIC) throw new ElfError('not an ELF file');
  if (h[4] !== ELFCLASS64) throw new ElfError('32-bit ELF files are not supported');
  if (h[5] !== ELFDATA2LSB) throw new ElfError('big-endian ELF files are not supported');
  const type = h.readUInt16LE(16);
  const phoff = num(h, 32);
  const shoff = num(h, 40);
  const phentsize = h.readUInt16LE(54);
  const phnum = h.readUInt16LE(56);
  const shentsize = h.readUInt16LE(58);
  let shnum = h.readUInt16LE(60);
  let shstrndx = h.readUInt16LE(62);

  const segments: LoadSegment[] = [];
  const noteSegments: { offset: number; size: number }[] = [];
  if (phoff && phnum && phentsize >= 56) {
    const ph = f.read(phoff, phnum * phentsize);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const ptype = ph.readUInt32LE(at);
      const flags = ph.readUInt32LE(at + 4);
      const offset = num(ph, at + 8);
      const vaddr = num(ph, at + 16);
      const filesz = num(ph, at + 32);
      const memsz = num(ph, at + 40);
      if (ptype === PT_LOAD) segments.push({ offset, vaddr, filesz, memsz, executable: (flags & 1) !== 0 });
      else if (ptype === PT_NOTE) noteSegments.push({ offset, size: filesz });
    }
  }

  const sections: Section[] = [];
  if (shoff && shentsize >= 64) {
    if (shnum === 0 || shstrndx === 0xffff) {
      // Extended numbering: the real values sit in section 0.
      const s0 = f.read(shoff, 64);
      if (shnum === 0) shnum = num(s0, 32);
      if (shstrndx === 0xffff) shstrndx = s0.readUInt32LE(40);
    }
    if (shnum > 0 && shoff + shnum * shentsize <= f.size) {
      const sh = f.read(shoff, shnum * shentsize);
      const raw = Array.from({ length: shnum }, (_, i) => {
        const at = i * shentsize;
        return {
          nameOff: sh.readUInt32LE(at),
          type: sh.readUInt32LE(at + 4),
          offset: num(sh, at + 24),
          size: num(sh, at + 32),
          link: sh.readUInt32LE(at + 40),
          entsize: num(sh, at + 56),
        };
      });
      const strs = raw[shstrndx];
      const names = strs && strs.type !== SHT_NOBITS ? f.read(strs.offset, strs.size) : Buffer.alloc(0);
      for (const s of raw) sections.push({ name: cString(names, s.nameOff), type: s.type, offset: s.offset, size: s.size, link: s.link, entsize: s.entsize });
    }
  }

  const info: ElfInfo = { type, segments, symbols: emptySymbols(), symbolSource: 'none' };
  const noteSources = sections.filter((s) => s.type === SHT_NOTE);
  for (const n of noteSources.length ? noteSources : noteSegments) {
    const id = buildIdFromNotes(f.read(n.offset, Math.min(n.size, 1 << 16)));
    if (id) {
      info.buildId = id;
      break;
    }
  }
  const link = sections.find((s) => s.name === '.gnu_debuglink');
  if (link && link.size > 0 && link.size < 4096) info.debugLink = cString(f.read(link.offset, link.size), 0);

  for (const [kind, shtype] of [['symtab', SHT_SYMTAB], ['dynsym', SHT_DYNSYM]] as const) {
    const table = sections.find((s) => s.type === shtype);
    if (!table || table.size === 0) continue;
    const strtab = sections[table.link];
    if (!strtab) continue;
    const symbols = readSymbols(f, table, strtab);
    if (symbols.addresses.length === 0) continue;
    info.symbols = symbols;
    info.symbolSource = kind;
    break;
  }
  return info;
}

function emptySymbols(): SymbolTable {
  return { addresses: new Float64Array(0), sizes: new Float64Array(0), names: [] };
}

function cString(b: Buffer, at: number): string {
  if (at >= b.length) return '';
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 ? b.length : end);
}

/** The GNU build id of a block of ELF notes, as lowercase hex. */
export function buildIdFromNotes(notes: Buffer): string | undefined {
  let at = 0;
  while (at + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(at);
    const descsz = notes.readUInt32LE(at + 4);
    const type = notes.readUInt32LE(at + 8);
    const nameAt = at + 12;
    const descAt = nameAt + Math.ceil(namesz / 4) * 4;
    const next = descAt + Math.ceil(descsz / 4) * 4;
    if (next > notes.length) break;
    if (type === NT_GNU_BUILD_ID && notes.toString('latin1', nameAt, nameAt + namesz).replace(/\0+$/, '') === 'GNU') {
      return notes.toString('hex', descAt, descAt + descsz);
    }
    at = next;
  }
  return undefined;
}

function readSymbols(f: FileReader, table: Section, strtab: Section): SymbolTable {
  const entsize = table.entsize || 24;
  if (table.size > MAX_SYMBOLS_BYTES || strtab.size > MAX_SYMBOLS_BYTES) throw new ElfError('symbol table too large');
  const syms = f.read(table.offset, table.size);
  const strs = f.read(strtab.offset, strtab.size);
  const found: { addr: number; size: number; name: string; rank: number }[] = [];
  for (let at = entsize; at + 24 <= syms.length; at += entsize) {
    const info = syms[at + 4]!;
    const stype = info & 0xf;
    if (stype !== STT_FUNC && stype !== STT_GNU_IFUNC) continue;
    if (syms.readUInt16LE(at + 6) === SHN_UNDEF) continue;
    const addr = num(syms, at + 8);
    if (addr === 0) continue;
    const name = cString(strs, syms.readUInt32LE(at));
    if (!name) continue;
    const bind = info >> 4; // 0 local, 1 global, 2 weak
    found.push({ addr, size: num(syms, at + 16), name, rank: bind === 1 ? 0 : bind === 2 ? 1 : 2 });
  }
  // By address; at one address (aliases) the global name first, then the longer-sized one.
  found.sort((a, b) => a.addr - b.addr || a.rank - b.rank || b.size - a.size);
  const out: SymbolTable = { addresses: new Float64Array(found.length), sizes: new Float64Array(found.length), names: [] };
  let n = 0;
  for (const s of found) {
    if (n > 0 && out.addresses[n - 1] === s.addr) continue;
    out.addresses[n] = s.addr;
    out.sizes[n] = s.size;
    out.names.push(s.name);
    n++;
  }
  return { addresses: out.addresses.slice(0, n), sizes: out.sizes.slice(0, n), names: out.names };
}

/** The virtual address (as linked) of a file offset, through the segment holding it. */
export function fileOffsetToVaddr(elf: ElfInfo, offset: number): number | undefined {
  for (const s of elf.segments) {
    if (offset >= s.offset && offset < s.offset + Math.max(s.filesz, 1)) return offset - s.offset + s.vaddr;
  }
  return undefined;
}

/**
 * The function holding a virtual address: the last symbol at or below it, if the address is inside
 * its size (symbols of size 0, hand-written assembly, cover up to the next symbol).
 */
export function lookupSymbol(table: SymbolTable, vaddr: number): { name: string; start: number } | undefined {
  const a = table.addresses;
  let lo = 0;
  let hi = a.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= vaddr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  const start = a[found]!;
  const size = table.sizes[found]!;
  if (size > 0 && vaddr >= start + size) {
    // Inside a larger symbol that starts earlier (nested aliases are rare): look back a little.
    for (let i = found - 1; i >= 0 && i >= found - 8; i--) {
      if (vaddr < a[i]! + table.sizes[i]!) return { name: table.names[i]!, start: a[i]! };
    }
    return undefined;
  }
  return { name: table.names[found]!, start };
}
