// Mirrors of the structs in bpf/tcp_drop.h: keep the two in step. The receiver checks every one
// against the compiled object's BTF when it opens it (BpfObject.checkLayout), so drift fails loudly.
import { defineStruct } from '../../src/bpf/layout.ts';

/** Event kinds (TCP_EV_* in bpf/tcp_drop.h). */
export const Kind = {
  DROP: 1,
  RETRANSMIT: 2,
  RESET_SENT: 3,
  RESET_RECEIVED: 4,
  OPENED: 5,
  CLOSED: 6,
  CONNECT_FAILED: 7,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** TCP_RTT_BUCKETS: bucket i counts RTTs r (µs) with 2^(i-1) < r <= 2^i, bucket 0 r <= 1. */
export const RTT_BUCKETS = 32;

/** TCP_EXE_LEN */
export const EXE_LEN = 32;

/** struct tcp_flow_key */
export const FlowKey = defineStruct({
  cgroup_id: 'u64',
  laddr: ['u8', 16],
  raddr: ['u8', 16],
  pid: 'u32',
  lport: 'u16',
  rport: 'u16',
  reason: 'u16',
  family: 'u8',
  kind: 'u8',
  _pad: 'u32',
  exe: ['char', EXE_LEN],
});
export type FlowKey = ReturnType<typeof FlowKey.decode>;

/** struct tcp_flow_value */
export const FlowValue = defineStruct({
  count: 'u64',
  bytes_sent: 'u64',
  bytes_received: 'u64',
  retrans_segs: 'u64',
});
export type FlowValue = ReturnType<typeof FlowValue.decode>;

/** struct tcp_rtt_value */
export const RttValue = defineStruct({
  count: 'u64',
  sum_us: 'u64',
  buckets: ['u64', RTT_BUCKETS],
});
export type RttValue = ReturnType<typeof RttValue.decode>;

/** struct tcp_drop_event */
export const DropEvent = defineStruct({
  time_ns: 'u64',
  key: FlowKey,
  netns: 'u32',
  state: 'u8',
  _pad: ['u8', 3],
  location: 'u64',
});
export type DropEvent = ReturnType<typeof DropEvent.decode>;

/** struct tcp_owner */
export const Owner = defineStruct({ cgroup_id: 'u64', pid: 'u32', _pad: 'u32', exe: ['char', EXE_LEN] });

/** struct tcp_listener_key */
export const ListenerKey = defineStruct({ netns: 'u32', port: 'u16', _pad: 'u16' });

/** struct tcp_listener */
export const Listener = defineStruct({ owner: Owner, sk: 'u64' });

/** Every mirrored struct by its C name, for the layout checks. */
export const LAYOUTS = {
  tcp_flow_key: FlowKey,
  tcp_flow_value: FlowValue,
  tcp_rtt_value: RttValue,
  tcp_drop_event: DropEvent,
  tcp_owner: Owner,
  tcp_listener_key: ListenerKey,
  tcp_listener: Listener,
} as const;
