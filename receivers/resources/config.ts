// The resources receiver's config. Every key has a default: `resources:` alone reports the node
// and every container and pod cgroup every 10s; processes and eBPF block I/O are opt-in.
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/types.ts';

const bool = (value: boolean) => z.boolean({ error: 'expected true or false' }).default(value);

/** A list of regular expressions, checked when the config is read. */
const regexList = (defaults: string[]) =>
  z
    .array(
      z.string({ error: 'expected a regular expression' }).refine(
        (s) => {
          try {
            new RegExp(s);
            return true;
          } catch {
            return false;
          }
        },
        { error: (issue) => `expected a regular expression, got "${String(issue.input)}"` },
      ),
      { error: 'expected a list of regular expressions' },
    )
    .default(defaults);

const cgroupGlob = z
  .string({ error: 'expected a cgroup path pattern like /system.slice/*.service' })
  .regex(/^\//, { error: (issue) => `expected a cgroup path pattern starting with /, got "${String(issue.input)}"` });

// As node_exporter's defaults: pseudo and container-internal file systems say nothing about disks.
export const DEFAULT_EXCLUDED_FS_TYPES =
  '^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs|tmpfs|ramfs)$';
export const DEFAULT_EXCLUDED_MOUNT_POINTS =
  '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/.+|run/containerd/.+|run/netns)($|/)';

const pid = z.number({ error: 'expected a process id' }).int('expected a process id').positive('expected a process id above 0');

export const resourcesConfigSchema = z.strictObject({
  /** How often everything is read and emitted. */
  collection_interval: duration('10s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
  /** Where the host's / is (`/hostfs` when bpfcol runs in a container with the host mounted there): /proc and /sys are read below it. */
  root_path: z.string({ error: 'expected a directory path' }).regex(/^\//, 'expected an absolute directory path').default('/'),
  node: z
    .strictObject({
      enabled: bool(true),
      /** Adds cpu.logical_number to system.cpu.time (one series per CPU and mode). */
      per_cpu: bool(false),
      /** Block devices (names in /proc/diskstats) to leave out. */
      exclude_devices: regexList(['^(loop|ram|zram|fd|sr)\\d+$']),
      /** Network interfaces to leave out. */
      exclude_interfaces: regexList([]),
      /** File system types and mount points to leave out. */
      exclude_fs_types: regexList([DEFAULT_EXCLUDED_FS_TYPES]),
      exclude_mount_points: regexList([DEFAULT_EXCLUDED_MOUNT_POINTS]),
      /** How long one file system may take to answer statfs before it is left out of a collection (a hung NFS mount). */
      filesystem_timeout: duration('2s'),
    })
    .default({
      enabled: true,
      per_cpu: false,
      exclude_devices: ['^(loop|ram|zram|fd|sr)\\d+$'],
      exclude_interfaces: [],
      exclude_fs_types: [DEFAULT_EXCLUDED_FS_TYPES],
      exclude_mount_points: [DEFAULT_EXCLUDED_MOUNT_POINTS],
      filesystem_timeout: 2000,
    }),
  cgroups: z
    .strictObject({
      enabled: bool(true),
      /** Cgroups reported besides containers and pods, as path patterns (`*` within a path segment, `**` across segments). */
      include: z.array(cgroupGlob, { error: 'expected a list of cgroup path patterns' }).default([]),
      /** Network bytes per network namespace of containers and pods (host-network ones are the node's). */
      network: bool(true),
      /** Interfaces of container network namespaces to leave out (loopback traffic never leaves the pod). */
      exclude_interfaces: regexList(['^lo$']),
      /** Cgroups reported at most; the rest are counted in bpfcol_receiver_resources_cgroups_skipped. */
      max_cgroups: positiveInt(5000),
    })
    .default({ enabled: true, include: [], network: true, exclude_interfaces: ['^lo$'], max_cgroups: 5000 }),
  processes: z
    .strictObject({
      /** Off by default: one resource per process is a lot of series. */
      enabled: bool(false),
      /**
       * Processes to report: by name (the executable's base name, or /proc/PID/comm: its first 15
       * characters for longer names) or pid. Both empty: every process.
       */
      include: z
        .strictObject({
          names: z.array(z.string({ error: 'expected a process name' }).min(1, 'expected a process name'), { error: 'expected a list of process names' }).default([]),
          pids: z.array(pid, { error: 'expected a list of process ids' }).default([]),
        })
        .default({ names: [], pids: [] }),
      /** Processes reported at most; the rest are counted in bpfcol_receiver_resources_processes_skipped. */
      max_processes: positiveInt(1000),
    })
    .default({ enabled: false, include: { names: [], pids: [] }, max_processes: 1000 }),
  block_io: z
    .strictObject({
      /** Block request latency and bytes per cgroup and device from the block:block_rq_issue/complete tracepoints (eBPF). */
      enabled: bool(false),
      /** Entries of the kernel's in-flight request and aggregation maps; overflow is counted, not silent. */
      max_inflight: positiveInt(16384),
      max_series: positiveInt(4096),
    })
    .default({ enabled: false, max_inflight: 16384, max_series: 4096 }),
});

export type ResourcesConfig = z.infer<typeof resourcesConfigSchema>;

/** A cgroup path pattern as a RegExp: `*` any characters but `/`, `**` any characters, `?` one character but `/`. */
export function cgroupPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
