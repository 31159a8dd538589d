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
