// The kernel side of tcp_drop as TypeScript sees it: opens bpf/build/tcp_drop.bpf.o with the
// config baked into its read-only globals, attaches the hooks of the enabled event kinds, and
// reads (and resets) the aggregation maps once per interval.
//
// Reading without racing the programs: every aggregation map exists twice (_a, _b), flipped by
// the runtime's DoubleBuffer (bpf/common/double_buffer.h has the kernel half).
import { readFileSync } from 'node:fs';
import { DoubleBuffer } from '../../src/bpf/double-buffer.ts';
import { BpfObject, bpfObjectPath } from '../../src/bpf/object.ts';
import { readCounter } from '../../src/bpf/map.ts';
import { type ProbeReport, checkRequirements, probeKernel } from '../../src/bpf/probe.ts';
import { readKernelEnum } from '../../src/bpf/btf.ts';
import { RingBuffer } from '../../src/bpf/ringbuf.ts';
import { type EventKind, type TcpDropConfig } from './config.ts';
import { DropEvent, FlowKey, FlowValue, Kind, LAYOUTS, Listener, ListenerKey, RttValue } from './layout.ts';
import type { ExistingListener } from './listeners.ts';
import { ephemeralPortRange } from './endpoints.ts';

interface Hook {
  program: string;
  /** category/name */
  tracepoint: string;
  /** Event kinds that need it; 'always' for the owner bookkeeping. */
  needs: readonly EventKind[] | 'always';
  /** Attached when the kernel has it; without it some owners stay unknown. */
  optional?: boolean;
}

export const HOOKS: readonly Hook[] = [
  { program: 'on_kfree_skb', tracepoint: 'skb/kfree_skb', needs: ['drops'] },
  { program: 'on_retransmit_skb', tracepoint: 'tcp/tcp_retransmit_skb', needs: ['retransmits'] },
  { program: 'on_retransmit_synack', tracepoint: 'tcp/tcp_retransmit_synack', needs: ['retransmits'] },
  { program: 'on_send_reset', tracepoint: 'tcp/tcp_send_reset', needs: ['resets_sent'] },
  { program: 'on_receive_reset', tracepoint: 'tcp/tcp_receive_reset', needs: ['resets_received'] },
  { program: 'on_set_state', tracepoint: 'sock/inet_sock_set_state', needs: 'always' },
  { program: 'on_send_length', tracepoint: 'sock/sock_send_length', needs: 'always', optional: true },
];

const KIND_BITS: Record<EventKind, number[]> = {
  drops: [Kind.DROP],
  retransmits: [Kind.RETRANSMIT],
  resets_sent: [Kind.RESET_SENT],
  resets_received: [Kind.RESET_RECEIVED],
  connections: [Kind.OPENED, Kind.CLOSED, Kind.CONNECT_FAILED],
};

/** How long collect() waits for programs still writing to the old side before reading it anyway. */
const INFLIGHT_WAIT_MS = 5_000;

function enabledHooks(config: TcpDropConfig): Hook[] {
  return HOOKS.filter((h) => h.needs === 'always' || h.needs.some((k) => config.events.includes(k)));
}

/**
 * What this kernel lacks for the config, one sentence each (empty: it can run). Optional hooks
 * are not required.
 */
export function missingKernelFeatures(config: TcpDropConfig, report?: ProbeReport): string[] {
  const hooks = enabledHooks(config);
  const required = hooks.filter((h) => !h.optional).map((h) => h.tracepoint);
  const r = report ?? probeKernel({ tracepoints: hooks.map((h) => h.tracepoint) });
  const missing = checkRequirements({ tracepoints: required, ringBuffer: config.logs.enabled }, r);
  if (config.events.includes('drops') && r.tracepoints['skb/kfree_skb']?.ok) {
    const format = readTracepointFormat(r.tracepoints['skb/kfree_skb'].detail);
    if (format !== undefined && !/\benum skb_drop_reason reason;/.test(format)) {
      missing.push('tracepoint skb/kfree_skb has no drop reason field (needs Linux 5.17 or later)');
    }
    if (r.btf.ok && !readKernelEnum('skb_drop_reason')) missing.push("BTF: the kernel has no enum skb_drop_reason (drop reason names)");
  }
  return missing;
}

function readTracepointFormat(dir: string): string | undefined {
  try {
    return readFileSync(`${dir}/format`, 'utf8');
  } catch {
    return undefined;
  }
}

function u16Array(values: readonly number[], length: number): Uint8Array {
  const out = Buffer.alloc(length * 2);
  values.forEach((v, i) => out.writeUInt16LE(v, i * 2));
  return out;
}

function u32Array(values: readonly number[], length: number): Uint8Array {
  const out = Buffer.alloc(length * 4);
  values.forEach((v, i) => out.writeUInt32LE(v, i * 4));
  return out;
}

function u64Array(values: readonly bigint[], length: number): Uint8Array {
  const out = Buffer.alloc(length * 8);
  values.forEach((v, i) => out.writeBigUInt64LE(v, i * 8));
  return out;
}

export interface FlowRecord {
  key: FlowKey;
  value: FlowValue;
}

export interface RttRecord {
  key: FlowKey;
  value: RttValue;
}

export interface Collected {
  /** When the programs were switched to the other side: the end of the interval (ns since the epoch). */
  timeUnixNano: bigint;
  flows: FlowRecord[];
  rtts: RttRecord[];
}

/** Losses counted in the kernel since load (monotonic). */
export interface KernelLosses {
  flowsFull: bigint;
  rttFull: bigint;
  ownersFull: bigint;
  logsRateLimited: bigint;
  logsLost: bigint;
}

export interface OpenedKernel {
  kernel: TcpDropKernel;
  /** Optional hooks this kernel lacks (not attached). */
  skipped: string[];
}

export class TcpDropKernel {
  readonly object: BpfObject;
  readonly #buffer: DoubleBuffer;
  #ring: RingBuffer | undefined;

  private constructor(object: BpfObject) {
    this.object = object;
    this.#buffer = new DoubleBuffer(object, { maxWaitMs: INFLIGHT_WAIT_MS });
  }

  /** Opens, loads and attaches. Throws (having attached nothing) when something fails. */
  static open(config: TcpDropConfig, report: ProbeReport): OpenedKernel {
    const hooks = enabledHooks(config);
    const skipped = hooks.filter((h) => h.optional && !report.tracepoints[h.tracepoint]?.ok);
    const attach = hooks.filter((h) => !skipped.includes(h));
    let kinds = 0;
    for (const k of config.events) for (const bit of KIND_BITS[k]) kinds |= 1 << bit;
    const { ports, pids, cgroup_ids } = config.filters;
    const entries = config.kernel_map_entries;
    const range: [number, number] = config.fold_ephemeral_ports ? ephemeralPortRange() : [0, 0];
    const object = BpfObject.open(bpfObjectPath('tcp_drop'), {
      rodata: {
        kinds,
        n_ports: ports.length,
        ports: u16Array(ports, 16),
        n_pids: pids.length,
        pids: u32Array(pids, 16),
        n_cgroups: cgroup_ids.length,
        cgroups: u64Array(cgroup_ids, 16),
        log_drops: config.logs.enabled ? 1 : 0,
        log_max_per_second: config.logs.max_per_second,
        ephemeral_lo: range[0],
        ephemeral_hi: range[1],
      },
      maxEntries: { flows_a: entries, flows_b: entries, rtt_a: entries, rtt_b: entries },
      autoload: Object.fromEntries(HOOKS.map((h) => [h.program, attach.includes(h)])),
    });
    try {
      for (const [name, layout] of Object.entries(LAYOUTS)) object.checkLayout(name, layout);
      // Raw tracepoints (bpf/tcp_drop.bpf.c says why): attached by the event's name alone.
      for (const h of attach) object.program(h.program).attachRawTracepoint(h.tracepoint.split('/')[1]!);
    } catch (err) {
      object.close();
      throw err;
    }
    return { kernel: new TcpDropKernel(object), skipped: skipped.map((h) => h.tracepoint) };
  }

  /**
   * Tells the programs about listeners that existed before they were attached (found in /proc).
   * An entry the programs made since is kept. Returns how many were added.
   */
  seedListeners(listeners: readonly ExistingListener[]): number {
    const map = this.object.map('listeners');
    let added = 0;
    for (const l of listeners) {
      try {
        map.update(
          ListenerKey.encode({ netns: l.netns, port: l.port }),
          Listener.encode({ owner: { cgroup_id: l.cgroupId, pid: l.pid, _pad: 0, exe: l.exe }, sk: 0n }),
          'noexist',
        );
        added++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
    }
    return added;
  }

  /** Delivers drop records (logs.enabled) to onEvents, a batch per wake-up. */
  startDropLog(onEvents: (events: DropEvent[]) => void): void {
    if (this.#ring) return;
    this.#ring = new RingBuffer(this.object, 'drop_log', (batch) => onEvents(batch.decode(DropEvent)));
  }

  /** Reads and resets what the programs counted since the last call. Calls never overlap. */
  async collect(): Promise<Collected> {
    const { suffix, timeUnixNano } = await this.#buffer.flip();
    const flows = this.object
      .map(`flows_${suffix}`)
      .lookupAndDeleteAll()
      .map((e) => ({ key: FlowKey.decode(e.key), value: FlowValue.decode(e.value) }));
    const rtts = this.object
      .map(`rtt_${suffix}`)
      .lookupAndDeleteAll()
      .map((e) => ({ key: FlowKey.decode(e.key), value: RttValue.decode(e.value) }));
    return { timeUnixNano, flows, rtts };
  }

  /** Collections that read a side while a program still wrote to it (its counts may be late or lost). */
  get lateReads(): number {
    return this.#buffer.lateReads;
  }

  /** Drains drop records still in the ring (before a last collection). */
  drainDropLog(): void {
    this.#ring?.drain();
  }

  losses(): KernelLosses {
    const c = (name: string) => readCounter(this.object.map(name));
    return {
      flowsFull: c('flows_full'),
      rttFull: c('rtt_full'),
      ownersFull: c('owners_full'),
      logsRateLimited: c('drop_log_ratelimited'),
      logsLost: c('drop_log_lost'),
    };
  }

  /** Detaches everything. Idempotent. */
  close(): void {
    this.#ring?.stop();
    this.#ring = undefined;
    this.object.close();
  }
}
