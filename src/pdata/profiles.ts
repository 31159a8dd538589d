// Profiles: bpfcol's internal form of sampled stacks, grouped like the other signals
// (resource → scope → profiles). Exporters turn it into pprof, flame graphs or OTLP profiles.
import type { InstrumentationScope, KeyValue, Resource } from './common.ts';

/** Where a frame's code lives; it decides a flame graph's colour. */
export type FrameKind = 'kernel' | 'native' | 'jit' | 'interpreted' | 'metadata' | 'unknown';

export interface Frame {
  /** The function name, or `module+0xoffset` when it could not be resolved. */
  function: string;
  kind: FrameKind;
  /** The file the code is mapped from (an ELF path, `[kernel]`, a perf map). */
  module?: string;
  address?: bigint;
  buildId?: string;
}

export interface Sample {
  /** Leaf first, as in pprof. */
  frames: Frame[];
  /** One value per sample type of the profile. */
  values: number[];
  attributes: KeyValue[];
}

export interface Profile {
  profileId?: string;
  sampleTypes: { type: string; unit: string }[];
  period: { type: string; unit: string; value: number };
  timeUnixNano: bigint;
  durationNano: bigint;
  samples: Sample[];
  attributes: KeyValue[];
}

export interface ScopeProfiles {
  scope?: InstrumentationScope;
  profiles: Profile[];
  schemaUrl?: string;
}

export interface ResourceProfiles {
  resource: Resource;
  scopeProfiles: ScopeProfiles[];
  schemaUrl?: string;
}

export interface ProfilesData {
  resourceProfiles: ResourceProfiles[];
}

/**
 * Frames naming where a profile's process runs, root first, from its resource attributes: the pod
 * (`pod <namespace>/<name>`, once a k8s processor added the names) and the container (its
 * k8s.container.name, else the first 12 digits of container.id). Flame graph and pprof exporters
 * put them at the root of every stack, above the process frames receivers add. (Added for the
 * perf_sampling receiver's exporters.)
 */
export function resourceFrames(resource: Resource): Frame[] {
  const get = (key: string): string | undefined => {
    const v = resource.attributes.find((a) => a.key === key)?.value;
    return v && 'stringValue' in v && v.stringValue !== '' ? v.stringValue : undefined;
  };
  const out: Frame[] = [];
  const pod = get('k8s.pod.name');
  if (pod) {
    const ns = get('k8s.namespace.name');
    out.push({ function: `pod ${ns ? `${ns}/` : ''}${pod}`, kind: 'metadata' });
  }
  const container = get('k8s.container.name') ?? get('container.id')?.slice(0, 12);
  if (container) out.push({ function: `container ${container}`, kind: 'metadata' });
  return out;
}

/** A sample's frames (leaf first) with its resource's frames at the root. */
export function framesWithResource(frames: readonly Frame[], rootFirst: readonly Frame[]): Frame[] {
  if (rootFirst.length === 0) return frames as Frame[];
  return [...frames, ...[...rootFirst].reverse()];
}
