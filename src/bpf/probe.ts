// What this kernel offers bpfcol, and what a set of receivers needs that it lacks. The lead wires
// `bpfcol probe` and the start-time refusal on top of probeKernel / checkRequirements.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { MapType } from './map.ts';
import { native } from './native.ts';
import { PerfSoftware, PerfType } from './attach/perf-event.ts';

export interface KernelRequirements {
  /** "category/name" (or "category:name") tracepoints, e.g. 'skb/kfree_skb'. */
  tracepoints?: string[];
  perfEvents?: boolean;
  uprobes?: boolean;
  ringBuffer?: boolean;
}

export interface Check {
  ok: boolean;
  /** What was found, or why not. */
  detail: string;
}

export interface ProbeReport {
  kernel: string;
  libbpf: string;
  privileges: Check;
  btf: Check;
  tracefs: Check;
  perfEvents: Check;
  uprobes: Check;
  ringBuffer: Check;
  /** One entry per tracepoint asked about. */
  tracepoints: Record<string, Check>;
}

export interface ProbeOptions {
  /** Tracepoints to look for under tracefs events/. */
  tracepoints?: string[];
  /** Mount tracefs at /sys/kernel/tracing when nothing is mounted (what attaching does anyway). Default true. */
  mountTracefs?: boolean;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
}

function probePrivileges(): Check {
  const caps = effectiveCaps();
  const has = (c: bigint) => (caps & (1n << c)) !== 0n;
  const uid = process.getuid?.() ?? -1;
  if (has(CAP_SYS_ADMIN)) return { ok: true, detail: `uid ${uid}, CAP_SYS_ADMIN` };
  if (has(CAP_BPF) && has(CAP_PERFMON)) return { ok: true, detail: `uid ${uid}, CAP_BPF + CAP_PERFMON` };
  const missing = [!has(CAP_BPF) && 'CAP_BPF', !has(CAP_PERFMON) && 'CAP_PERFMON'].filter(Boolean).join(' + ');
  return { ok: false, detail: `uid ${uid} lacks ${missing} (run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN for tracefs)` };
}

function probeBtf(): Check {
  const path = '/sys/kernel/btf/vmlinux';
  try {
    accessSync(path, constants.R_OK);
    return { ok: true, detail: path };
  } catch {
    return { ok: false, detail: `${path} missing: kernel built without CONFIG_DEBUG_INFO_BTF=y (CO-RE programs cannot load)` };
  }
}

function probeTracefs(mount: boolean): { check: Check; eventsDir?: string } {
  const addon = native();
  const status = addon.tracefsStatus();
  if (status.mounted) return { check: { ok: true, detail: `mounted (${status.eventsDir})` }, eventsDir: status.eventsDir };
  if (!mount) {
    return {
      check: { ok: false, detail: `not mounted; run as root: mount -t tracefs nodev /sys/kernel/tracing (bpfcol mounts it when it can)` },
    };
  }
  try {
    const r = addon.ensureTracefs();
    return { check: { ok: true, detail: `${r.mountedNow ? 'mounted now' : 'mounted'} (${r.eventsDir})` }, eventsDir: r.eventsDir };
  } catch (err) {
    return { check: { ok: false, detail: (err as Error).message } };
  }
}

function probePerf(): Check {
  const addon = native();
  const why = addon.probePerfEvent(PerfType.SOFTWARE, PerfSoftware.CPU_CLOCK);
  if (why) return { ok: false, detail: `perf_event_open(cpu-clock) failed: ${why}` };
  const hw = addon.probePerfEvent(PerfType.HARDWARE, 0);
  return { ok: true, detail: `software events (cpu-clock)${hw ? '; no hardware counters' : '; hardware counters'}` };
}

function probeUprobes(): Check {
  const path = '/sys/bus/event_source/devices/uprobe';
  return existsSync(`${path}/type`)
    ? { ok: true, detail: `${path} present` }
    : { ok: false, detail: `${path} missing: kernel built without CONFIG_UPROBE_EVENTS` };
}

function probeRingBuffer(): Check {
  const why = native().probeMapType(MapType.RINGBUF);
  return why ? { ok: false, detail: `BPF_MAP_TYPE_RINGBUF cannot be created: ${why} (needs Linux 5.8+)` } : { ok: true, detail: 'BPF_MAP_TYPE_RINGBUF' };
}

function splitTracepoint(tp: string): [string, string] {
  const [cat, name, ...rest] = tp.split(/[/:]/);
  if (!cat || !name || rest.length) throw new Error(`tracepoint '${tp}' must be 'category/name'`);
  return [cat, name];
}

export function probeKernel(options: ProbeOptions = {}): ProbeReport {
  const tracefs = probeTracefs(options.mountTracefs ?? true);
  const tracepoints: Record<string, Check> = {};
  for (const tp of options.tracepoints ?? []) {
    const [cat, name] = splitTracepoint(tp);
    if (!tracefs.eventsDir) {
      tracepoints[tp] = { ok: false, detail: 'unknown: tracefs is not mounted' };
      continue;
    }
    const dir = `${tracefs.eventsDir}/${cat}/${name}`;
    tracepoints[tp] = existsSync(`${dir}/id`) ? { ok: true, detail: dir } : { ok: false, detail: `${cat}:${name} does not exist in this kernel` };
  }
  return {
    kernel: release(),
    libbpf: native().libbpfVersion(),
    privileges: probePrivileges(),
    btf: probeBtf(),
    tracefs: tracefs.check,
    perfEvents: probePerf(),
    uprobes: probeUprobes(),
    ringBuffer: probeRingBuffer(),
    tracepoints,
  };
}

/** Human-readable report, one line per feature. */
export function formatProbeReport(report: ProbeReport): string {
  const line = (label: string, c: Check) => `${c.ok ? 'ok     ' : 'MISSING'}  ${label.padEnd(36)} ${c.detail}`;
  const lines = [
    `kernel ${report.kernel}, libbpf ${report.libbpf}`,
    line('privileges', report.privileges),
    line('BTF', report.btf),
    line('tracefs', report.tracefs),
    line('perf events', report.perfEvents),
    line('uprobes/USDT', report.uprobes),
    line('ring buffer', report.ringBuffer),
    ...Object.entries(report.tracepoints).map(([tp, c]) => line(`tracepoint ${tp}`, c)),
  ];
  return lines.join('\n');
}

/**
 * What is missing for `reqs`, one sentence each; empty when everything is there. BTF and
 * privileges are always required. Probes the kernel unless a report is given.
 */
export function checkRequirements(reqs: KernelRequirements, report?: ProbeReport): string[] {
  const r = report ?? probeKernel({ tracepoints: reqs.tracepoints ?? [] });
  const missing: string[] = [];
  if (!r.privileges.ok) missing.push(`privileges: ${r.privileges.detail}`);
  if (!r.btf.ok) missing.push(`BTF: ${r.btf.detail}`);
  if (reqs.tracepoints?.length && !r.tracefs.ok) missing.push(`tracefs: ${r.tracefs.detail}`);
  for (const tp of reqs.tracepoints ?? []) {
    const c = r.tracepoints[tp];
    if (!c) missing.push(`tracepoint ${tp}: not probed`);
    else if (!c.ok && r.tracefs.ok) missing.push(`tracepoint ${tp}: ${c.detail}`);
  }
  if (reqs.perfEvents && !r.perfEvents.ok) missing.push(`perf events: ${r.perfEvents.detail}`);
  if (reqs.uprobes && !r.uprobes.ok) missing.push(`uprobes: ${r.uprobes.detail}`);
  if (reqs.ringBuffer && !r.ringBuffer.ok) missing.push(`ring buffer: ${r.ringBuffer.detail}`);
  return missing;
}
