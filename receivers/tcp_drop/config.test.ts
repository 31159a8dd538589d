// The config schema, the pure helpers (address text, ports folding, CIDRs, series cap) and the
// refusal message when the kernel lacks something.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProbeReport } from '../../src/bpf/probe.ts';
import { EVENT_KINDS, tcpDropConfigSchema } from './config.ts';
import { CidrFilter, endpointsOf, ephemeralPortRange, ipv6Text } from './endpoints.ts';
import { missingKernelFeatures } from './kernel.ts';
import { FlowKey } from './layout.ts';
import { OVERFLOW_ATTRIBUTES, sumTable } from './series.ts';

function errors(input: unknown): string[] {
  const r = tcpDropConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('tcp_drop config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(tcpDropConfigSchema.parse({}), {
      collection_interval: 10_000,
      events: [...EVENT_KINDS],
      filters: { ports: [], pids: [], cgroup_ids: [], cidrs: [] },
      max_series: 2000,
      series_expiration: 300_000,
      fold_ephemeral_ports: true,
      kernel_map_entries: 16384,
      logs: { enabled: false, max_per_second: 100 },
    });
  });

  it('takes every key', () => {
    const c = tcpDropConfigSchema.parse({
      collection_interval: '1s',
      events: ['drops', 'retransmits'],
      filters: { ports: [80, 443], pids: [1], cgroup_ids: [12345, '18446744073709551615'], cidrs: ['10.0.0.0/8', 'fd00::/8', '192.0.2.1'] },
      max_series: 10,
      series_expiration: '1m',
      fold_ephemeral_ports: false,
      kernel_map_entries: 1024,
      logs: { enabled: true, max_per_second: 5 },
    });
    assert.equal(c.collection_interval, 1000);
    assert.deepEqual(c.filters.cgroup_ids, [12345n, 18446744073709551615n]);
    assert.equal(c.logs.enabled, true);
  });

  it('names what is wrong', () => {
    assert.deepEqual(errors({ interval: '1s' }), [': Unrecognized key: "interval"']);
    assert.match(errors({ collection_interval: 'soon' })[0]!, /^collection_interval: expected a duration like 10s/);
    assert.match(errors({ events: ['drops', 'floods'] })[0]!, /^events.1: expected one of drops, retransmits, resets_sent, resets_received, connections/);
    assert.match(errors({ filters: { cidrs: ['10.0.0.0/33'] } })[0]!, /^filters.cidrs.0: expected a CIDR like 10.0.0.0\/8 or fd00::\/8, got "10.0.0.0\/33"/);
    assert.match(errors({ filters: { ports: [70000] } })[0]!, /^filters.ports.0: expected a port number between 1 and 65535/);
    assert.match(errors({ filters: { ports: Array.from({ length: 17 }, (_, i) => i + 1) } })[0]!, /^filters.ports: at most 16 ports/);
    assert.match(errors({ logs: { enabled: 'yes' } })[0]!, /^logs.enabled: expected true or false/);
    assert.match(errors({ logs: { rate: 1 } })[0]!, /^logs: Unrecognized key: "rate"/);
  });
});

function key(fields: Partial<FlowKey>): FlowKey {
  return FlowKey.decode(FlowKey.encode(fields));
}

describe('tcp_drop endpoints', () => {
  it('writes addresses as people read them, IPv4-mapped IPv6 as IPv4', () => {
    const v4 = key({ family: 4, laddr: Uint8Array.from([10, 0, 0, 1]), raddr: Uint8Array.from([10, 0, 0, 2]), lport: 80, rport: 40000 });
    assert.deepEqual(endpointsOf(v4), { type: 'ipv4', localAddress: '10.0.0.1', peerAddress: '10.0.0.2', localPort: 80, peerPort: 40000 });
    const mapped = (a: number[]) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a]);
    const m = key({ family: 6, laddr: mapped([127, 0, 0, 1]), raddr: mapped([192, 0, 2, 7]), lport: 8080, rport: 50000 });
    assert.equal(endpointsOf(m).type, 'ipv4');
    assert.equal(endpointsOf(m).peerAddress, '192.0.2.7');
    assert.equal(ipv6Text(Uint8Array.from([0xfd, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), 'fd00:1234::1');
    assert.equal(ipv6Text(new Uint8Array(16)), '::');
    assert.equal(ipv6Text(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])), '2001:db8:1::1:0:1');
  });

  it('reads the ephemeral port range the kernel program folds', () => {
    const [lo, hi] = ephemeralPortRange();
    assert.ok(lo > 0 && hi >= lo && hi <= 65535, `${lo}-${hi}`);
  });

  it('keeps flows with either address in a CIDR', () => {
    const f = new CidrFilter(['10.1.0.0/16', 'fd00::/8']);
    const e = (localAddress: string, peerAddress: string, type: 'ipv4' | 'ipv6' = 'ipv4') => ({ type, localAddress, peerAddress, localPort: 1, peerPort: 2 });
    assert.equal(f.keeps(e('10.1.2.3', '8.8.8.8')), true);
    assert.equal(f.keeps(e('8.8.8.8', '10.1.2.3')), true);
    assert.equal(f.keeps(e('10.2.0.1', '8.8.8.8')), false);
    assert.equal(f.keeps(e('fd00::1', '2001:db8::1', 'ipv6')), true);
    assert.equal(new CidrFilter([]).keeps(e('1.1.1.1', '2.2.2.2')), true);
  });
});

describe('tcp_drop series', () => {
  it('folds points of series beyond the cap into the overflow series and expires idle ones', () => {
    const t = sumTable(2);
    const attrs = (n: string) => () => [{ key: 'n', value: { stringValue: n } }];
    assert.equal(t.add('a', attrs('a'), { value: 1n }, 0n, 10n), true);
    assert.equal(t.add('b', attrs('b'), { value: 2n }, 0n, 10n), true);
    assert.equal(t.add('c', attrs('c'), { value: 3n }, 0n, 10n), false);
    assert.equal(t.add('d', attrs('d'), { value: 4n }, 0n, 20n), false);
    assert.equal(t.add('a', attrs('a'), { value: 5n }, 10n, 20n), true);
    const snap = t.snapshot(30n);
    assert.deepEqual(
      snap.map((s) => [s.attributes, s.point.value, s.startTimeUnixNano, s.timeUnixNano]),
      [
        [[{ key: 'n', value: { stringValue: 'a' } }], 6n, 0n, 30n],
        [[{ key: 'n', value: { stringValue: 'b' } }], 2n, 0n, 30n],
        [OVERFLOW_ATTRIBUTES, 7n, 0n, 30n],
      ],
    );
    t.expire(15n); // b was last updated at 10
    assert.deepEqual(t.snapshot(30n).map((s) => s.point.value), [6n, 7n]);
    assert.equal(t.add('e', attrs('e'), { value: 1n }, 20n, 40n), true, 'room again after b expired');
  });
});

describe('tcp_drop kernel requirements', () => {
  const ok = { ok: true, detail: '' };
  const report = (tracepoints: ProbeReport['tracepoints'], extra: Partial<ProbeReport> = {}): ProbeReport => ({
    kernel: 'test',
    libbpf: 'test',
    privileges: ok,
    btf: { ok: true, detail: '/sys/kernel/btf/vmlinux' },
    tracefs: ok,
    perfEvents: ok,
    uprobes: ok,
    ringBuffer: ok,
    tracepoints,
    ...extra,
  });
  const config = tcpDropConfigSchema.parse({ events: ['retransmits', 'resets_sent'] });

  it('asks only for the hooks of the enabled kinds, the optional ones aside', () => {
    const missing = missingKernelFeatures(
      config,
      report({
        'tcp/tcp_retransmit_skb': ok,
        'tcp/tcp_retransmit_synack': ok,
        'tcp/tcp_send_reset': { ok: false, detail: 'tcp:tcp_send_reset does not exist in this kernel' },
        'sock/inet_sock_set_state': ok,
        'sock/sock_send_length': { ok: false, detail: 'missing' },
      }),
    );
    assert.deepEqual(missing, ['tracepoint tcp/tcp_send_reset: tcp:tcp_send_reset does not exist in this kernel']);
  });

  it('says which privileges and features are missing', () => {
    const missing = missingKernelFeatures(
      tcpDropConfigSchema.parse({ events: ['resets_received'], logs: { enabled: true } }),
      report(
        { 'tcp/tcp_receive_reset': ok, 'sock/inet_sock_set_state': ok },
        { privileges: { ok: false, detail: 'uid 1000 lacks CAP_BPF' }, ringBuffer: { ok: false, detail: 'needs Linux 5.8+' } },
      ),
    );
    assert.deepEqual(missing, ['privileges: uid 1000 lacks CAP_BPF', 'ring buffer: needs Linux 5.8+']);
  });
});
