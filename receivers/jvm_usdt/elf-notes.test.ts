// The .note.stapsdt reader against binutils' readelf on real files: Debian's and Temurin's
// libjvm.so, a C program built here with <sys/sdt.h>, a binary without notes, and bad input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseStapsdtNotes, probeSet, readUsdtProbes } from './elf-notes.ts';
import { installedJdks } from './testing.ts';

/** readelf -n's view of the SDT notes: provider, name, location, semaphore, arguments. */
function readelfProbes(path: string): { provider: string; name: string; pc: bigint; semaphore: bigint; args: string }[] {
  const text = execFileSync('readelf', ['-n', '--wide', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: { provider: string; name: string; pc: bigint; semaphore: bigint; args: string }[] = [];
  const re = /Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)\n\s+Arguments: ?(.*)/g;
  for (const m of text.matchAll(re)) {
    out.push({ provider: m[1]!, name: m[2]!, pc: BigInt(m[3]!), semaphore: BigInt(m[4]!), args: m[5]!.trim() });
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'bpfcol-elf-notes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('readUsdtProbes', () => {
  const jdks = installedJdks();

  it('finds the JDKs installed on this machine (Debian 17 at least)', () => {
    assert.ok(jdks.some((j) => j.libjvm.includes('java-17-openjdk')), `Debian's OpenJDK 17 is installed: ${JSON.stringify(jdks)}`);
  });

  for (const jdk of jdks) {
    it(`reads every probe of ${jdk.libjvm} as readelf does`, () => {
      const got = readUsdtProbes(jdk.libjvm);
      const want = readelfProbes(jdk.libjvm);
      assert.equal(got.hasNotes, true);
      assert.ok(want.length > 400, `readelf lists ${want.length} probes`);
      assert.deepEqual(got.probes, want);
      const names = probeSet(got.probes);
      for (const p of ['hotspot:gc__begin', 'hotspot:gc__end', 'hotspot:mem__pool__gc__begin', 'hotspot:mem__pool__gc__end', 'hotspot:thread__start', 'hotspot:thread__stop', 'hotspot:class__loaded', 'hotspot:class__unloaded', 'hotspot:vmops__begin', 'hotspot:vmops__end', 'hs_private:safepoint__begin', 'hs_private:safepoint__end']) {
        assert.ok(names.has(p), `${jdk.libjvm} carries ${p}`);
      }
    });
  }

  it('reads the probes of a program built with <sys/sdt.h>, semaphore included', () => {
    const src = join(dir, 'probes.c');
    writeFileSync(
      src,
      `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short demo_plain_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short demo_withsem_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short demo_noargs_semaphore __attribute__((unused)) __attribute__((section(".probes")));
int main(int argc, char **argv) {
  long a = argc;
  DTRACE_PROBE2(demo, plain, a, argv);
  if (demo_withsem_semaphore) DTRACE_PROBE1(demo, withsem, a);
  DTRACE_PROBE(demo, noargs);
  return 0;
}
`,
    );
    const exe = join(dir, 'probes');
    execFileSync('gcc', ['-O2', '-o', exe, src]);
    const got = readUsdtProbes(exe);
    assert.deepEqual(got.probes, readelfProbes(exe));
    assert.deepEqual(got.probes.map((p) => `${p.provider}:${p.name}`).sort(), ['demo:noargs', 'demo:plain', 'demo:withsem']);
    for (const p of got.probes) assert.ok(p.semaphore > 0n, `the semaphore address of ${p.name} is read`);
    assert.equal(got.probes.find((p) => p.name === 'noargs')!.args, '');
  });

  it('says a binary without notes has none', () => {
    const src = join(dir, 'plain.c');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const exe = join(dir, 'plain');
    execFileSync('gcc', ['-O2', '-o', exe, src]);
    assert.deepEqual(readUsdtProbes(exe), { hasNotes: false, probes: [] });
  });

  it('refuses what is not ELF, naming the file', () => {
    const bad = join(dir, 'bad.so');
    writeFileSync(bad, Buffer.alloc(128, 0x41));
    assert.throws(() => readUsdtProbes(bad), /reading the USDT notes of .*bad\.so: not an ELF file/);
    const short = join(dir, 'short.so');
    writeFileSync(short, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]));
    assert.throws(() => readUsdtProbes(short), /short\.so: unexpected end of file/);
  });
});

describe('parseStapsdtNotes', () => {
  const note = (owner: string, type: number, desc: Buffer) => {
    const name = Buffer.from(`${owner}\0`);
    const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(name.length, 0);
    head.writeUInt32LE(desc.length, 4);
    head.writeUInt32LE(type, 8);
    return Buffer.concat([head, pad(name), pad(desc)]);
  };
  const desc = (pc: bigint, sem: bigint, strings: string) => {
    const b = Buffer.alloc(24);
    b.writeBigUInt64LE(pc, 0);
    b.writeBigUInt64LE(0x1000n, 8);
    b.writeBigUInt64LE(sem, 16);
    return Buffer.concat([b, Buffer.from(strings, 'latin1')]);
  };

  it('skips notes of other owners and types, and stops at a truncated note keeping the ones before', () => {
    const notes = Buffer.concat([
      note('stapsdt', 3, desc(0x10n, 0n, 'p\0a\0-4@%eax\0')),
      note('GNU', 3, Buffer.alloc(16)),
      note('stapsdt', 1, desc(0x20n, 0n, 'p\0other\0\0')),
      note('stapsdt', 3, desc(0x30n, 0x40n, 'p\0b\0\0')),
    ]);
    const truncated = Buffer.concat([notes, note('stapsdt', 3, desc(0x50n, 0n, 'p\0c\0\0')).subarray(0, 30)]);
    const want = [
      { provider: 'p', name: 'a', pc: 0x10n, semaphore: 0n, args: '-4@%eax' },
      { provider: 'p', name: 'b', pc: 0x30n, semaphore: 0x40n, args: '' },
    ];
    assert.deepEqual(parseStapsdtNotes(notes, { is64: true, le: true }), want);
    assert.deepEqual(parseStapsdtNotes(truncated, { is64: true, le: true }), want);
    assert.deepEqual(parseStapsdtNotes(Buffer.alloc(5), { is64: true, le: true }), []);
  });
});
