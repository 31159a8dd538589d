// The hsperfdata reader: buffers of every shape built here, and real JVMs' files read while the
// JVM is stopped (SIGSTOP), compared counter by counter with the JDK's own reader (jstat -snap).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  HsperfFormatError,
  HsperfSnapshot,
  Units,
  Variability,
  buildHsperfdata,
  parseHeader,
  parseHsperfdata,
  readHsperfdata,
} from './hsperfdata.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { type CompiledPrograms, Workload, compilePrograms, installedJdks, until } from './testing.ts';

/** True once every thread of pid is in state T (stopped): SIGSTOP reaches running threads a little later. */
function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  });
}

describe('parseHsperfdata on built buffers', () => {
  const specs = [
    { name: 'sun.os.hrt.frequency', value: 1_000_000_000n, units: Units.HERTZ, variability: Variability.CONSTANT },
    { name: 'sun.rt.safepointTime', value: 2_500_000_000n, units: Units.TICKS, variability: Variability.MONOTONIC },
    { name: 'sun.gc.generation.0.space.0.used', value: 12_582_912n, units: Units.BYTES },
    { name: 'sun.gc.cause', value: 'No GC', vectorLength: 80 },
    { name: 'sun.rt.javaCommand', value: 'com.example.Main --port 8080' },
    { name: 'java.property.java.vm.name', value: 'OpenJDK 64-Bit Server VM' },
    { name: 'sun.raw.bytes', value: Uint8Array.from([1, 2, 3]) },
    { name: 'negative', value: -5n },
  ];

  for (const littleEndian of [true, false]) {
    it(`decodes every entry of a ${littleEndian ? 'little' : 'big'}-endian buffer`, () => {
      const data = parseHsperfdata(buildHsperfdata(specs, { littleEndian, size: 32768 }));
      assert.equal(data.header.littleEndian, littleEndian);
      assert.equal(data.header.accessible, true);
      assert.equal(data.header.numEntries, specs.length);
      assert.equal(data.skipped, 0);
      const s = new HsperfSnapshot(data);
      assert.equal(s.big('sun.os.hrt.frequency'), 1_000_000_000n);
      assert.equal(s.seconds('sun.rt.safepointTime'), 2.5);
      assert.equal(s.num('sun.gc.generation.0.space.0.used'), 12_582_912);
      assert.equal(s.str('sun.gc.cause'), 'No GC');
      assert.equal(s.str('sun.rt.javaCommand'), 'com.example.Main --port 8080');
      assert.deepEqual(data.entries.get('sun.raw.bytes')?.value, Uint8Array.from([1, 2, 3]));
      assert.equal(s.big('negative'), -5n);
      const cause = data.entries.get('sun.gc.cause')!;
      assert.equal(cause.vectorLength, 80);
      assert.equal(cause.units, Units.STRING);
      assert.equal(data.entries.get('sun.rt.safepointTime')?.variability, Variability.MONOTONIC);
      assert.deepEqual(s.namesWithPrefix('sun.rt.'), ['sun.rt.safepointTime', 'sun.rt.javaCommand']);
      assert.equal(s.num('missing'), undefined);
      assert.equal(s.str('sun.os.hrt.frequency'), undefined, 'a long is not a string');
    });
  }

  it('points dataOffset at the value in the buffer (where the kernel reads sun.gc.cause)', () => {
    const buf = buildHsperfdata(specs);
    const cause = parseHsperfdata(buf).entries.get('sun.gc.cause')!;
    assert.equal(buf.toString('latin1', cause.dataOffset, cause.dataOffset + 5), 'No GC');
  });

  it('refuses what is not hsperfdata, saying why', () => {
    assert.throws(() => parseHsperfdata(Buffer.alloc(10)), (e: unknown) => e instanceof HsperfFormatError && /shorter than the 32-byte prologue/.test((e as Error).message));
    assert.throws(() => parseHsperfdata(Buffer.alloc(64)), /bad magic 0x0 \(expected 0xcafec0c0\)/);
    const v1 = buildHsperfdata(specs);
    v1[5] = 1;
    assert.throws(() => parseHsperfdata(v1), /version 1\.0 \(only 2\.x is read\)/);
    const order = buildHsperfdata(specs);
    order[4] = 7;
    assert.throws(() => parseHsperfdata(order), /bad byte order 7/);
  });

  it('keeps the entries before a truncated one and counts the rest as skipped', () => {
    const full = buildHsperfdata(specs);
    const cut = full.subarray(0, full.length - 20);
    const data = parseHsperfdata(cut);
    assert.equal(data.entries.size, specs.length - 1);
    assert.equal(data.skipped, 1);
    assert.equal(new HsperfSnapshot(data).big('sun.os.hrt.frequency'), 1_000_000_000n);
  });

  it('skips an entry of an unknown type and reads on', () => {
    const buf = buildHsperfdata(specs);
    const first = parseHeader(buf).entryOffset;
    buf[first + 12] = 'Q'.charCodeAt(0);
    const data = parseHsperfdata(buf);
    assert.equal(data.skipped, 1);
    assert.equal(data.entries.has('sun.os.hrt.frequency'), false);
    assert.equal(data.entries.size, specs.length - 1);
  });

  it('stops at an entry whose length runs past the used bytes', () => {
    const buf = buildHsperfdata(specs);
    const first = parseHeader(buf).entryOffset;
    buf.writeUInt32LE(1 << 20, first);
    const data = parseHsperfdata(buf);
    assert.equal(data.entries.size, 0);
    assert.equal(data.skipped, specs.length);
  });

  it('reports a buffer the JVM has not finished creating', () => {
    assert.equal(parseHsperfdata(buildHsperfdata(specs, { accessible: false })).header.accessible, false);
  });
});

/** jstat -snap's lines: name=value, strings in double quotes. */
function jstatSnap(jstat: string, pid: number): Map<string, string> {
  const text = execFileSync(jstat, ['-J-Djstat.showUnsupported=true', '-snap', String(pid)], { encoding: 'utf8' });
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

describe('real JVMs against jstat -snap', () => {
  let programs: CompiledPrograms;
  before(() => {
    programs = compilePrograms();
  });
  after(() => programs?.cleanup());

  for (const jdk of installedJdks().filter((j) => j.jstat)) {
    it(`${jdk.name}: every counter jstat prints has the same value here`, async () => {
      const jvm = await Workload.start({ jdk, programs, jvmArgs: ['-Xmx64m'] });
      try {
        await jvm.command('gc');
        process.kill(jvm.pid, 'SIGSTOP'); // frozen: both readers see the same values
        await until('every thread of the JVM stopped', () => (allThreadsStopped(jvm.pid) ? true : undefined), 10_000, 10);
        let mine: HsperfSnapshot;
        let theirs: Map<string, string>;
        try {
          mine = readHsperfdata(`/tmp/hsperfdata_root/${jvm.pid}`);
          theirs = jstatSnap(jdk.jstat!, jvm.pid);
        } finally {
          process.kill(jvm.pid, 'SIGCONT');
        }
        assert.equal(mine.data.skipped, 0);
        assert.ok(theirs.size > 150, `jstat printed ${theirs.size} counters`);
        // jstat adds the prologue's fields as pseudo-counters.
        const h = mine.data.header;
        const prologue: Record<string, string> = {
          'sun.perfdata.majorVersion': String(h.majorVersion),
          'sun.perfdata.minorVersion': String(h.minorVersion),
          'sun.perfdata.overflow': String(h.overflow),
          'sun.perfdata.size': String(mine.size),
          'sun.perfdata.timestamp': String(h.modTimeStamp),
          'sun.perfdata.used': String(h.used),
        };
        for (const [name, text] of theirs) {
          if (name in prologue) {
            assert.equal(prologue[name], text, name);
            continue;
          }
          const e = mine.data.entries.get(name);
          assert.ok(e, `${name} is read`);
          const value = typeof e.value === 'string' ? `"${e.value}"` : String(e.value);
          assert.equal(value, text, name);
        }
        assert.equal(mine.str('sun.rt.javaCommand'), `Workload ${programs.payload}`);
        assert.equal(mine.str('sun.gc.lastCause'), 'System.gc()');
      } finally {
        await jvm.stop();
      }
    });
  }
});
