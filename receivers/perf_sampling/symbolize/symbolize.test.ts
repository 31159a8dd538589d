// The symbolizer's parts against real files and fixed texts: the ELF reader against binutils'
// own view of a binary built here (nm, readelf), perf maps (overlaps, appends), /proc maps,
// kallsyms, demangling, and a whole process (this one) symbolized from its own addresses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildHot, tempDir } from '../testing.ts';
import { demangleAll } from './demangle.ts';
import { ElfError, fileOffsetToVaddr, lookupSymbol, readElf } from './elf.ts';
import { KernelSymbols } from './kallsyms.ts';
import { PerfMap, parsePerfMapLines } from './perf-map.ts';
import { findMapping, parseMaps } from './proc-maps.ts';
import { parseNsPid, parseStartTicks } from './processes.ts';
import { Symbolizer, jitKind } from './symbolizer.ts';

describe('ELF reader', () => {
  const dir = tempDir('bpfcol-elf-');
  let hot = '';
  before(() => {
    hot = buildHot(dir.path);
  });
  after(() => dir.remove());

  it('reads the symbols, segments and build id binutils sees', () => {
    const elf = readElf(hot);
    assert.equal(elf.symbolSource, 'symtab');
    const nm = execFileSync('nm', ['--defined-only', hot], { encoding: 'utf8' });
    for (const name of ['hot_a', 'hot_b', 'hot_syscalls', 'main']) {
      const addr = Number.parseInt(new RegExp(`^([0-9a-f]+) T ${name}$`, 'm').exec(nm)![1]!, 16);
      const i = elf.symbols.names.indexOf(name);
      assert.ok(i >= 0, `${name} found`);
      assert.equal(elf.symbols.addresses[i], addr);
      assert.equal(lookupSymbol(elf.symbols, addr + 3)?.name, name);
    }
    const notes = execFileSync('readelf', ['-n', hot], { encoding: 'utf8' });
    assert.equal(elf.buildId, /Build ID: ([0-9a-f]+)/.exec(notes)![1]);
    assert.equal(elf.type, 3); // PIE
    const text = elf.segments.find((s) => s.executable)!;
    assert.equal(fileOffsetToVaddr(elf, text.offset + 16), text.vaddr + 16);
  });

  it('reads a stripped shared library through .dynsym', () => {
    const stripped = join(dir.path, 'hot.stripped');
    execFileSync('strip', ['-o', stripped, hot]);
    const elf = readElf(stripped);
    assert.notEqual(elf.symbolSource, 'symtab');
    const libc = readElf('/lib/x86_64-linux-gnu/libc.so.6');
    assert.ok(libc.symbols.names.includes('malloc'));
    assert.match(libc.buildId ?? '', /^[0-9a-f]{40}$/);
  });

  it('refuses what is not a 64-bit little-endian ELF file, with the reason', () => {
    const bad = join(dir.path, 'bad');
    writeFileSync(bad, Buffer.alloc(100, 1));
    assert.throws(() => readElf(bad), (e) => e instanceof ElfError && /not an ELF file/.test(e.message));
    const elf32 = Buffer.alloc(100);
    elf32.writeUInt32LE(0x464c457f, 0);
    elf32[4] = 1;
    writeFileSync(bad, elf32);
    assert.throws(() => readElf(bad), /32-bit/);
  });

  it('demangles C++ names with c++filt', () => {
    const names = ['_ZN4node5StartEiPPc', 'main', '_ZN2v88internal7Isolate4InitEv'];
    assert.equal(demangleAll(names), 2);
    assert.deepEqual(names, ['node::Start(int, char**)', 'main', 'v8::internal::Isolate::Init()']);
  });
});

describe('perf maps, /proc maps, kallsyms', () => {
  const dir = tempDir('bpfcol-maps-');
  after(() => dir.remove());

  it('parses perf map lines of the JVM and V8, later entries winning over freed code', () => {
    const lines = parsePerfMapLines('0x00007f5f08ed1980 0x0000000000000178 long Hot.hotA(long)\n3d42d0001b88 33 JS:~hotA file:///x.js:6:14\nbad line\n');
    assert.deepEqual(lines.map((l) => [l.start.toString(16), (l.end - l.start).toString(16), l.name]), [
      ['7f5f08ed1980', '178', 'long Hot.hotA(long)'],
      ['3d42d0001b88', '33', 'JS:~hotA file:///x.js:6:14'],
    ]);
    const path = join(dir.path, 'perf-1.map');
    writeFileSync(path, '1000 100 old\n2000 10 other\n');
    const map = new PerfMap(path);
    assert.equal(map.refresh(), true);
    assert.equal(map.lookup(0x1050), 'old');
    assert.equal(map.lookup(0x1100), undefined);
    appendFileSync(path, '1040 20 new\n3000 1');
    map.refresh();
    assert.equal(map.lookup(0x1050), 'new');
    assert.equal(map.lookup(0x1030), 'old');
    assert.equal(map.size, 3, 'a partial last line waits for its end');
    appendFileSync(path, '0 last\n');
    map.refresh();
    assert.equal(map.lookup(0x3005), 'last');
    assert.equal(new PerfMap(join(dir.path, 'none')).refresh(), false);
    assert.equal(jitKind('JS:~hotA x.js:1:1'), 'interpreted');
    assert.equal(jitKind('Interpreter'), 'interpreted');
    assert.equal(jitKind('JS:*hotA x.js:1:1'), 'jit');
    assert.equal(jitKind('long Hot.hotA(long)'), 'jit');
  });

  it('parses /proc/PID/maps: executable mappings only, deleted files marked', () => {
    const maps = parseMaps(
      [
        '55d0a0000000-55d0a0001000 r--p 00000000 08:01 1234 /usr/bin/app',
        '55d0a0001000-55d0a0002000 r-xp 00001000 08:01 1234 /usr/bin/app',
        '7f0000000000-7f0000100000 rwxp 00000000 00:00 0 ',
        '7f1000000000-7f1000001000 r-xp 00002000 08:01 99 /tmp/lib.so (deleted)',
        '7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]',
      ].join('\n'),
    );
    assert.deepEqual(maps.map((m) => [m.start.toString(16), m.offset, m.path, m.deleted]), [
      ['55d0a0001000', 0x1000, '/usr/bin/app', false],
      ['7f0000000000', 0, '', false],
      ['7f1000000000', 0x2000, '/tmp/lib.so', true],
      ['7ffd00000000', 0, '[vdso]', false],
    ]);
    assert.equal(findMapping(maps, 0x7f00000000ff)?.start, 0x7f0000000000);
    assert.equal(findMapping(maps, 0x55d0a0000500), undefined);
    assert.equal(parseStartTicks('123 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20'), 4242);
    assert.equal(parseNsPid('Name:\tx\nNSpid:\t4321\t7\n', 4321), 7);
  });

  it('looks kernel addresses up in a kallsyms text (modules named, unreadable addresses refused)', () => {
    const path = join(dir.path, 'kallsyms');
    writeFileSync(path, 'ffffffff81000000 T _text\nffffffff81000100 T do_syscall_64\nffffffff81000200 d some_data\nffffffffc0001000 t nf_hook\t[nf_tables]\n');
    const k = new KernelSymbols(path);
    assert.equal(k.available, true);
    assert.deepEqual(k.lookup(0xffff81000150), { name: 'do_syscall_64', module: '[kernel.kallsyms]' });
    assert.deepEqual(k.lookup(0xffffc0001010), { name: 'nf_hook', module: '[nf_tables]' });
    writeFileSync(path, '0000000000000000 T _text\n0000000000000000 T do_syscall_64\n');
    assert.equal(new KernelSymbols(path).available, false);
  });
});

describe('symbolizer', () => {
  it('names frames of this very process: a libc function through its mapping, kernel symbols, unknown addresses kept', () => {
    const s = new Symbolizer({ maxFiles: 16, maxProcesses: 16, perfMaps: true });
    const proc = s.announce(process.pid, 'node', 0n);
    assert.equal(proc.name, 'node');
    const libc = readElf('/lib/x86_64-linux-gnu/libc.so.6');
    const mallocVaddr = libc.symbols.addresses[libc.symbols.names.indexOf('malloc')]!;
    const seg = libc.segments.find((x) => x.executable)!;
    const m = proc.maps.find((x) => x.path.endsWith('/libc.so.6') && x.offset <= mallocVaddr - seg.vaddr + seg.offset)!;
    const ip = m.start + (mallocVaddr - seg.vaddr + seg.offset - m.offset) + 4;
    const [leaf] = s.userFrames(proc, [ip]);
    assert.match(leaf!.function, /^(__libc_)?malloc$/); // or an alias at its address (from separate debug info, if installed)
    assert.equal(leaf!.kind, 'native');
    assert.equal(leaf!.buildId, libc.buildId);
    const [unknown] = s.userFrames(proc, [0x10]);
    assert.deepEqual(unknown, { function: '[unknown] 0x10', kind: 'unknown', module: '[unknown]', address: 0x10n });
    const kallsyms = execFileSync('grep', ['-m1', ' T do_syscall_64$', '/proc/kallsyms'], { encoding: 'utf8' });
    const addr = kallsyms.split(' ')[0]!;
    const [k] = s.kernelFrames([Number.parseInt(addr.slice(-12), 16) + 8]); // low 48 bits, as decodeStack gives them
    assert.equal(k!.function, 'do_syscall_64');
    assert.equal(k!.kind, 'kernel');
    assert.equal(k!.address, BigInt(`0x${addr}`) + 8n);
  });
});
