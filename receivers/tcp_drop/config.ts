// The tcp_drop receiver's config. Every key has a default: `tcp_drop:` alone watches every TCP
// event kind on the machine and reports every 10s.
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, positiveInt } from '../../src/config/types.ts';

/** Event kinds, as written in `events:`. */
export const EVENT_KINDS = ['drops', 'retransmits', 'resets_sent', 'resets_received', 'connections'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Filters compiled into the kernel program hold at most this many values each (TCP_FILTER_MAX). */
export const KERNEL_FILTER_MAX = 16;

const port = z
  .number({ error: 'expected a port number' })
  .int('expected a port number')
  .min(1, 'expected a port number between 1 and 65535')
  .max(65535, 'expected a port number between 1 and 65535');

const pid = z.number({ error: 'expected a process id' }).int('expected a process id').positive('expected a process id above 0');

// cgroup v2 ids are the inode numbers of cgroup directories: written as numbers or numeric strings.
const cgroupId = z
  .union([z.number().int().positive(), z.string().regex(/^\d+$/)], { error: 'expected a cgroup id (a whole number)' })
  .transform((v) => BigInt(v));

/** `10.0.0.0/8`, `fd00::/8`, or a single address (a /32 or /128). */
export const cidr = z.string({ error: 'expected a CIDR like 10.0.0.0/8' }).refine((text) => parseCidr(text) !== undefined, {
  error: (issue) => `expected a CIDR like 10.0.0.0/8 or fd00::/8, got "${String(issue.input)}"`,
});

export function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...rest] = text.split('/');
  if (rest.length) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, prefix, type: version === 4 ? 'ipv4' : 'ipv6' };
}

const kernelList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: `expected a list of ${what}` }).max(KERNEL_FILTER_MAX, `at most ${KERNEL_FILTER_MAX} ${what} (the kernel filter's size)`).default([]);

export const tcpDropConfigSchema = z.strictObject({
  /** How often the kernel maps are read (and reset) and the metrics emitted. */
  collection_interval: duration('10s').refine((ms) => ms >= 100, 'expected a duration of at least 100ms'),
  /** Which event kinds to watch; the others' programs are not even attached. */
  events: z
    .array(z.enum(EVENT_KINDS, { error: `expected one of ${EVENT_KINDS.join(', ')}` }), { error: `expected a list of event kinds (${EVENT_KINDS.join(', ')})` })
    .default([...EVENT_KINDS]),
  filters: z
    .strictObject({
      /** Keep events where the local or the peer port is listed (in the kernel). */
      ports: kernelList(port, 'ports'),
      /** Keep events of sockets owned by these processes (in the kernel). */
      pids: kernelList(pid, 'pids'),
      /** Keep events of sockets owned by processes of these cgroups (cgroup v2 ids, in the kernel). */
      cgroup_ids: kernelList(cgroupId, 'cgroup ids'),
      /** Keep events where the local or the peer address is in one of these (when reading). */
      cidrs: z.array(cidr, { error: 'expected a list of CIDRs like 10.0.0.0/8' }).default([]),
    })
    .default({ ports: [], pids: [], cgroup_ids: [], cidrs: [] }),
  /** Series per metric; beyond, points fold into one series marked otel.metric.overflow=true. */
  max_series: positiveInt(2000),
  /** A series with no new event for this long is forgotten (and restarts from 0 if it comes back). */
  series_expiration: duration('5m'),
  /** Leave out the client's port of each flow (in the kernel): one series per server, not per connection. */
  fold_ephemeral_ports: z.boolean({ error: 'expected true or false' }).default(true),
  /** Entries of each kernel aggregation map per interval; events beyond are counted as lost. */
  kernel_map_entries: positiveInt(16384),
  logs: z
    .strictObject({
      /** One log record per drop on the logs signal. */
      enabled: z.boolean({ error: 'expected true or false' }).default(false),
      /** Drop records per second (in the kernel); the rest are counted, not sent. */
      max_per_second: positiveInt(100),
    })
    .default({ enabled: false, max_per_second: 100 }),
});

export type TcpDropConfig = z.infer<typeof tcpDropConfigSchema>;
