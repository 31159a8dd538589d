// TypeScript mirrors of the structs in bpf/jvm_usdt.h: keep the two in step (the tests compare
// every layout with the object's BTF through BpfObject.checkLayout).
import { defineStruct } from '../../src/bpf/layout.ts';

/** JVM_NAME_LEN, JVM_CAUSE_LEN, JVM_MAX_BOUNDS in bpf/jvm_usdt.h. */
export const NAME_LEN = 64;
export const CAUSE_LEN = 64;
export const MAX_BOUNDS = 16;
export const BUCKETS = MAX_BOUNDS + 1;

/** JVM_GC_* */
export const GcAction = { MINOR: 0, MAJOR: 1, CONCURRENT: 2 } as const;
/** JVM_PROC_* */
export const ProcEventKind = { EXEC: 1, EXIT: 2 } as const;

/** Mirrors struct jvm_hist. */
export const Hist = defineStruct({ count: 'u64', sum_ns: 'u64', buckets: ['u64', BUCKETS] });
/** Mirrors struct jvm_gc_key. */
export const GcKey = defineStruct({ pid: 'u32', action: 'u32', manager: ['char', NAME_LEN] });
/** Mirrors struct jvm_pool_key. */
export const PoolKey = defineStruct({ pid: 'u32', _pad: 'u32', pool: ['char', NAME_LEN] });
/** Mirrors struct jvm_usage. */
export const Usage = defineStruct({ init: 'u64', used: 'u64', committed: 'u64', max: 'u64' });
/** Mirrors struct jvm_pool_value. */
export const PoolValue = defineStruct({
  collections: 'u64',
  end_ns: 'u64',
  before: Usage,
  after: Usage,
});
/** Mirrors struct jvm_pool_begin_key. */
export const PoolBeginKey = defineStruct({ tid: 'u32', _pad: 'u32', pool: ['char', NAME_LEN] });
/** Mirrors struct jvm_counts. */
export const Counts = defineStruct({
  classes_loaded: 'u64',
  shared_classes_loaded: 'u64',
  classes_unloaded: 'u64',
  threads_started: ['u64', 2],
  threads_stopped: ['u64', 2],
});
/** Mirrors struct jvm_vmop_key. */
export const VmopKey = defineStruct({ pid: 'u32', _pad: 'u32', name: ['char', NAME_LEN] });
/** Mirrors struct jvm_info. */
export const JvmInfo = defineStruct({ cause_addr: 'u64', cause_len: 'u32', _pad: 'u32' });
/** Mirrors struct jvm_gc_state. */
export const GcState = defineStruct({
  begin_ns: 'u64',
  used_before: 'u64',
  used_after: 'u64',
  pools_open: 'u32',
  action: 'u8',
  marker: 'u8',
  _pad: ['u8', 2],
  manager: ['char', NAME_LEN],
  cause: ['char', CAUSE_LEN],
});
/** Mirrors struct jvm_gc_event. */
export const GcEvent = defineStruct({
  begin_ns: 'u64',
  duration_ns: 'u64',
  used_before: 'u64',
  used_after: 'u64',
  pid: 'u32',
  tid: 'u32',
  action: 'u32',
  _pad: 'u32',
  manager: ['char', NAME_LEN],
  cause: ['char', CAUSE_LEN],
});
/** Mirrors struct jvm_proc_event. */
export const ProcEvent = defineStruct({ pid: 'u32', kind: 'u32' });

export type HistValue = ReturnType<typeof Hist.decode>;
export type PoolValueT = ReturnType<typeof PoolValue.decode>;
export type CountsValue = ReturnType<typeof Counts.decode>;
export type GcEventT = ReturnType<typeof GcEvent.decode>;

/** Every mirrored struct by its C name, for checkLayout. */
export const LAYOUTS = {
  jvm_hist: Hist,
  jvm_gc_key: GcKey,
  jvm_pool_key: PoolKey,
  jvm_usage: Usage,
  jvm_pool_value: PoolValue,
  jvm_pool_begin_key: PoolBeginKey,
  jvm_counts: Counts,
  jvm_vmop_key: VmopKey,
  jvm_info: JvmInfo,
  jvm_gc_state: GcState,
  jvm_gc_event: GcEvent,
  jvm_proc_event: ProcEvent,
} as const;
