// One window of samples: every drain of the kernel maps inside it is symbolized at once (stack ids
// only mean something until their map is cleared) and added here; at the window's end, build()
// makes one profile per process (or per container) with the identical stacks merged.
import { randomBytes } from 'node:crypto';
import { type KeyValue, attributes } from '../../src/pdata/common.ts';
import type { Frame, Profile, ProfilesData, ResourceProfiles } from '../../src/pdata/profiles.ts';
import { VERSION } from '../../src/version.ts';
import type { Drained } from './kernel.ts';
import { NO_STACK, OVERFLOW_STACK } from './layout.ts';
import type { ProcessInfo } from './symbolize/processes.ts';
import type { Symbolizer } from './symbolize/symbolizer.ts';

export const SCOPE = { name: 'bpfcol/perf_sampling', version: VERSION };

export interface WindowOptions {
  frequency: number;
  groupBy: 'process' | 'container';
  processFrames: boolean;
  threadFrames: boolean;
}

interface Aggregated {
  frames: Frame[];
  count: number;
  tid: number;
  thread: string;
}

interface Group {
  resource: KeyValue[];
  samples: Map<string, Aggregated>;
}

/** Samples of one process in one drain, for the samples metric. */
export interface ProcessSamples {
  process: ProcessInfo;
  user: number;
  system: number;
}

const ERRNO_TEXT: Record<number, string> = { 17: 'bucket taken (collision)', 14: 'could not be walked', 12: 'no memory', 7: 'too deep' };

/** The frame standing for a stack the kernel could not keep, so its samples still count. */
export function lostStackFrame(where: 'user' | 'kernel', id: number): Frame {
  const why = ERRNO_TEXT[-id] ?? `error ${-id}`;
  return { function: `[lost ${where} stack: ${why}]`, kind: 'unknown', module: `[${where}]` };
}

/** Resource attributes of a process (the resources receiver's names). */
export function processResource(p: ProcessInfo): KeyValue[] {
  return attributes({
    'process.pid': p.tgid,
    'process.executable.name': p.name,
    'process.executable.path': p.exePath,
    'container.id': p.containerId,
    'k8s.pod.uid': p.podUid,
    'container.cgroup.id': p.cgroupId > 0n ? p.cgroupId : undefined,
    'container.cgroup.path': p.cgroupPath,
  });
}

export class Window {
  readonly startUnixNano: bigint;
  readonly #options: WindowOptions;
  readonly #groups = new Map<string, Group>();
  readonly #frameIds = new Map<Frame, number>();
  /** Process frames by pid, thread frames by tid, with the name they were made for (an exec renames). */
  readonly #processFrames = new Map<number, { name: string; frame: Frame }>();
  readonly #threadFrames = new Map<number, { name: string; frame: Frame }>();
  samples = 0;

  constructor(startUnixNano: bigint, options: WindowOptions) {
    this.startUnixNano = startUnixNano;
    this.#options = options;
  }

  #frameId(f: Frame): number {
    let id = this.#frameIds.get(f);
    if (id === undefined) {
      id = this.#frameIds.size;
      this.#frameIds.set(f, id);
    }
    return id;
  }

  #meta(cache: Map<number, { name: string; frame: Frame }>, id: number, name: string, text: () => string): Frame {
    let e = cache.get(id);
    if (!e || e.name !== name) {
      e = { name, frame: { function: text(), kind: 'metadata' } };
      cache.set(id, e);
    }
    return e.frame;
  }

  #stack(drained: Drained, id: number, where: 'user' | 'kernel', symbolize: (ips: number[]) => Frame[]): Frame[] {
    if (id === NO_STACK) return [];
    if (id < 0) return [lostStackFrame(where, id)];
    const ips = drained.stacks.get(id);
    if (!ips) return [{ function: `[missing ${where} stack ${id & ~OVERFLOW_STACK}]`, kind: 'unknown', module: `[${where}]` }];
    return symbolize(ips);
  }

  /**
   * Symbolizes and adds one drain; returns the samples per process it held. Mangled names are
   * demangled when the caller awaits symbolizer.endRound().
   */
  add(drained: Drained, symbolizer: Symbolizer): ProcessSamples[] {
    symbolizer.beginRound();
    const perProcess = new Map<number, ProcessSamples>();
    for (const { key, count } of drained.samples) {
      const proc = symbolizer.process(key.tgid, key.comm, key.cgroup_id);
      const kernel = this.#stack(drained, key.kernel_stack_id, 'kernel', (ips) => symbolizer.kernelFrames(ips));
      const user = this.#stack(drained, key.user_stack_id, 'user', (ips) => symbolizer.userFrames(proc, ips));
      const frames = [...kernel, ...user];
      if (this.#options.threadFrames) frames.push(this.#meta(this.#threadFrames, key.pid, key.comm, () => `${key.comm} (tid ${key.pid})`));
      if (this.#options.processFrames) {
        frames.push(this.#meta(this.#processFrames, key.tgid, proc.name, () => (key.tgid === 0 ? 'idle (pid 0)' : `${proc.name} (pid ${key.tgid})`)));
      }
      const groupKey = this.#options.groupBy === 'container' && proc.containerId ? `c:${proc.containerId}` : `p:${key.tgid}:${proc.startTicks ?? ''}`;
      let group = this.#groups.get(groupKey);
      if (!group) {
        group = { resource: this.#resource(proc), samples: new Map() };
        this.#groups.set(groupKey, group);
      }
      const sampleKey = `${key.pid}|${frames.map((f) => this.#frameId(f)).join(',')}`;
      const agg = group.samples.get(sampleKey);
      if (agg) agg.count += count;
      else group.samples.set(sampleKey, { frames, count, tid: key.pid, thread: key.comm });
      this.samples += count;

      let ps = perProcess.get(key.tgid);
      if (!ps) {
        ps = { process: proc, user: 0, system: 0 };
        perProcess.set(key.tgid, ps);
      }
      // A kernel stack was taken (or lost) only for samples that interrupted kernel code.
      if (key.kernel_stack_id !== NO_STACK) ps.system += count;
      else ps.user += count;
    }
    return [...perProcess.values()];
  }

  #resource(p: ProcessInfo): KeyValue[] {
    if (this.#options.groupBy === 'container' && p.containerId) {
      return attributes({ 'container.id': p.containerId, 'k8s.pod.uid': p.podUid, 'container.cgroup.path': p.cgroupPath });
    }
    return processResource(p);
  }

  /** One profile per group, or an empty batch when nothing was sampled. */
  build(endUnixNano: bigint): ProfilesData {
    const periodNs = Math.round(1e9 / this.#options.frequency);
    const resourceProfiles: ResourceProfiles[] = [];
    for (const group of this.#groups.values()) {
      const profile: Profile = {
        profileId: randomBytes(16).toString('hex'),
        sampleTypes: [
          { type: 'samples', unit: 'count' },
          { type: 'cpu', unit: 'nanoseconds' },
        ],
        period: { type: 'cpu', unit: 'nanoseconds', value: periodNs },
        timeUnixNano: this.startUnixNano,
        durationNano: endUnixNano - this.startUnixNano,
        samples: [...group.samples.values()].map((s) => ({
          frames: s.frames,
          values: [s.count, s.count * periodNs],
          attributes: attributes({ 'thread.id': s.tid, 'thread.name': s.thread }),
        })),
        attributes: attributes({ 'profile.frequency': this.#options.frequency }),
      };
      resourceProfiles.push({ resource: { attributes: group.resource }, scopeProfiles: [{ scope: SCOPE, profiles: [profile] }] });
    }
    return { resourceProfiles };
  }
}
