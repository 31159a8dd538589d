// Which OpenSSL functions an ELF file exports, and where they are in the file: the dynamic symbol
// table (.dynsym, what a shared library or an executable linking OpenSSL statically, as Node does,
// exports), read with positioned reads (Node's binary is ~120 MB; its .dynsym and .dynstr a few MB).
// Uprobes are attached by file offset: the symbol's address turned into an offset through the
// loadable segment holding it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_LOAD = 1;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const SHN_UNDEF = 0;
/** Tables larger than this are refused, not read. */
const MAX_TABLE_BYTES = 64 << 20;

/** The functions the TLS probes hook, the first two required (a file exporting neither is no OpenSSL). */
export const TLS_FUNCTIONS = ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex', 'SSL_do_handshake'] as const;
export type TlsFunction = (typeof TLS_FUNCTIONS)[number];

function readAt(fd: number, size: number, offset: number, length: number): Buffer {
  if (offset < 0 || length < 0 || offset + length > size) throw new Error(`read of ${length} bytes at ${offset} is outside the file`);
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) throw new Error(`file ended at ${offset + done}`);
    done += n;
  }
  return out;
}

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/**
 * The file offsets of the TLS functions the file defines and exports (by name), or undefined when
 * it defines no SSL_write and SSL_read (not OpenSSL, or an ELF this reader does not handle).
 * Throws only on file system errors.
 */
export function tlsFunctionOffsets(path: string): Map<TlsFunction, number> | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 64) return undefined;
    const h = readAt(fd, size, 0, 64);
    if (h.readUInt32LE(0) !== ELF_MAGIC || h[4] !== ELFCLASS64 || h[5] !== ELFDATA2LSB) return undefined;
    const phoff = u64(h, 32);
    const shoff = u64(h, 40);
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const shentsize = h.readUInt16LE(58);
    const shnum = h.readUInt16LE(60);
    if (!phoff || phentsize < 56 || !shoff || shentsize < 64 || shnum === 0) return undefined;
    const loads: { offset: number; vaddr: number; filesz: number }[] = [];
    const ph = readAt(fd, size, phoff, phnum * phentsize);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) === PT_LOAD) loads.push({ offset: u64(ph, at + 8), vaddr: u64(ph, at + 16), filesz: u64(ph, at + 32) });
    }
    const sh = readAt(fd, size, shoff, shnum * shentsize);
    const section = (i: number) => ({ type: sh.readUInt32LE(i * shentsize + 4), offset: u64(sh, i * shentsize + 24), size: u64(sh, i * shentsize + 32), link: sh.readUInt32LE(i * shentsize + 40) });
    let dynsym: ReturnType<typeof section> | undefined;
    for (let i = 0; i < shnum && !dynsym; i++) if (section(i).type === SHT_DYNSYM) dynsym = section(i);
    if (!dynsym || dynsym.link >= shnum || dynsym.size > MAX_TABLE_BYTES) return undefined;
    const strtab = section(dynsym.link);
    if (strtab.size > MAX_TABLE_BYTES) return undefined;
    const syms = readAt(fd, size, dynsym.offset, dynsym.size);
    const strs = readAt(fd, size, strtab.offset, strtab.size);
    const wanted = new Map<string, TlsFunction>(TLS_FUNCTIONS.map((f) => [f, f]));
    const out = new Map<TlsFunction, number>();
    for (let at = 0; at + 24 <= syms.length; at += 24) {
      const info = syms[at + 4]!;
      const shndx = syms.readUInt16LE(at + 6);
      if ((info & 0xf) !== STT_FUNC || shndx === SHN_UNDEF) continue;
      const nameOff = syms.readUInt32LE(at);
      // cheap filter before decoding: every wanted name starts with "SSL_"
      if (strs[nameOff] !== 0x53 || strs[nameOff + 1] !== 0x53 || strs[nameOff + 2] !== 0x4c || strs[nameOff + 3] !== 0x5f) continue;
      const end = strs.indexOf(0, nameOff);
      const name = wanted.get(strs.toString('latin1', nameOff, end < 0 ? strs.length : end));
      if (!name || out.has(name)) continue;
      const vaddr = u64(syms, at + 8);
      const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz);
      if (seg) out.set(name, vaddr - seg.vaddr + seg.offset);
    }
    return out.has('SSL_write') && out.has('SSL_read') ? out : undefined;
  } finally {
    closeSync(fd);
  }
}
