// What /proc tells about a (possible) JVM: whether libjvm.so is mapped and where from, where its
// hsperfdata file is mapped, its command line and main class, its identity (start time) and owner.
// Paths in /proc/PID/maps are as the process sees them (its mount namespace): they are opened
// through /proc/PID/root, which works for containers too.
import { readSmall } from '../../src/host/read.ts';

/** /proc/PID/root + a path the process sees: the same file, from bpfcol's namespace. */
export function viaRoot(pid: number, path: string, procRoot = '/proc'): string {
  return `${procRoot}/${pid}/root${path.startsWith('/') ? '' : '/'}${path}`;
}

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  inode: number;
  path: string;
}

/** Parses one /proc/PID/maps line (undefined for anonymous mappings and unparseable lines). */
export function parseMapsLine(line: string): Mapping | undefined {
  // start-end perms offset dev inode            path (the path may hold spaces; " (deleted)" may follow)
  const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ (\d+)\s+(\/.*)$/.exec(line);
  if (!m) return undefined;
  return { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perms: m[3]!, offset: BigInt(`0x${m[4]}`), inode: Number(m[5]), path: m[6]! };
}

export interface JvmMappings {
  /** Path of the mapped libjvm.so, as the process sees it. */
  libjvm?: string;
  /** The hsperfdata file's mapping (shared, read-write), when the JVM has one. */
  hsperfdata?: Mapping;
}

const HSPERF_PATH = /\/hsperfdata_[^/]+\/\d+$/;

/** libjvm.so and hsperfdata in a maps text. Cheap checks first: most lines are neither. */
export function findJvmMappings(maps: string): JvmMappings {
  const out: JvmMappings = {};
  let at = maps.indexOf('/libjvm.so');
  while (at >= 0 && !out.libjvm) {
    const lineStart = maps.lastIndexOf('\n', at) + 1;
    const lineEnd = maps.indexOf('\n', at);
    const m = parseMapsLine(maps.slice(lineStart, lineEnd < 0 ? maps.length : lineEnd));
    if (m && m.path.endsWith('/libjvm.so')) out.libjvm = m.path;
    at = maps.indexOf('/libjvm.so', at + 1);
  }
  at = maps.indexOf('/hsperfdata_');
  while (at >= 0 && !out.hsperfdata) {
    const lineStart = maps.lastIndexOf('\n', at) + 1;
    const lineEnd = maps.indexOf('\n', at);
    const m = parseMapsLine(maps.slice(lineStart, lineEnd < 0 ? maps.length : lineEnd));
    if (m && HSPERF_PATH.test(m.path) && m.offset === 0n) out.hsperfdata = m;
    at = maps.indexOf('/hsperfdata_', at + 1);
  }
  return out;
}

export function readMaps(pid: number, procRoot = '/proc'): string | undefined {
  return readSmall(`${procRoot}/${pid}/maps`);
}

/** The NUL-separated command line, or undefined when the process is gone. */
export function readCmdline(pid: number, procRoot = '/proc'): string[] | undefined {
  const text = readSmall(`${procRoot}/${pid}/cmdline`);
  if (text === undefined) return undefined;
  const args = Buffer.from(text, 'latin1').toString('utf8').split('\0');
  if (args.at(-1) === '') args.pop();
  return args;
}

/** The Java launcher's options that take the next argument as their value. */
const OPTIONS_WITH_VALUE = new Set([
  '-cp',
  '-classpath',
  '--class-path',
  '-p',
  '--module-path',
  '--upgrade-module-path',
  '--add-modules',
  '--limit-modules',
  '--add-exports',
  '--add-opens',
  '--add-reads',
  '--patch-module',
  '--enable-native-access',
  '--source',
  '-d',
  '--describe-module',
]);

export interface JavaMain {
  kind: 'class' | 'jar' | 'module' | 'source';
  /** The class ("com.example.Main"), jar path, module[/class] or source file. */
  value: string;
}

/**
 * What the `java` launcher runs, from its arguments (argv[0] excluded): the first argument that
 * is not an option or an option's value; `-jar x.jar`; `-m module[/class]`. Undefined when there
 * is none (java -version) or it comes from an @argfile.
 */
export function javaMainOf(args: readonly string[]): JavaMain | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-jar') return args[i + 1] !== undefined ? { kind: 'jar', value: args[i + 1]! } : undefined;
    if (a === '-m' || a === '--module') return args[i + 1] !== undefined ? { kind: 'module', value: args[i + 1]! } : undefined;
    if (a.startsWith('--module=')) return { kind: 'module', value: a.slice('--module='.length) };
    if (a.startsWith('@')) return undefined; // options from a file we do not read
    if (OPTIONS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a.endsWith('.java') ? { kind: 'source', value: a } : { kind: 'class', value: a };
  }
  return undefined;
}

export type CollectorFlag = 'g1' | 'parallel' | 'serial' | 'z' | 'shenandoah';

const COLLECTOR_FLAGS: Record<string, CollectorFlag> = {
  '-XX:+UseG1GC': 'g1',
  '-XX:+UseParallelGC': 'parallel',
  '-XX:+UseSerialGC': 'serial',
  '-XX:+UseZGC': 'z',
  '-XX:+UseShenandoahGC': 'shenandoah',
};

/** The collector a command line selects (the last -XX:+Use...GC flag), undefined when it names none. */
export function collectorFlagOf(argv: readonly string[]): CollectorFlag | undefined {
  let out: CollectorFlag | undefined;
  for (const a of argv) out = COLLECTOR_FLAGS[a] ?? out;
  return out;
}

/** The main class, jar or module of a java launcher's command line (argv[0] is a java executable), else undefined. */
export function mainOfCommandLine(argv: readonly string[]): JavaMain | undefined {
  const exe = argv[0]?.split('/').pop();
  if (exe !== 'java' && exe !== 'javaw') return undefined;
  return javaMainOf(argv.slice(1));
}

/** The name a main gets in metrics: the class, the module's class, or the jar's path. */
export function mainClassName(main: JavaMain | undefined): string | undefined {
  if (!main) return undefined;
  if (main.kind === 'module') return main.value.includes('/') ? main.value.slice(main.value.indexOf('/') + 1) : main.value;
  return main.value;
}

/** Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, what names a process uniquely. */
export function processStartTicks(pid: number, procRoot = '/proc'): number | undefined {
  const stat = readSmall(`${procRoot}/${pid}/stat`);
  if (!stat) return undefined;
  // comm (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[19]);
  return Number.isFinite(v) ? v : undefined;
}

export interface ProcessStatus {
  uid: number;
  /** The pid in the process's innermost pid namespace (what its hsperfdata file is named). */
  nsPid: number;
}

export function readStatus(pid: number, procRoot = '/proc'): ProcessStatus | undefined {
  const text = readSmall(`${procRoot}/${pid}/status`);
  if (!text) return undefined;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(text)?.[1]);
  const ns = /^NSpid:\s+([\d\s]+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  return { uid: Number.isFinite(uid) ? uid : -1, nsPid: Number(ns?.at(-1) ?? pid) };
}

/** User names by uid from an /etc/passwd text. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid) && !out.has(Number(uid))) out.set(Number(uid), name);
  }
  return out;
}

/** The user name of a uid as the process sees it (its /etc/passwd), else the host's, else the number. */
export function userName(pid: number, uid: number, procRoot = '/proc'): string {
  for (const path of [viaRoot(pid, '/etc/passwd', procRoot), '/etc/passwd']) {
    const text = readSmall(path);
    const name = text ? parsePasswd(text).get(uid) : undefined;
    if (name) return name;
  }
  return String(uid);
}

/** `KEY="value"` lines of a JDK's release file. */
export function parseRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Z_]+)="?([^"\n]*)"?$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** The JDK home of a libjvm.so path (…/lib/server/libjvm.so, or …/jre/lib/amd64/server/libjvm.so for Java 8). */
export function javaHomeOf(libjvm: string): string {
  const parts = libjvm.split('/');
  parts.pop(); // libjvm.so
  parts.pop(); // server (or client)
  if (parts.at(-1) !== 'lib') parts.pop(); // amd64 (Java 8)
  parts.pop(); // lib
  if (parts.at(-1) === 'jre') parts.pop();
  return parts.join('/') || '/';
}
