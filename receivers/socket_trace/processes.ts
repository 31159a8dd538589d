// Who a connection belongs to, as an OpenTelemetry resource: service.name (the process's own
// OTEL_SERVICE_NAME or service.name in OTEL_RESOURCE_ATTRIBUTES, else the name it was started as),
// process.pid, process.executable.name, host.name, container.cgroup.id, container.id. Read once per
// process from /proc (root can read any process's environment); a process gone before it is read
// keeps the name the kernel gave.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { containerFromCgroupPath, primaryCgroupPath, readProcessCgroups } from '../../src/host/cgroups.ts';
import type { KeyValue } from '../../src/pdata/common.ts';

export interface ProcessResource {
  /** Identity for grouping spans and metric series (pid and start time). */
  key: string;
  serviceName: string;
  attributes: KeyValue[];
}

const MAX_PROCESSES = 4096;

function readEnviron(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      if (entry.startsWith('OTEL_')) {
        const eq = entry.indexOf('=');
        if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
      }
    }
  } catch {
    // gone, or not readable: the executable's name stands in
  }
  return out;
}

/** service.name from OTEL_RESOURCE_ATTRIBUTES (key=value,key=value, percent-encoded values). */
function serviceFromResourceAttributes(text: string | undefined): string | undefined {
  if (!text) return undefined;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === 'service.name') {
      try {
        return decodeURIComponent(pair.slice(eq + 1).trim()) || undefined;
      } catch {
        return pair.slice(eq + 1).trim() || undefined;
      }
    }
  }
  return undefined;
}

export class ProcessResources {
  readonly #cache = new Map<string, ProcessResource>();
  /** By pid and start time alone: the resource get() made last (what the kernel's histograms name). */
  readonly #byStart = new Map<string, ProcessResource>();
  readonly #host = hostname();

  /** The resource of process `pid` started at `startTime` that get() made last, if any. */
  find(pid: number, startTime: bigint): ProcessResource | undefined {
    return this.#byStart.get(`${pid}/${startTime}`);
  }

  /** The resource of process `pid` started at `startTime` (kernel ns), `comm` its name as the kernel saw it. */
  get(pid: number, startTime: bigint, comm: string, cgroupId: bigint): ProcessResource {
    const key = `${pid}/${startTime}/${comm}`; // comm too: an exec keeps pid and start time
    let r = this.#cache.get(key);
    if (r) return r;
    let exe: string | undefined;
    try {
      exe = basename(readlinkSync(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
    } catch {
      exe = undefined;
    }
    const env = readEnviron(pid);
    // The name it was started as: the kernel's comm (the name execve was given: redis-server, a
    // symlink to redis-check-rdb), unless comm is only the executable's name cut to 15 bytes.
    const started = comm && !(exe ?? '').startsWith(comm) ? comm : exe || comm;
    const serviceName = env.get('OTEL_SERVICE_NAME') || serviceFromResourceAttributes(env.get('OTEL_RESOURCE_ATTRIBUTES')) || started || 'unknown_service';
    const attributes: KeyValue[] = [
      { key: 'service.name', value: { stringValue: serviceName } },
      { key: 'process.pid', value: { intValue: BigInt(pid) } },
    ];
    const exeName = exe ?? comm;
    if (exeName) attributes.push({ key: 'process.executable.name', value: { stringValue: exeName } });
    attributes.push({ key: 'host.name', value: { stringValue: this.#host } });
    if (cgroupId > 0n) attributes.push({ key: 'container.cgroup.id', value: { intValue: cgroupId } });
    const cgroups = readProcessCgroups(pid);
    const path = cgroups ? primaryCgroupPath(cgroups) : undefined;
    const container = path ? containerFromCgroupPath(path) : undefined;
    if (container) attributes.push({ key: 'container.id', value: { stringValue: container.id } });
    r = { key, serviceName, attributes };
    if (this.#cache.size >= MAX_PROCESSES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, r);
    const byStart = `${pid}/${startTime}`;
    this.#byStart.delete(byStart); // re-inserted: the oldest go first
    if (this.#byStart.size >= MAX_PROCESSES) this.#byStart.delete(this.#byStart.keys().next().value!);
    this.#byStart.set(byStart, r);
    return r;
  }

  /** Forgets processes that are gone. */
  forget(key: string): void {
    this.#cache.delete(key);
  }
}
