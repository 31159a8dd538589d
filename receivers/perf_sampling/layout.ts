// Mirrors of the structs in bpf/perf_sampling.h: keep the two in step. The receiver checks each
// against the compiled object's BTF when it opens it (BpfObject.checkLayout).
import { defineStruct } from '../../src/bpf/layout.ts';

/** PERF_MAX_DEPTH: frames per stack-map entry. */
export const MAX_DEPTH = 127;

/** PERF_NO_STACK: a stack that was not asked for (not a loss). */
export const NO_STACK = -1;

/** PERF_OVERFLOW_STACK: set in ids of the overflow stack map. */
export const OVERFLOW_STACK = 0x40000000;

/** struct perf_sample_key */
export const SampleKey = defineStruct({
  cgroup_id: 'u64',
  tgid: 'u32',
  pid: 'u32',
  user_stack_id: 's32',
  kernel_stack_id: 's32',
  comm: ['char', 16],
});
export type SampleKey = ReturnType<typeof SampleKey.decode>;

/** struct perf_new_process */
export const NewProcess = defineStruct({
  cgroup_id: 'u64',
  tgid: 'u32',
  _pad: 'u32',
  comm: ['char', 16],
});
export type NewProcess = ReturnType<typeof NewProcess.decode>;

export const LAYOUTS = { perf_sample_key: SampleKey, perf_new_process: NewProcess } as const;
