// Every metric the resources receiver emits. Names, units, instruments and attributes follow the
// OpenTelemetry semantic conventions 1.45 (the @opentelemetry/semantic-conventions package in
// node_modules) wherever they define one; the few they lack are named in the same style, as the
// Collector's hostmetrics (load averages, inodes) and docker_stats (throttling, pids) receivers do,
// and marked "bpfcol" in the README.
import type { MetricSpec } from './builder.ts';

const counter = (name: string, unit: string, description: string, value: 'int' | 'double' = 'int'): MetricSpec => ({
  name,
  unit,
  description,
  instrument: 'counter',
  value,
});
const level = (name: string, unit: string, description: string): MetricSpec => ({ name, unit, description, instrument: 'updowncounter', value: 'int' });
const gauge = (name: string, unit: string, description: string): MetricSpec => ({ name, unit, description, instrument: 'gauge', value: 'double' });

export const NODE = {
  cpuTime: counter('system.cpu.time', 's', 'Seconds each logical CPU spent on each mode (/proc/stat)', 'double'),
  cpuCount: level('system.cpu.logical.count', '{cpu}', 'Logical CPUs (/proc/stat)'),
  load1: gauge('system.cpu.load_average.1m', '{thread}', 'Load average over 1 minute (/proc/loadavg)'),
  load5: gauge('system.cpu.load_average.5m', '{thread}', 'Load average over 5 minutes (/proc/loadavg)'),
  load15: gauge('system.cpu.load_average.15m', '{thread}', 'Load average over 15 minutes (/proc/loadavg)'),
  memoryUsage: level('system.memory.usage', 'By', 'Memory by state: used (MemTotal - MemAvailable) and available (MemAvailable)'),
  memoryLimit: level('system.memory.limit', 'By', 'Total memory (MemTotal)'),
  podCount: level('k8s.pod.count', '{pod}', "Pods on this node per namespace (k8s.namespace.name), from the k8s_metadata processor's cache; deleted pods excluded"),
  memoryShared: level('system.memory.linux.shared', 'By', 'Shared memory, mostly tmpfs (Shmem)'),
  memorySlab: level('system.memory.linux.slab.usage', 'By', 'Kernel slab memory by state (SReclaimable, SUnreclaim)'),
  memoryCached: level('system.memory.linux.cached', 'By', 'Page cache (Cached)'),
  memoryBuffers: level('system.memory.linux.buffers', 'By', 'Block device buffers (Buffers)'),
  memoryFree: level('system.memory.linux.free', 'By', 'Memory not used at all (MemFree)'),
  pagingUsage: level('system.paging.usage', 'By', 'Swap by state (SwapTotal - SwapFree, SwapFree)'),
  diskIo: counter('system.disk.io', 'By', 'Disk bytes transferred (/proc/diskstats)'),
  diskOperations: counter('system.disk.operations', '{operation}', 'Disk operations completed (/proc/diskstats)'),
  diskIoTime: counter('system.disk.io_time', 's', 'Time the disk had I/O in flight (/proc/diskstats field 13)', 'double'),
  diskOperationTime: counter('system.disk.operation_time', 's', 'Sum of the time each operation took (/proc/diskstats fields 7 and 11)', 'double'),
  diskMerged: counter('system.disk.merged', '{operation}', 'Operations merged into others (/proc/diskstats)'),
  networkIo: counter('system.network.io', 'By', 'Bytes received and transmitted (/proc/net/dev)'),
  networkPackets: counter('system.network.packet.count', '{packet}', 'Packets received and transmitted (/proc/net/dev)'),
  networkErrors: counter('system.network.errors', '{error}', 'Receive and transmit errors (/proc/net/dev errs)'),
  networkDropped: counter('system.network.packet.dropped', '{packet}', 'Packets dropped without an error (/proc/net/dev drop)'),
  filesystemUsage: level('system.filesystem.usage', 'By', 'File system space by state: used, free (to unprivileged users), reserved (statfs)'),
  filesystemLimit: level('system.filesystem.limit', 'By', 'File system size (statfs)'),
  filesystemInodes: level('system.filesystem.inodes.usage', '{inode}', 'File system inodes by state: used, free (statfs)'),
  uptime: gauge('system.uptime', 's', 'Time since boot (/proc/uptime)'),
} as const;

export const CONTAINER = {
  cpuTime: counter('container.cpu.time', 's', 'CPU time of the cgroup by mode: user, kernel', 'double'),
  cpuUsage: gauge('container.cpu.usage', '{cpu}', 'CPUs used, averaged over the last collection interval'),
  periods: counter('container.cpu.throttling_data.periods', '{period}', 'CFS enforcement periods that elapsed with the cgroup runnable (cpu.max / cfs_quota_us set)'),
  throttledPeriods: counter('container.cpu.throttling_data.throttled_periods', '{period}', 'Periods in which the cgroup ran out of quota and was throttled'),
  throttledTime: counter('container.cpu.throttling_data.throttled_time', 's', 'Time the cgroup spent throttled', 'double'),
  memoryUsage: level('container.memory.usage', 'By', 'Memory charged to the cgroup, page cache included (memory.current / usage_in_bytes)'),
  memoryWorkingSet: level('container.memory.working_set', 'By', 'Memory usage minus inactive file pages, as the kubelet computes it'),
  memoryRss: level('container.memory.rss', 'By', 'Anonymous memory (memory.stat anon / total_rss)'),
  memoryLimit: level('container.memory.limit', 'By', 'The cgroup memory limit (memory.max / limit_in_bytes); absent when unlimited'),
  memoryAvailable: level('container.memory.available', 'By', 'Memory limit minus working set; absent when unlimited'),
  pagingFaults: counter('container.paging.faults', '{fault}', 'Page faults by type: major, minor'),
  diskIo: counter('container.disk.io', 'By', 'Bytes read and written by the cgroup per block device (io.stat / blkio)'),
  diskOperations: counter('container.disk.operations', '{operation}', 'Block I/O operations of the cgroup per device (io.stat / blkio)'),
  pidsCount: level('container.pids.count', '{pid}', 'Tasks (processes and threads) in the cgroup (pids.current)'),
  pidsLimit: level('container.pids.limit', '{pid}', 'The cgroup task limit (pids.max); absent when unlimited'),
  networkIo: counter('container.network.io', 'By', 'Bytes received and transmitted in the cgroup\'s network namespace'),
  networkErrors: counter('container.network.errors', '{error}', 'Receive and transmit errors in the cgroup\'s network namespace'),
  blockIoDuration: {
    name: 'container.disk.operation.duration',
    unit: 's',
    description: 'Block request latency, issue to completion, per device and direction (eBPF block:block_rq_issue/complete)',
    instrument: 'histogram',
    value: 'double',
  } satisfies MetricSpec,
  blockIoBytes: counter('container.disk.request.io', 'By', 'Bytes of completed block requests per device and direction (eBPF block:block_rq_complete)'),
} as const;

export const POD = {
  cpuTime: counter('k8s.pod.cpu.time', 's', 'CPU time of the pod cgroup', 'double'),
  cpuUsage: gauge('k8s.pod.cpu.usage', '{cpu}', 'CPUs used by the pod, averaged over the last collection interval'),
  memoryUsage: level('k8s.pod.memory.usage', 'By', 'Memory charged to the pod cgroup'),
  memoryWorkingSet: level('k8s.pod.memory.working_set', 'By', 'Pod memory usage minus inactive file pages'),
  memoryRss: level('k8s.pod.memory.rss', 'By', 'Anonymous memory of the pod'),
  memoryAvailable: level('k8s.pod.memory.available', 'By', 'Pod memory limit minus working set; absent when unlimited'),
  pagingFaults: counter('k8s.pod.paging.faults', '{fault}', 'Page faults of the pod by type: major, minor'),
  networkIo: counter('k8s.pod.network.io', 'By', 'Bytes received and transmitted in the pod\'s network namespace'),
  networkErrors: counter('k8s.pod.network.errors', '{error}', 'Receive and transmit errors in the pod\'s network namespace'),
} as const;

export const PROCESS = {
  cpuTime: counter('process.cpu.time', 's', 'CPU time of the process by mode: user, system (/proc/PID/stat)', 'double'),
  memoryUsage: level('process.memory.usage', 'By', 'Resident set size (/proc/PID/stat rss)'),
  memoryVirtual: level('process.memory.virtual', 'By', 'Virtual memory size (/proc/PID/stat vsize)'),
  fileDescriptors: level('process.unix.file_descriptor.count', '{file_descriptor}', 'Open file descriptors (/proc/PID/fd)'),
  threads: level('process.thread.count', '{thread}', 'Threads (/proc/PID/stat)'),
  diskIo: counter('process.disk.io', 'By', 'Bytes read from and written to storage (/proc/PID/io read_bytes, write_bytes)'),
} as const;

/** Every metric, for the README and the tests. */
export const ALL_METRICS: MetricSpec[] = [...Object.values(NODE), ...Object.values(CONTAINER), ...Object.values(POD), ...Object.values(PROCESS)];
