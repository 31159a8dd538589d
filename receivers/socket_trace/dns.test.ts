// socket_trace against real DNS over UDP: dnsmasq (Debian) answering from records the test gives
// it, asked by dig (bind9-dnsutils: a connected UDP socket), by Node's dns.Resolver (c-ares), and
// by glibc's resolver (getent ahosts: A and AAAA in one sendmmsg) inside a network namespace of
// its own whose /etc/resolv.conf points at a dnsmasq on port 53 there. Spans and
// dns.lookup.duration reach file exporters through bpfcol's CLI.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from '../../src/pdata/common.ts';
import type { Span } from '../../src/pdata/traces.ts';
import { tempDir } from '../../test/support/cli.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const UNSET = 0;
const DOMAIN = 'bpfcol.test';
const NAME = `web.${DOMAIN}`;
const V4 = '10.11.12.13';
const V6 = 'fd00::1234';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs and create a network namespace: run them as root');
for (const tool of ['dnsmasq', 'dig', 'ip', 'getent']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`this test needs '${tool}' (Debian: dnsmasq, bind9-dnsutils, iproute2, libc-bin)`);
}

/** dnsmasq answering NAME (A and AAAA) and NXDOMAIN for other names of DOMAIN, nothing else; `prefix` runs it elsewhere (ip netns exec). */
async function startDnsmasq(port: number, prefix: string[] = []): Promise<ChildProcess> {
  const args = ['-k', '-C', '/dev/null', '--no-resolv', '--no-hosts', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--pid-file=', '--user=root', '--log-facility=-', '--cache-size=0', `--host-record=${NAME},${V4},${V6}`, `--local=/${DOMAIN}/`];
  const cmd = prefix.length ? prefix[0]! : 'dnsmasq';
  const child = spawn(cmd, prefix.length ? [...prefix.slice(1), 'dnsmasq', ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dnsmasq did not start: ${out}`)), 10_000);
    const check = () => {
      if (/started, version/.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`dnsmasq exited (${code}): ${out}`)));
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

type Item = { span: Span; resource: Resource };

/** Every attribute asserted of a DNS span. */
function assertDnsSpan(span: Span, want: { kind: number; type: string; name: string; code: string; answers?: string[]; server: { address: string; port: number }; error?: string; clientPeer?: boolean }): void {
  assert.equal(span.kind, want.kind);
  assert.equal(span.name, `DNS ${want.type}`);
  assert.equal(attr(span, 'dns.question.name'), want.name);
  assert.equal(attr(span, 'dns.question.type'), want.type);
  assert.equal(attr(span, 'dns.response.code'), want.code);
  assert.equal(attr(span, 'dns.response.answer_count'), BigInt(want.answers?.length ?? 0));
  assert.deepEqual(attr(span, 'dns.answers'), want.answers);
  assert.equal(attr(span, 'server.address'), want.server.address);
  assert.equal(attr(span, 'server.port'), BigInt(want.server.port));
  assert.equal(attr(span, 'network.transport'), 'udp');
  assert.equal(attr(span, 'network.peer.address'), '127.0.0.1');
  if (want.kind === CLIENT) {
    assert.equal(attr(span, 'network.peer.port'), BigInt(want.server.port));
    assert.equal(attr(span, 'client.address'), undefined);
  } else {
    assert.equal(attr(span, 'client.address'), '127.0.0.1');
    assert.equal(attr(span, 'client.port'), attr(span, 'network.peer.port'));
    assert.ok(Number(attr(span, 'client.port')) > 0);
  }
  assert.equal(attr(span, 'error.type'), want.error);
  assert.equal(span.status.code, want.error ? ERROR : UNSET);
  assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
}

describe('socket_trace: DNS over UDP with dnsmasq, dig, Node dns.Resolver and glibc', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let port: number;
  let dnsmasq: ChildProcess;
  let traced: TracedRun;
  const netns = `bpfcol-dns-${randomBytes(3).toString('hex')}`;
  let nsDnsmasq: ChildProcess | undefined;

  before(async () => {
    dir = tempDir('bpfcol-st-dns-');
    port = await freePort();
    dnsmasq = await startDnsmasq(port);
    // DNS ports: the test's dnsmasq, and 53 in the private namespace
    traced = await startTraced(dir.path, [port, 53], `protocols: [dns]\ndns: { ports: [${port}, 53] }`);
  });

  after(async () => {
    await stop(nsDnsmasq);
    spawnSync('ip', ['netns', 'del', netns]);
    rmSync(`/etc/netns/${netns}`, { recursive: true, force: true });
    await traced?.stop();
    await stop(dnsmasq);
    dir?.cleanup();
  });

  const dig = (name: string, type: string) => run('dig', ['-p', String(port), '@127.0.0.1', name, type, '+tries=1', '+time=5']);
  const mine = (kind: number, service: string, type: string, name: string) => (s: Item) =>
    s.span.kind === kind && s.span.name === `DNS ${type}` && attr(s.span, 'dns.question.name') === name && resourceAttr(s.resource, 'service.name') === service;

  it('dig: A, AAAA and NXDOMAIN, on the client (dig) and the server (dnsmasq)', async () => {
    const { startNs, endNs, value } = await bracket(async () => [await dig(NAME, 'A'), await dig(NAME, 'AAAA'), await dig(`nope.${DOMAIN}`, 'A')]);
    assert.match(value[0]!.stdout, /status: NOERROR/);
    assert.match(value[2]!.stdout, /status: NXDOMAIN/);
    const server = { address: '127.0.0.1', port };
    const cases = [
      { type: 'A', name: NAME, code: 'NOERROR', answers: [V4] },
      { type: 'AAAA', name: NAME, code: 'NOERROR', answers: [V6] },
      { type: 'A', name: `nope.${DOMAIN}`, code: 'NXDOMAIN', clientError: 'NXDOMAIN' },
    ];
    for (const c of cases) {
      const [client] = await waitForSpans(traced, mine(CLIENT, 'dig', c.type, c.name), 1);
      const [served] = await waitForSpans(traced, mine(SERVER, 'dnsmasq', c.type, c.name), 1);
      assertDnsSpan(client!.span, { kind: CLIENT, ...c, server, error: c.clientError });
      // on the server, NXDOMAIN is an answer given as it should be: no error (as HTTP 4xx on servers)
      assertDnsSpan(served!.span, { kind: SERVER, ...c, server });
      for (const { span } of [client!, served!]) assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs, 'within the lookups');
      // the server's span sits inside the client's
      assert.ok(served!.span.startTimeUnixNano >= client!.span.startTimeUnixNano && served!.span.endTimeUnixNano <= client!.span.endTimeUnixNano);
      assert.equal(resourceAttr(served!.resource, 'process.pid'), BigInt(dnsmasq.pid!));
    }
  });

  it('Node dns.Resolver (c-ares): resolve4, resolve6, ENOTFOUND', async () => {
    const resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    assert.deepEqual(await resolver.resolve4(`node.${DOMAIN}`).catch((e: NodeJS.ErrnoException) => e.code), 'ENOTFOUND');
    assert.deepEqual(await resolver.resolve4(NAME), [V4]);
    assert.deepEqual(await resolver.resolve6(NAME), [V6]);
    const self = (s: Item) => resourceAttr(s.resource, 'process.pid') === BigInt(process.pid) && s.span.kind === CLIENT;
    const spans = await waitForSpans(traced, (s) => self(s) && String(attr(s.span, 'dns.question.name')).endsWith(DOMAIN), 3);
    assert.equal(spans.length, 3, 'one span per query');
    const server = { address: '127.0.0.1', port };
    const byType = (type: string, name: string) => spans.find((s) => attr(s.span, 'dns.question.type') === type && attr(s.span, 'dns.question.name') === name)!.span;
    assertDnsSpan(byType('A', NAME), { kind: CLIENT, type: 'A', name: NAME, code: 'NOERROR', answers: [V4], server });
    assertDnsSpan(byType('AAAA', NAME), { kind: CLIENT, type: 'AAAA', name: NAME, code: 'NOERROR', answers: [V6], server });
    assertDnsSpan(byType('A', `node.${DOMAIN}`), { kind: CLIENT, type: 'A', name: `node.${DOMAIN}`, code: 'NXDOMAIN', server, error: 'NXDOMAIN' });
  });

  it("glibc's resolver (getent ahosts: A and AAAA in one sendmmsg) in a namespace whose resolv.conf names 127.0.0.1:53", async () => {
    mkdirSync(`/etc/netns/${netns}`, { recursive: true });
    writeFileSync(`/etc/netns/${netns}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n');
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    nsDnsmasq = await startDnsmasq(53, ['ip', 'netns', 'exec', netns]);
    const { stdout } = await run('ip', ['netns', 'exec', netns, 'getent', 'ahosts', NAME]);
    assert.match(stdout, new RegExp(V4.replace(/\./g, '\\.')));
    assert.match(stdout, new RegExp(V6));
    const server = { address: '127.0.0.1', port: 53 };
    const [a] = await waitForSpans(traced, mine(CLIENT, 'getent', 'A', NAME), 1);
    const [aaaa] = await waitForSpans(traced, mine(CLIENT, 'getent', 'AAAA', NAME), 1);
    assertDnsSpan(a!.span, { kind: CLIENT, type: 'A', name: NAME, code: 'NOERROR', answers: [V4], server });
    assertDnsSpan(aaaa!.span, { kind: CLIENT, type: 'AAAA', name: NAME, code: 'NOERROR', answers: [V6], server });
    // both queries left in one sendmmsg: the same syscall entry starts both spans
    assert.equal(a!.span.startTimeUnixNano, aaaa!.span.startTimeUnixNano);
    const served = await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'server.port') === 53n && attr(s.span, 'dns.question.name') === NAME, 2);
    assert.deepEqual(served.map((s) => s.span.name).sort(), ['DNS A', 'DNS AAAA']);
  });

  it('dns.lookup.duration per question and response code; nothing unparsed, nothing lost', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const points = traced
        .metrics()
        .filter((m) => m.metric.name === 'dns.lookup.duration' && resourceAttr(m.resource, 'service.name') === 'dig')
        .flatMap((m) => (m.metric.data.type === 'histogram' ? m.metric.data.dataPoints.map((p) => ({ p, unit: m.metric.unit })) : []));
      const find = (type: string, name: string) => points.filter(({ p }) => attr(p, 'dns.question.type') === type && attr(p, 'dns.question.name') === name).at(-1);
      const a = find('A', NAME);
      const nx = find('A', `nope.${DOMAIN}`);
      const aaaa = find('AAAA', NAME);
      if (a && nx && aaaa) {
        assert.equal(a.unit, 's');
        assert.equal(a.p.count, 1);
        assert.equal(attr(a.p, 'dns.response.code'), 'NOERROR');
        assert.equal(attr(a.p, 'error.type'), undefined);
        assert.ok((a.p.sum ?? 0) > 0 && (a.p.sum ?? 0) < 5);
        assert.deepEqual(a.p.explicitBounds, [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
        assert.equal(aaaa.p.count, 1);
        assert.equal(nx.p.count, 1);
        assert.equal(attr(nx.p, 'dns.response.code'), 'NXDOMAIN');
        assert.equal(attr(nx.p, 'error.type'), 'NXDOMAIN');
        assert.equal(attr(a.p, 'server.address'), undefined, 'low-cardinality attributes only');
        break;
      }
      if (Date.now() > deadline) throw new Error(`no dns.lookup.duration points for dig: ${JSON.stringify(points.map(({ p }) => p.attributes), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      await sleep(500);
    }
    // the server side feeds no lookup metric
    assert.equal(traced.metrics().filter((m) => m.metric.name === 'dns.lookup.duration' && resourceAttr(m.resource, 'service.name') === 'dnsmasq').length, 0);
    await sleep(5500); // bpfcol's own counts are added every 5 s
    const self = await traced.selfMetrics();
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total', { protocol: 'dns' }), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_responses_unmatched_total', { protocol: 'dns' }), 0);
    assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_requests_total', { protocol: 'dns' }) >= 16);
  });
});
