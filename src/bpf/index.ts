// The eBPF runtime receivers stand on. See bpf/ for the kernel side and the native addon.
export { BpfObject, bpfObjectPath, testObjectPath, type OpenOptions, type RodataValue } from './object.ts';
export { BpfProgram } from './program.ts';
export { Link } from './link.ts';
export { BpfMap, MapType, readCounter, type MapEntry, type PerCpuReducer, type UpdateMode } from './map.ts';
export { RingBuffer, RingBatch, type RingBufferOptions, type RingBufferStats } from './ringbuf.ts';
export { defineStruct, sumPerCpu, type StructLayout, type FieldSpec, type Decoded } from './layout.ts';
export { readKernelEnum, kernelEnumNames, type KernelEnumEntry } from './btf.ts';
export { probeKernel, formatProbeReport, checkRequirements, type ProbeReport, type KernelRequirements, type Check } from './probe.ts';
export { PerfType, PerfSoftware, PerfHardware, onlineCpus, parseCpuList, type PerfEventOptions } from './attach/perf-event.ts';
export type { UprobeOptions } from './attach/uprobe.ts';
export type { UsdtOptions } from './attach/usdt.ts';
