// tlsFunctionOffsets against real files: Debian's libssl.so.3 (checked against nm -D), Node's own
// binary (OpenSSL linked in statically: symbol addresses turned into file offsets), and files that
// are not OpenSSL (curl links libssl but defines no SSL_write; a text file is no ELF).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/cli.ts';
import { TLS_FUNCTIONS, tlsFunctionOffsets } from './tls-elf.ts';

/** `nm -D --defined-only` of a file: name -> address (versions cut off). */
function nm(path: string): Map<string, number> {
  const r = spawnSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]+) [TtWi] ([^@\s]+)/.exec(line);
    if (m) out.set(m[2]!, Number.parseInt(m[1]!, 16));
  }
  return out;
}

/** The file offset of a virtual address, from readelf's program headers. */
function fileOffset(path: string, vaddr: number): number {
  const r = spawnSync('readelf', ['-lW', path], { encoding: 'utf8' });
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const [offset, start, size] = [m[1], m[2], m[3]].map((x) => Number.parseInt(x!, 16)) as [number, number, number];
    if (vaddr >= start && vaddr < start + size) return vaddr - start + offset;
  }
  throw new Error(`no LOAD segment holds 0x${vaddr.toString(16)}`);
}

describe('tlsFunctionOffsets', () => {
  it("finds the five functions in Debian's libssl.so.3 at nm's addresses", () => {
    const path = realpathSync('/lib/x86_64-linux-gnu/libssl.so.3');
    const got = tlsFunctionOffsets(path);
    assert.ok(got);
    const symbols = nm(path);
    assert.deepEqual([...got.keys()].sort(), [...TLS_FUNCTIONS].sort());
    for (const [name, offset] of got) assert.equal(offset, fileOffset(path, symbols.get(name)!), name);
  });

  it("finds them in Node's binary (static OpenSSL, exported), as file offsets", () => {
    const got = tlsFunctionOffsets(process.execPath);
    assert.ok(got);
    const symbols = nm(process.execPath);
    assert.deepEqual([...got.keys()].sort(), [...TLS_FUNCTIONS].sort());
    for (const [name, offset] of got) {
      assert.equal(offset, fileOffset(process.execPath, symbols.get(name)!), name);
      assert.notEqual(offset, symbols.get(name), 'not a PIE: the address is not the offset');
    }
  });

  it('says undefined for files that are not OpenSSL', () => {
    assert.equal(tlsFunctionOffsets('/usr/bin/curl'), undefined, 'curl imports SSL_write, it does not define it');
    assert.equal(tlsFunctionOffsets(realpathSync('/lib/x86_64-linux-gnu/libcrypto.so.3')), undefined);
    const dir = tempDir('bpfcol-tls-elf-');
    try {
      const text = join(dir.path, 'not-elf');
      writeFileSync(text, 'SSL_write SSL_read\n'.repeat(10));
      assert.equal(tlsFunctionOffsets(text), undefined);
      const short = join(dir.path, 'short');
      writeFileSync(short, '\x7fELF');
      assert.equal(tlsFunctionOffsets(short), undefined);
    } finally {
      dir.cleanup();
    }
  });
});
