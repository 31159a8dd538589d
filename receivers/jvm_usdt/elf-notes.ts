// The USDT probes an ELF file defines: its .note.stapsdt section (SystemTap's SDT notes, what
// <sys/sdt.h> and HotSpot's dtrace support emit), read straight from the section headers without
// loading the file (libjvm.so is ~20 MB; its notes are ~50 KB).
//
// A note: namesz, descsz, type (3 = NT_STAPSDT), the name "stapsdt\0" padded to 4 bytes, then the
// descriptor: pc, base (the link-time address of .stapsdt.base), semaphore (three addresses of
// the file's word size), then provider\0 name\0 arguments\0.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface UsdtProbe {
  provider: string;
  name: string;
  /** Link-time address of the probe site. */
  pc: bigint;
  /** Address of the probe's semaphore, 0n when it has none. */
  semaphore: bigint;
  /** The argument specs as written: "8@%r14 -4@-60(%rbp)". */
  args: string;
}

export interface ElfProbes {
  /** false: the file has no .note.stapsdt section (a build without DTrace probes). */
  hasNotes: boolean;
  probes: UsdtProbe[];
}

const NT_STAPSDT = 3;
const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian

function readAt(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${offset + done} (wanted ${length} bytes at ${offset})`);
    done += n;
  }
  return out;
}

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
}

/** Parses the section table of an ELF file given a reader of byte ranges. Throws on what is not ELF. */
function sections(read: (offset: number, length: number) => Buffer, fileSize: number): { sections: Section[]; is64: boolean; le: boolean } {
  const ident = read(0, 64);
  if (ident.readUInt32LE(0) !== ELF_MAGIC) throw new Error('not an ELF file');
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) throw new Error(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new Error(`unknown ELF data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));

  const shoff = word(ident, is64 ? 0x28 : 0x20);
  const shentsize = u16(ident, is64 ? 0x3a : 0x2e);
  let shnum = u16(ident, is64 ? 0x3c : 0x30);
  let shstrndx = u16(ident, is64 ? 0x3e : 0x32);
  if (shoff === 0) return { sections: [], is64, le };
  if (shentsize < (is64 ? 64 : 40)) throw new Error(`section header entries of ${shentsize} bytes`);
  // Section 0 holds the real counts when they do not fit in the ELF header (SHN_XINDEX = 0xffff).
  if (shnum === 0 || shstrndx === 0xffff) {
    const first = read(shoff, shentsize);
    if (shnum === 0) shnum = word(first, is64 ? 32 : 20);
    if (shstrndx === 0xffff) shstrndx = u32(first, is64 ? 40 : 24);
  }
  if (shoff + shnum * shentsize > fileSize) throw new Error('section headers beyond the end of the file');
  const table = read(shoff, shnum * shentsize);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = i * shentsize;
    return {
      nameOffset: u32(table, at),
      type: u32(table, at + 4),
      offset: word(table, at + (is64 ? 24 : 16)),
      size: word(table, at + (is64 ? 32 : 20)),
    };
  });
  const strtab = raw[shstrndx];
  const names = strtab && strtab.offset + strtab.size <= fileSize ? read(strtab.offset, strtab.size) : Buffer.alloc(0);
  const nameAt = (o: number) => {
    if (o >= names.length) return '';
    const end = names.indexOf(0, o);
    return names.toString('latin1', o, end < 0 ? names.length : end);
  };
  return { sections: raw.map((s) => ({ name: nameAt(s.nameOffset), type: s.type, offset: s.offset, size: s.size })), is64, le };
}

/** Decodes the notes of a .note.stapsdt section. Malformed notes end the walk (what came before is kept). */
export function parseStapsdtNotes(notes: Buffer, options: { is64: boolean; le: boolean }): UsdtProbe[] {
  const { is64, le } = options;
  const u32 = (o: number) => (le ? notes.readUInt32LE(o) : notes.readUInt32BE(o));
  const addr = (o: number) => (is64 ? (le ? notes.readBigUInt64LE(o) : notes.readBigUInt64BE(o)) : BigInt(u32(o)));
  const wordSize = is64 ? 8 : 4;
  const align4 = (n: number) => (n + 3) & ~3;
  const probes: UsdtProbe[] = [];
  let at = 0;
  while (at + 12 <= notes.length) {
    const namesz = u32(at);
    const descsz = u32(at + 4);
    const type = u32(at + 8);
    const nameStart = at + 12;
    const descStart = nameStart + align4(namesz);
    const next = descStart + align4(descsz);
    if (descStart + descsz > notes.length) break;
    const owner = notes.toString('latin1', nameStart, nameStart + Math.max(0, namesz - 1));
    if (type === NT_STAPSDT && owner === 'stapsdt' && descsz >= 3 * wordSize) {
      const desc = notes.subarray(descStart, descStart + descsz);
      const strings = desc.toString('latin1', 3 * wordSize).split('\0');
      const [provider = '', name = '', args = ''] = strings;
      if (provider && name) {
        probes.push({ provider, name, pc: addr(descStart), semaphore: addr(descStart + 2 * wordSize), args });
      }
    }
    at = next;
  }
  return probes;
}

/** The USDT probes of an ELF file (an executable or a shared library such as libjvm.so). */
export function readUsdtProbes(path: string): ElfProbes {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number) => readAt(fd, offset, length);
    const { sections: list, is64, le } = sections(read, size);
    const section = list.find((s) => s.name === '.note.stapsdt');
    if (!section) return { hasNotes: false, probes: [] };
    if (section.offset + section.size > size) throw new Error('.note.stapsdt extends beyond the end of the file');
    return { hasNotes: true, probes: parseStapsdtNotes(read(section.offset, section.size), { is64, le }) };
  } catch (err) {
    throw new Error(`reading the USDT notes of ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** Probe names present, as "provider:name". */
export function probeSet(probes: readonly UsdtProbe[]): Set<string> {
  return new Set(probes.map((p) => `${p.provider}:${p.name}`));
}
