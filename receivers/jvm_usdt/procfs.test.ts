// /proc parsing: maps lines, the JVM's mappings, the java launcher's main, passwd, release files,
// and the same read from a real JVM.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  collectorFlagOf,
  findJvmMappings,
  javaHomeOf,
  javaMainOf,
  mainClassName,
  mainOfCommandLine,
  parseMapsLine,
  parsePasswd,
  parseRelease,
  processStartTicks,
  readCmdline,
  readMaps,
  readStatus,
  userName,
  viaRoot,
} from './procfs.ts';
import { type CompiledPrograms, Workload, compilePrograms, debianJdk } from './testing.ts';
import { mainClassOfJavaCommand, serviceNameOf } from './jvm.ts';

const MAPS = `55d4c5a00000-55d4c5a01000 r--p 00000000 fe:00 315090                     /usr/lib/jvm/java-17-openjdk-amd64/bin/java
7ff21e000000-7ff21e251000 r--p 00000000 fe:00 315152                     /usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so
7ff21e251000-7ff21efa4000 r-xp 00251000 fe:00 315152                     /usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so
7ff21f3b4000-7ff21f3bc000 rw-s 00000000 fe:00 9987550                    /tmp/hsperfdata_app user/11891
7ff21f3c0000-7ff21f3c8000 rw-p 00000000 00:00 0 
7ffd1c9e0000-7ffd1ca01000 rw-p 00000000 00:00 0                          [stack]
`;

describe('maps', () => {
  it('parses a file mapping, with spaces in its path; anonymous ones are not', () => {
    assert.deepEqual(parseMapsLine('7ff21f3b4000-7ff21f3bc000 rw-s 00000000 fe:00 9987550                    /tmp/hsperfdata_app user/11891'), {
      start: 0x7ff21f3b4000n,
      end: 0x7ff21f3bc000n,
      perms: 'rw-s',
      offset: 0n,
      inode: 9987550,
      path: '/tmp/hsperfdata_app user/11891',
    });
    assert.equal(parseMapsLine('7ff21f3c0000-7ff21f3c8000 rw-p 00000000 00:00 0 '), undefined);
    assert.equal(parseMapsLine('7ffd1c9e0000-7ffd1ca01000 rw-p 00000000 00:00 0                          [stack]'), undefined);
  });

  it('finds libjvm.so and the hsperfdata mapping', () => {
    const m = findJvmMappings(MAPS);
    assert.equal(m.libjvm, '/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so');
    assert.equal(m.hsperfdata?.path, '/tmp/hsperfdata_app user/11891');
    assert.equal(m.hsperfdata?.start, 0x7ff21f3b4000n);
  });

  it('finds nothing in a process without a JVM, nor in look-alike names', () => {
    assert.deepEqual(findJvmMappings('7ff21e000000-7ff21e251000 r--p 00000000 fe:00 1 /opt/libjvm.so.bak\n7ff21e000000-7ff21e251000 r--p 00000000 fe:00 1 /tmp/hsperfdata_x/notapid\n'), {});
    assert.deepEqual(findJvmMappings(''), {});
  });
});

describe('the java launcher command line', () => {
  const cases: [string[], ReturnType<typeof javaMainOf>][] = [
    [['Main'], { kind: 'class', value: 'Main' }],
    [['-Xmx1g', '-cp', 'a.jar:b.jar', 'com.example.Main', '--port', '8080'], { kind: 'class', value: 'com.example.Main' }],
    [['-classpath', '/x', '-Dfoo=bar', '-XX:+UseG1GC', 'App'], { kind: 'class', value: 'App' }],
    [['--class-path', '/x', '--add-opens', 'java.base/java.lang=ALL-UNNAMED', 'App'], { kind: 'class', value: 'App' }],
    [['--class-path=/x', 'App'], { kind: 'class', value: 'App' }],
    [['-jar', '/srv/app.jar', 'serve'], { kind: 'jar', value: '/srv/app.jar' }],
    [['-Xss1m', '-m', 'my.mod/com.example.Main'], { kind: 'module', value: 'my.mod/com.example.Main' }],
    [['--module-path', 'mods', '--module=my.mod'], { kind: 'module', value: 'my.mod' }],
    [['--source', '21', 'Hello.java'], { kind: 'source', value: 'Hello.java' }],
    [['Hello.java', 'arg'], { kind: 'source', value: 'Hello.java' }],
    [['-version'], undefined],
    [['@argfile'], undefined],
    [['-jar'], undefined],
  ];
  for (const [args, want] of cases) {
    it(`java ${args.join(' ')}`, () => assert.deepEqual(javaMainOf(args), want));
  }

  it('finds the collector the flags select (the last one wins)', () => {
    assert.equal(collectorFlagOf(['java', '-XX:+UseZGC', 'Main']), 'z');
    assert.equal(collectorFlagOf(['java', '-XX:+UseParallelGC', '-XX:+UseShenandoahGC', 'Main']), 'shenandoah');
    assert.equal(collectorFlagOf(['java', '-XX:-UseZGC', 'Main']), undefined);
  });

  it('only reads java launchers; names the module class or the jar', () => {
    assert.equal(mainOfCommandLine(['/usr/bin/python3', 'Main']), undefined);
    assert.deepEqual(mainOfCommandLine(['/usr/lib/jvm/x/bin/java', 'Main']), { kind: 'class', value: 'Main' });
    assert.equal(mainClassName({ kind: 'module', value: 'my.mod/com.example.Main' }), 'com.example.Main');
    assert.equal(mainClassName({ kind: 'module', value: 'my.mod' }), 'my.mod');
    assert.equal(mainClassName({ kind: 'jar', value: '/srv/app.jar' }), '/srv/app.jar');
    assert.equal(mainClassName(undefined), undefined);
  });
});

describe('files', () => {
  it('passwd, release, JDK homes, /proc/PID/root paths', () => {
    assert.deepEqual(parsePasswd('root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n# c\nbad\n'), new Map([[0, 'root'], [65534, 'nobody']]));
    assert.deepEqual(parseRelease('IMPLEMENTOR="Debian"\nJAVA_RUNTIME_VERSION="17.0.15+6-Debian-1deb12u1"\nOS_ARCH=x86_64\n'), new Map([['IMPLEMENTOR', 'Debian'], ['JAVA_RUNTIME_VERSION', '17.0.15+6-Debian-1deb12u1'], ['OS_ARCH', 'x86_64']]));
    assert.equal(javaHomeOf('/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so'), '/usr/lib/jvm/java-17-openjdk-amd64');
    assert.equal(javaHomeOf('/usr/lib/jvm/java-8/jre/lib/amd64/server/libjvm.so'), '/usr/lib/jvm/java-8');
    assert.equal(viaRoot(42, '/tmp/x'), '/proc/42/root/tmp/x');
  });

  it('service.name as the Java agent names it; the main of sun.rt.javaCommand', () => {
    assert.equal(serviceNameOf('/srv/orders-service.jar'), 'orders-service');
    assert.equal(serviceNameOf('com.example.Main'), 'com.example.Main');
    assert.equal(serviceNameOf(undefined), 'unknown_service:java');
    assert.equal(mainClassOfJavaCommand('Workload /tmp/x'), 'Workload');
    assert.equal(mainClassOfJavaCommand(''), undefined);
  });
});

describe('a real JVM', () => {
  let programs: CompiledPrograms;
  let jvm: Workload;
  before(async () => {
    programs = compilePrograms();
    jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx64m'] });
  });
  after(async () => {
    await jvm?.stop();
    programs?.cleanup();
  });

  it('shows its libjvm, hsperfdata, main class, identity and owner in /proc', () => {
    const maps = findJvmMappings(readMaps(jvm.pid)!);
    assert.equal(maps.libjvm, debianJdk().libjvm);
    assert.equal(maps.hsperfdata?.path, `/tmp/hsperfdata_root/${jvm.pid}`);
    assert.deepEqual(mainOfCommandLine(readCmdline(jvm.pid)!), { kind: 'class', value: 'Workload' });
    assert.ok((processStartTicks(jvm.pid) ?? 0) > 0);
    assert.equal(processStartTicks(process.pid + 1_000_000), undefined);
    const status = readStatus(jvm.pid)!;
    assert.deepEqual(status, { uid: 0, nsPid: jvm.pid });
    assert.equal(userName(jvm.pid, status.uid), 'root');
  });
});
