// The tcp_drop receiver with its real kernel programs, watching real TCP traffic between two
// network namespaces made for each test: exact counts and reasons, compared with the kernel's own
// counters of the namespace where the events are random. Needs root: it fails without it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { getAttribute } from '../../src/pdata/common.ts';
import { type NetnsPair, createNetnsPair, requireRootForNetns } from '../../test/support/netns.ts';
import { OVERFLOW_ATTRIBUTES } from './series.ts';
import { RTT_BOUNDS_S } from './metrics.ts';
import { expectTotals, histogramPoints, latestSum, logRecords, type RunningReceiver, startReceiver, sumPoints } from './testing.ts';

interface ConnectResult {
  pid: number;
  results: { localPort?: number; result: string }[];
}
interface SendResult {
  pid: number;
  localPorts: number[];
  bytes: number;
}

const INTERVAL = '500ms';

describe('tcp_drop receiver: real programs, real traffic in network namespaces', () => {
  let pair: NetnsPair;
  let r: RunningReceiver | undefined;

  before(() => requireRootForNetns());
  after(async () => {
    await r?.stop();
    pair?.cleanup();
  });

  async function setUp(config: Record<string, unknown> = {}, options: { logs?: boolean } = {}): Promise<RunningReceiver> {
    await r?.stop();
    pair?.cleanup();
    pair = createNetnsPair();
    const filters = { cidrs: [pair.cidr, pair.cidr6], ...(config.filters as object | undefined) };
    r = await startReceiver({ collection_interval: INTERVAL, ...config, filters }, options);
    return r;
  }

  it('a SYN to a closed port: a NO_SOCKET drop and a reset on one side, a reset and a failed connect on the other', async () => {
    const r = await setUp();
    const { a, b } = pair;
    const before = b.netStats();
    const res = await a.peerResult<ConnectResult>(['connect', b.address, '9', '3', '5000']);
    assert.deepEqual(res.results.map((x) => x.result), ['refused', 'refused', 'refused']);
    const outRsts = b.netStats().TcpOutRsts! - before.TcpOutRsts!;
    assert.equal(outRsts, 3, 'the kernel of b counted one reset per SYN');
    await expectTotals(r, [
      { name: 'tcp.drops', total: 3 }, // nothing else dropped
      {
        name: 'tcp.drops',
        want: { 'tcp.drop.reason': 'NO_SOCKET', 'network.type': 'ipv4', 'network.local.address': b.address, 'network.local.port': 9, 'network.peer.address': a.address },
        total: 3,
      },
      { name: 'tcp.resets.sent', total: outRsts },
      { name: 'tcp.resets.sent', want: { 'tcp.reset.reason': 'NO_SOCKET', 'network.local.address': b.address, 'network.local.port': 9 }, total: 3 },
      {
        name: 'tcp.resets.received',
        want: { 'network.local.address': a.address, 'network.peer.address': b.address, 'network.peer.port': 9, 'process.pid': res.pid, 'process.executable.name': 'node' },
        total: 3,
      },
      { name: 'tcp.connections.failed', want: { 'process.pid': res.pid, 'network.peer.port': 9 }, total: 3 },
      { name: 'tcp.connections.opened', total: 0 },
    ]);
    const latest = r.metrics.received.at(-1);
    // The client's ephemeral ports are folded away: one series, not one per attempt.
    assert.equal(sumPoints(latest, 'tcp.resets.received').length, 1);
    assert.equal(getAttribute(sumPoints(latest, 'tcp.resets.received')[0]!.attributes, 'network.local.port'), undefined);
    // Nobody owns a packet to a closed port.
    assert.equal(getAttribute(sumPoints(latest, 'tcp.drops')[0]!.attributes, 'process.pid'), undefined);
  });

  it('an nft DROP rule: NETFILTER_DROP drops equal to the rule counter, SYN retransmits equal to TcpRetransSegs', async () => {
    const r = await setUp();
    const { a, b } = pair;
    pair.dropIncoming(b, 8081);
    const before = a.netStats();
    const res = await a.peerResult<ConnectResult>(['connect', b.address, '8081', '1', '2500']);
    assert.equal(res.results[0]!.result, 'timeout');
    await a.waitForQuietSockets();
    const dropped = pair.droppedByRule(b);
    const retrans = a.netStats().TcpRetransSegs! - before.TcpRetransSegs!;
    assert.ok(dropped >= 2, `the SYN and at least one retransmit were dropped (${dropped})`);
    await expectTotals(r, [
      { name: 'tcp.drops', total: dropped },
      { name: 'tcp.drops', want: { 'tcp.drop.reason': 'NETFILTER_DROP', 'network.local.address': b.address, 'network.local.port': 8081, 'network.peer.address': a.address }, total: dropped },
      { name: 'tcp.retransmits', want: { 'network.local.address': a.address }, total: retrans },
      { name: 'tcp.retransmits', want: { 'process.pid': res.pid, 'network.peer.port': 8081 }, total: dropped - 1 },
      { name: 'tcp.connections.failed', want: { 'process.pid': res.pid }, total: 1 },
    ]);
  });

  it('30% random loss: retransmits equal each namespace’s TcpRetransSegs, drops equal the loss rule, connections and bytes exact', async () => {
    const r = await setUp();
    const { a, b } = pair;
    const server = await b.server([b.address, '8080']);
    const before = { a: a.netStats(), b: b.netStats() };
    pair.loseIncoming(b, 30);
    const bytes = 200_000;
    const sent = await a.peerResult<SendResult>(['send', b.address, '8080', String(bytes), '3'], 300_000);
    await a.waitForQuietSockets();
    await b.waitForQuietSockets();
    const lost = pair.lostByRule(b);
    pair.removeLoss(b);
    const now = { a: a.netStats(), b: b.netStats() };
    const retrans = { a: now.a.TcpRetransSegs! - before.a.TcpRetransSegs!, b: now.b.TcpRetransSegs! - before.b.TcpRetransSegs! };
    assert.ok(retrans.a > 0, 'the loss made a retransmit');
    const client = { 'network.local.address': a.address, 'process.pid': sent.pid };
    const srv = { 'network.local.address': b.address, 'network.local.port': 8080, 'process.pid': server.pid };
    await expectTotals(r, [
      { name: 'tcp.retransmits', want: { 'network.local.address': a.address }, total: retrans.a },
      { name: 'tcp.retransmits', want: { 'network.local.address': b.address }, total: retrans.b },
      { name: 'tcp.retransmits', want: client, total: retrans.a },
      { name: 'tcp.drops', want: { 'tcp.drop.reason': 'NETFILTER_DROP' }, total: lost },
      { name: 'tcp.drops', want: { 'tcp.drop.reason': 'NETFILTER_DROP', 'network.local.address': b.address }, total: lost },
      { name: 'tcp.connections.opened', want: client, total: 3 },
      { name: 'tcp.connections.opened', want: srv, total: 3 },
      { name: 'tcp.connections.closed', want: client, total: 3 },
      { name: 'tcp.connections.closed', want: srv, total: 3 },
      // As the kernel counts (tcpi_bytes_acked / tcpi_bytes_received): the SYN and the FIN take one each.
      { name: 'tcp.bytes.sent', want: client, total: 3 * (bytes + 2) },
      { name: 'tcp.bytes.received', want: srv, total: 3 * (bytes + 1) },
      { name: 'tcp.connection.retransmits', want: client, total: retrans.a },
    ]);
    const rtt = histogramPoints(r.metrics.received.at(-1), 'tcp.rtt');
    assert.equal(rtt.reduce((s, p) => s + p.count, 0), 6, 'one RTT sample per closed connection, both sides');
    for (const p of rtt) {
      assert.deepEqual(p.explicitBounds, RTT_BOUNDS_S);
      assert.equal(p.bucketCounts.reduce((s, n) => s + n, 0), p.count);
      assert.ok(p.sum! > 0);
    }
  });

  it('IPv6: a SYN to a closed port is a NO_SOCKET drop between the IPv6 addresses', async () => {
    const r = await setUp();
    const { a, b } = pair;
    const res = await a.peerResult<ConnectResult>(['connect', b.address6, '9', '2', '5000']);
    assert.deepEqual(res.results.map((x) => x.result), ['refused', 'refused']);
    await expectTotals(r, [
      {
        name: 'tcp.drops',
        want: { 'tcp.drop.reason': 'NO_SOCKET', 'network.type': 'ipv6', 'network.local.address': b.address6, 'network.local.port': 9, 'network.peer.address': a.address6 },
        total: 2,
      },
      { name: 'tcp.resets.received', want: { 'network.type': 'ipv6', 'network.local.address': a.address6, 'process.pid': res.pid }, total: 2 },
    ]);
  });

  it('a dual-stack listener: its IPv4 connections are IPv4 on both sides, owned by the server and the client', async () => {
    const r = await setUp({ events: ['connections'] });
    const { a, b } = pair;
    const server = await b.server(['::', '8080']);
    const sent = await a.peerResult<SendResult>(['send', b.address, '8080', '5000', '2']);
    await a.waitForQuietSockets();
    await expectTotals(r, [
      { name: 'tcp.connections.opened', total: 4 },
      { name: 'tcp.connections.opened', want: { 'network.type': 'ipv4', 'network.local.address': b.address, 'network.local.port': 8080, 'network.peer.address': a.address, 'network.peer.port': undefined, 'process.pid': server.pid }, total: 2 },
      { name: 'tcp.connections.opened', want: { 'network.type': 'ipv4', 'network.local.address': a.address, 'network.local.port': undefined, 'network.peer.port': 8080, 'process.pid': sent.pid }, total: 2 },
      { name: 'tcp.bytes.received', want: { 'network.type': 'ipv4', 'process.pid': server.pid }, total: 2 * (5000 + 1) },
    ]);
  });

  it('logs: one record per drop with reason and exact ports; beyond max_per_second they are counted, not sent', async () => {
    // The rate limit is the kernel's, for every drop it sees: a kernel port filter keeps drops from
    // elsewhere on the machine out of it (the CIDR filter applies later, when reading).
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const r = await setUp({ logs: { enabled: true, max_per_second: 5 }, filters: { ports: [port] } }, { logs: true });
    const { a, b } = pair;
    const attempts = 40;
    const res = await a.peerResult<ConnectResult>(['connect', b.address, String(port), String(attempts), '5000']);
    assert.ok(res.results.every((x) => x.result === 'refused'));
    await expectTotals(r, [{ name: 'tcp.drops', want: { 'tcp.drop.reason': 'NO_SOCKET', 'network.local.port': port }, total: attempts }]);
    await r.stop(); // drains the ring and reads the counters one last time
    const records = logRecords(r);
    const limited = r.telemetry.counters.get('receiver_tcp_drop_logs_rate_limited') ?? 0;
    assert.equal(records.length + limited, attempts, 'every drop is either a record or counted as rate-limited');
    // Records within a span of S seconds touch at most floor(S) + 2 one-second windows.
    const times = records.map((x) => x.timeUnixNano).sort((x, y) => (x < y ? -1 : 1));
    const spanS = times.length ? Number((times.at(-1)! - times[0]!) / 1_000_000_000n) : 0;
    assert.ok(records.length <= 5 * (spanS + 2), `${records.length} records in ${spanS}s with max_per_second 5`);
    const ports = new Set(res.results.map((x) => x.localPort));
    for (const rec of records) {
      assert.equal(rec.eventName, 'tcp.drop');
      assert.equal(getAttribute(rec.attributes, 'tcp.drop.reason'), 'NO_SOCKET');
      assert.equal(getAttribute(rec.attributes, 'network.local.address'), b.address);
      assert.equal(getAttribute(rec.attributes, 'network.local.port'), BigInt(port));
      assert.ok(ports.has(Number(getAttribute(rec.attributes, 'network.peer.port'))), 'the exact client port');
      assert.equal(typeof getAttribute(rec.attributes, 'network.namespace.inode'), 'bigint');
    }
  });

  it('max_series: series beyond the cap fold into the otel.metric.overflow series, counted; totals stay cumulative', async () => {
    const r = await setUp({ max_series: 2, fold_ephemeral_ports: false, events: ['drops'] });
    const { a, b } = pair;
    await a.peerResult<ConnectResult>(['connect', b.address, '9', '5', '5000']);
    await expectTotals(r, [{ name: 'tcp.drops', total: 5 }]);
    const points = sumPoints(r.metrics.received.at(-1), 'tcp.drops');
    assert.equal(points.length, 3, 'two series and the overflow one');
    const overflow = points.filter((p) => getAttribute(p.attributes, 'otel.metric.overflow') === true);
    assert.equal(overflow.length, 1);
    assert.deepEqual(overflow[0]!.attributes, OVERFLOW_ATTRIBUTES);
    assert.equal(overflow[0]!.asInt, 3n);
    assert.equal(r.telemetry.counters.get('receiver_tcp_drop_series_folded'), 3);
    // Only drops were asked for: nothing else is counted.
    assert.equal(latestSum(r, 'tcp.resets.sent'), 0n);
    assert.equal(latestSum(r, 'tcp.connections.failed'), 0n);
    // Cumulative: a later batch repeats the totals with the same start time.
    const first = sumPoints(r.metrics.received.at(-1), 'tcp.drops');
    await r.metrics.waitFor(r.batches() + 1);
    const later = sumPoints(r.metrics.received.at(-1), 'tcp.drops');
    assert.deepEqual(later.map((p) => [p.asInt, p.startTimeUnixNano]), first.map((p) => [p.asInt, p.startTimeUnixNano]));
    assert.ok(later[0]!.timeUnixNano > first[0]!.timeUnixNano);
  });

  it('kernel filters: only the listed ports and processes are counted', async () => {
    pair?.cleanup();
    // The server must exist before the receiver starts, to filter on its pid.
    await r?.stop();
    r = undefined;
    pair = createNetnsPair();
    const { a, b } = pair;
    const server = await b.server([b.address, '8080']);
    r = await startReceiver({ collection_interval: INTERVAL, filters: { pids: [server.pid], cidrs: [pair.cidr] } });
    await a.peerResult<SendResult>(['send', b.address, '8080', '1000', '2']);
    await a.peerResult<ConnectResult>(['connect', b.address, '9', '1', '5000']);
    await expectTotals(r, [
      { name: 'tcp.connections.opened', total: 2 },
      { name: 'tcp.connections.opened', want: { 'process.pid': server.pid, 'network.local.port': 8080 }, total: 2 },
      { name: 'tcp.connections.closed', total: 2 },
      { name: 'tcp.drops', total: 0 },
      { name: 'tcp.resets.received', total: 0 },
    ]);
    await r.stop();
    r = await startReceiver({ collection_interval: INTERVAL, filters: { ports: [9], cidrs: [pair.cidr] } });
    await a.peerResult<ConnectResult>(['connect', b.address, '10', '2', '5000']);
    await a.peerResult<ConnectResult>(['connect', b.address, '9', '1', '5000']);
    await expectTotals(r, [
      { name: 'tcp.drops', total: 1 },
      { name: 'tcp.drops', want: { 'network.local.port': 9 }, total: 1 },
      { name: 'tcp.resets.sent', total: 1 },
    ]);
  });

  it('shutdown detaches every program it attached', async () => {
    const r = await setUp();
    const ids = r.receiver.programIds();
    const loaded = () => {
      const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name?: string }[];
      return progs.filter((p) => ids.includes(p.id)).map((p) => p.name);
    };
    const attachedTo = () => {
      const links = JSON.parse(execFileSync('bpftool', ['link', 'show', '-j'], { encoding: 'utf8' })) as { prog_id: number }[];
      return links.filter((l) => ids.includes(l.prog_id)).length;
    };
    assert.ok(loaded().includes('on_kfree_skb'), `loaded: ${loaded().join(', ')}`);
    assert.equal(attachedTo(), ids.length, 'one link per program');
    await r.stop();
    // The kernel frees a raw tracepoint's link, then its program, in deferred work after the last
    // fd closes: gone within moments, not at once.
    const deadline = Date.now() + 10_000;
    while ((loaded().length > 0 || attachedTo() > 0) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(loaded(), []);
    assert.equal(attachedTo(), 0);
    await r.stop(); // twice is fine
  });
});
