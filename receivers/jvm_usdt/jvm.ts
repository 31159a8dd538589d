// One JVM the receiver watches: who it is (the resource its metrics carry), what was attached to
// it, where its hsperfdata lives, and what was last read from it.
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Link } from '../../src/bpf/link.ts';
import { type CgroupIdIndex, describeProcessCgroup } from '../../src/host/cgroups.ts';
import { readSmall } from '../../src/host/read.ts';
import type { KeyValue } from '../../src/pdata/common.ts';
import { attributes } from '../../src/pdata/common.ts';
import type { ProcessFacts } from './filters.ts';
import type { HsperfSnapshot } from './hsperfdata.ts';
import { type RuntimeInfo, hsperfRuntime } from './hsperf-view.ts';
import { type CollectorFlag, collectorFlagOf, javaHomeOf, mainClassName, mainOfCommandLine, parseRelease, readCmdline, readStatus, userName, viaRoot } from './procfs.ts';

/** Resource attribute naming the main class (or -jar path): no semantic convention has one. */
export const MAIN_CLASS_ATTRIBUTE = 'jvm.main_class';

export type ProbeState =
  /** USDT programs attached. */
  | 'attached'
  /** The libjvm.so has no .note.stapsdt section. */
  | 'none'
  /** Attaching failed (the log says why). */
  | 'failed'
  /** probes: [] in the config. */
  | 'disabled';

export interface JvmIdentity {
  pid: number;
  /** /proc/PID/stat start time (ticks after boot): with the pid, what names the process. */
  startTicks: number;
}

/** What /proc says about a JVM when it is found; also the facts the filters look at. */
export interface JvmDescription extends ProcessFacts {
  startTicks: number;
  startUnixNano: bigint;
  /** libjvm.so as the process sees it. */
  libjvm: string;
  owner?: string;
  nsPid: number;
  cgroupId?: bigint;
  containerId?: string;
  podUid?: string;
  /** From the JDK's release file (hsperfdata's values replace it when read). */
  runtime: RuntimeInfo;
  /** The collector the command line selects, if it does. */
  collectorFlag?: CollectorFlag;
}

let bootTimeNs: bigint | undefined;
/** Kernel clock ticks per second for /proc/PID/stat times (USER_HZ: 100 on every Linux architecture bpfcol targets). */
const USER_HZ = 100n;

function bootTimeUnixNano(): bigint {
  if (bootTimeNs === undefined) {
    const btime = /^btime (\d+)$/m.exec(readSmall('/proc/stat') ?? '')?.[1];
    bootTimeNs = BigInt(btime ?? 0) * 1_000_000_000n;
  }
  return bootTimeNs;
}

/** Start time of a process from its stat ticks, in ns since the epoch. */
export function startUnixNanoOf(startTicks: number): bigint {
  return bootTimeUnixNano() + (BigInt(startTicks) * 1_000_000_000n) / USER_HZ;
}

/** The runtime a JDK's release file names (JAVA_RUNTIME_VERSION, IMPLEMENTOR). */
export function releaseRuntime(pid: number, libjvm: string): RuntimeInfo {
  const text = readSmall(viaRoot(pid, `${javaHomeOf(libjvm)}/release`));
  if (!text) return {};
  const r = parseRelease(text);
  const version = r.get('JAVA_RUNTIME_VERSION') ?? r.get('JAVA_VERSION');
  const vendor = r.get('IMPLEMENTOR');
  return { version, description: vendor && version ? `${vendor} ${version}` : undefined };
}

/** Describes a process known to map libjvm.so. Undefined when it is gone. */
export function describeJvm(pid: number, startTicks: number, libjvm: string, cgroupIds: CgroupIdIndex | undefined): JvmDescription | undefined {
  const argv = readCmdline(pid);
  const status = readStatus(pid);
  if (!argv || !status) return undefined;
  let exe: string | undefined;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    exe = argv[0];
  }
  const cgroup = describeProcessCgroup(pid, cgroupIds);
  return {
    pid,
    startTicks,
    startUnixNano: startUnixNanoOf(startTicks),
    exe,
    mainClass: mainClassName(mainOfCommandLine(argv)),
    cgroupPath: cgroup?.path,
    cgroupId: cgroup?.id,
    containerId: cgroup?.container?.id,
    podUid: cgroup?.pod?.uid,
    libjvm,
    owner: status.uid >= 0 ? userName(pid, status.uid) : undefined,
    nsPid: status.nsPid,
    runtime: releaseRuntime(pid, libjvm),
    collectorFlag: collectorFlagOf(argv),
  };
}

/**
 * service.name of a JVM, as the OpenTelemetry Java agent's jar detector names one: the jar's base
 * name without .jar, else the main class; unknown_service:java when neither is known.
 */
export function serviceNameOf(mainClass: string | undefined): string {
  if (!mainClass) return 'unknown_service:java';
  if (mainClass.endsWith('.jar')) return mainClass.split('/').pop()!.slice(0, -'.jar'.length) || 'unknown_service:java';
  return mainClass;
}

/**
 * The resource of a JVM's metrics and logs. service.instance.id (node name and host pid) keeps the
 * series of two JVMs apart where only service attributes name a source (Prometheus job/instance).
 */
export function jvmResource(d: JvmDescription): KeyValue[] {
  return attributes({
    'service.name': serviceNameOf(d.mainClass),
    'service.instance.id': `${hostname()}:${d.pid}`,
    'process.pid': d.pid,
    'process.executable.name': d.exe?.split('/').pop(),
    'process.executable.path': d.exe,
    'process.owner': d.owner,
    'process.runtime.name': d.runtime.name,
    'process.runtime.version': d.runtime.version,
    'process.runtime.description': d.runtime.description,
    [MAIN_CLASS_ATTRIBUTE]: d.mainClass,
    'container.id': d.containerId,
    'k8s.pod.uid': d.podUid,
    'container.cgroup.id': d.cgroupId,
    'container.cgroup.path': d.cgroupPath,
  });
}

/** The main class hsperfdata's sun.rt.javaCommand names ("Main args" or "app.jar args"). */
export function mainClassOfJavaCommand(command: string | undefined): string | undefined {
  const first = command?.trim().split(/\s+/)[0];
  return first || undefined;
}

export class TrackedJvm implements JvmIdentity {
  readonly pid: number;
  readonly startTicks: number;
  readonly description: JvmDescription;
  resource: KeyValue[];
  probes: ProbeState = 'disabled';
  links: Link[] = [];
  /** When the probes were attached (the start of the probe-based cumulative series). */
  attachUnixNano: bigint | undefined;
  /** hsperfdata file as bpfcol opens it, once found in the maps. */
  hsperfPath: string | undefined;
  /** Address of the hsperfdata mapping in the JVM. */
  hsperfAddress: bigint | undefined;
  /** Times the maps were searched for the hsperfdata mapping. */
  hsperfLookups = 0;
  /** The GC cause address was given to the programs. */
  causeGiven = false;
  hsperf: HsperfSnapshot | undefined;
  /** The exit was seen: detached, waiting for its last collection. */
  exited = false;
  /** mem__pool__gc__begin is attached (it is only where needed: see the receiver). */
  poolBegin = false;
  /** The probes its libjvm.so defines ("provider:name"). */
  available: ReadonlySet<string> | undefined;

  constructor(description: JvmDescription) {
    this.pid = description.pid;
    this.startTicks = description.startTicks;
    this.description = description;
    this.resource = jvmResource(description);
  }

  /** Takes runtime identity (and a main class the command line did not give) from a first hsperfdata read. */
  adoptHsperf(s: HsperfSnapshot): void {
    const first = this.hsperf === undefined;
    this.hsperf = s;
    if (!first) return;
    const d = this.description;
    const rt = hsperfRuntime(s);
    d.runtime = { name: rt.name ?? d.runtime.name, version: rt.version ?? d.runtime.version, description: rt.description ?? d.runtime.description };
    d.mainClass ??= mainClassOfJavaCommand(s.str('sun.rt.javaCommand'));
    this.resource = jvmResource(d);
  }
}
