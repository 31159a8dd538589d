// socket_trace against real HTTP/2 peers: a @grpc/grpc-js server and client (unary and
// server-streaming calls, OK and error statuses, one channel) and curl --http2-prior-knowledge
// against nginx listening for cleartext HTTP/2. Spans reach a file exporter through bpfcol's CLI;
// each is checked field by field, and the rpc.*.duration metrics.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

type Found = Awaited<ReturnType<typeof waitForSpans>>;

describe('socket_trace: HTTP/2 and gRPC with grpc-js, nginx and curl', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;
  let grpcPort: number;
  let grpcServer: ChildProcess | undefined;

  before(async () => {
    dir = tempDir('bpfcol-st-http2-');
    grpcPort = await freePort();
    nginx = await startNginx(
      join(dir.path, 'nginx'),
      await freePort(),
      `    location / { return 200 "hello\\n"; }
    location /down { return 503 "down\\n"; }
    location /multi { return 200 "multi\\n"; }
    location /big { return 200 "${'b'.repeat(3500)}"; }`,
      { listen: 'http2' },
    );
    traced = await startTraced(dir.path, [nginx.port, grpcPort], 'protocols: [http2]');
  });

  after(async () => {
    grpcServer?.stdin?.end();
    if (grpcServer && grpcServer.exitCode === null) await once(grpcServer, 'exit');
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  const peer = (mode: 'server' | 'client', name: string, ...args: string[]) =>
    spawn(process.execPath, [join(import.meta.dirname, 'fixtures/grpc-peer.ts'), mode, String(grpcPort), ...args], { env: { ...process.env, OTEL_SERVICE_NAME: name }, stdio: ['pipe', 'pipe', 'inherit'] });
  const firstLine = async (p: ChildProcess) => JSON.parse(((await once(createInterface({ input: p.stdout! }), 'line')) as [string])[0]);

  const EXPECTED = [
    // [method, grpc status, status name]
    ['Get', 0n, undefined],
    ['Get', 5n, 'NOT_FOUND'],
    ['List', 0n, undefined],
    ['List', 10n, 'ABORTED'],
    ['Get', 0n, undefined],
    ['List', 0n, undefined],
  ] as const;

  it('grpc-js unary and server-streaming calls: a SERVER and a CLIENT span each, rpc.* attributes, grpc-status from the trailers', async () => {
    grpcServer = peer('server', 'items-server');
    const { pid: serverPid } = await firstLine(grpcServer);
    // the client stays until its spans are in: its service.name is read from its live /proc
    // (had the test failed before, its stdin closes with this process)
    const app = peer('client', 'items-client', 'stay');
    const { startNs, endNs, value } = await bracket(async () => (await firstLine(app)) as { pid: number; results: [string, string, number][] });
    assert.deepEqual(value.results.map((r) => r[2]), [0, 5, 0, 10, 0, 0], 'what the calls returned');
    const grpcSpan = (kind: number, pid: number) => (s: Found[number]) => s.span.kind === kind && resourceAttr(s.resource, 'process.pid') === BigInt(pid) && attr(s.span, 'rpc.system') === 'grpc';
    const server = await waitForSpans(traced, grpcSpan(SERVER, serverPid), EXPECTED.length);
    const client = await waitForSpans(traced, grpcSpan(CLIENT, value.pid), EXPECTED.length);
    app.stdin!.end();
    for (const [side, spans] of [['server', server], ['client', client]] as const) {
      assert.equal(spans.length, EXPECTED.length, `${side}: one span per call`);
      // in the order the calls were made (one channel, one call at a time)
      spans.sort((a, b) => (a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : 1));
      spans.forEach(({ span, resource }, i) => {
        const [method, code, name] = EXPECTED[i]!;
        const what = `${side} span ${i} (${method})`;
        assert.equal(span.name, `demo.v1.Items/${method}`, what);
        assert.equal(resourceAttr(resource, 'service.name'), side === 'server' ? 'items-server' : 'items-client');
        assert.equal(resourceAttr(resource, 'process.executable.name'), 'node');
        assert.equal(attr(span, 'rpc.system'), 'grpc');
        assert.equal(attr(span, 'rpc.service'), 'demo.v1.Items');
        assert.equal(attr(span, 'rpc.method'), method);
        assert.equal(attr(span, 'rpc.grpc.status_code'), code, what);
        assert.equal(attr(span, 'error.type'), name, what);
        assert.equal(span.status.code, name ? ERROR : 0, what);
        assert.equal(attr(span, 'server.address'), '127.0.0.1');
        assert.equal(attr(span, 'server.port'), BigInt(grpcPort));
        assert.equal(attr(span, 'network.peer.address'), '127.0.0.1');
        assert.equal(attr(span, 'network.peer.port'), side === 'server' ? attr(span, 'network.peer.port') : BigInt(grpcPort));
        assert.equal(attr(span, 'network.protocol.name'), 'http');
        assert.equal(attr(span, 'network.protocol.version'), '2');
        assert.match(String(attr(span, 'user_agent.original')), /^grpc-node-js\//);
        assert.equal(attr(span, 'http.request.method'), undefined, 'gRPC spans are RPC spans');
        if (side === 'server') assert.equal(attr(span, 'client.address'), '127.0.0.1');
        assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs, `${what}: within the client's run`);
        assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
      });
    }
    // one channel: one connection
    assert.equal(new Set(server.map((s) => attr(s.span, 'network.peer.port'))).size, 1);
    // the client's span holds the server's
    server.forEach((s, i) => assert.ok(client[i]!.span.startTimeUnixNano <= s.span.startTimeUnixNano, `call ${i}: the client starts first`));
    // bpfcol's own counters are added every 5 s
    let self = await traced.selfMetrics();
    for (const deadline = Date.now() + 15_000; counterValue(self, 'bpfcol_receiver_socket_trace_requests_total', { protocol: 'http2' }) < 2 * EXPECTED.length && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      self = await traced.selfMetrics();
    }
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total', { protocol: 'http2' }), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_requests_skipped_total', { protocol: 'http2' }), 0, 'both connections seen from their start: every header block decoded');
    // the last List's 20 kB messages went out in writes longer than capture_bytes: the kernel cut
    // them at frame boundaries, so its trailers (grpc-status) were read all the same
    assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_payloads_truncated_total') >= 1);
  });

  it('rpc.server.duration and rpc.client.duration, in milliseconds, per method and status', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = traced.metrics();
      const server = m.filter((x) => x.metric.name === 'rpc.server.duration' && resourceAttr(x.resource, 'service.name') === 'items-server').at(-1);
      const client = m.filter((x) => x.metric.name === 'rpc.client.duration' && resourceAttr(x.resource, 'service.name') === 'items-client').at(-1);
      if (server?.metric.data.type === 'histogram' && client?.metric.data.type === 'histogram') {
        assert.equal(server.metric.unit, 'ms');
        assert.equal(client.metric.unit, 'ms');
        const points = server.metric.data.dataPoints;
        const key = (p: (typeof points)[number]) => `${attr(p, 'rpc.method')} ${attr(p, 'rpc.grpc.status_code')} ${attr(p, 'error.type') ?? ''}`.trim();
        assert.deepEqual(points.map(key).sort(), ['Get 0', 'Get 5 NOT_FOUND', 'List 0', 'List 10 ABORTED']);
        assert.deepEqual(points.map((p) => p.count), points.map((p) => (key(p) === 'Get 0' || key(p) === 'List 0' ? 2 : 1)));
        for (const p of points) {
          assert.equal(attr(p, 'rpc.system'), 'grpc');
          assert.equal(attr(p, 'rpc.service'), 'demo.v1.Items');
          assert.equal(attr(p, 'server.address'), undefined, 'server metrics: no server.address');
          assert.equal(p.explicitBounds[0], 5, 'bounds in ms');
          assert.ok(p.sum! > 0 && p.sum! < 60_000, `a sum in ms: ${p.sum}`);
        }
        const cp = client.metric.data.dataPoints;
        assert.equal(cp.reduce((n, p) => n + p.count, 0), EXPECTED.length);
        for (const p of cp) assert.equal(attr(p, 'server.port'), BigInt(grpcPort));
        return;
      }
      if (Date.now() > deadline) throw new Error('no rpc metrics');
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it('curl --http2-prior-knowledge against nginx (h2c): method, path, status on both sides', async () => {
    const base = `http://127.0.0.1:${nginx.port}`;
    const paths = ['/h2/1', '/down', '/big', '/h2/2'];
    // one curl per URL: curl 7.88 fails (exit 16) on the second request of a reused h2c prior-knowledge connection
    const { startNs, endNs } = await bracket(async () => {
      for (const p of paths) await run('curl', ['-s', '--http2-prior-knowledge', '-o', '/dev/null', `${base}${p}${p === '/h2/1' ? '?secret=1' : ''}`]);
    });
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && resourceAttr(s.resource, 'service.name') === 'nginx' && paths.includes(String(attr(s.span, 'url.path'))) && s.span.startTimeUnixNano >= startNs, 4);
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && resourceAttr(s.resource, 'service.name') === 'curl' && paths.some((p) => String(attr(s.span, 'url.full')).replace(/\?.*/, '').endsWith(p)), 4);
    assert.equal(server.length, 4);
    assert.equal(client.length, 4);
    const status: Record<string, bigint> = { '/h2/1': 200n, '/down': 503n, '/big': 200n, '/h2/2': 200n };
    for (const { span } of server) {
      const path = String(attr(span, 'url.path'));
      assert.equal(span.name, 'GET');
      assert.equal(attr(span, 'http.request.method'), 'GET');
      assert.equal(attr(span, 'url.scheme'), 'http');
      assert.equal(attr(span, 'url.query'), undefined, 'no query by default');
      assert.equal(attr(span, 'http.response.status_code'), status[path]);
      assert.equal(span.status.code, path === '/down' ? ERROR : 0);
      assert.equal(attr(span, 'error.type'), path === '/down' ? '503' : undefined);
      assert.equal(attr(span, 'network.protocol.name'), 'http');
      assert.equal(attr(span, 'network.protocol.version'), '2');
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.equal(attr(span, 'client.address'), '127.0.0.1');
      assert.match(String(attr(span, 'user_agent.original')), /^curl\//);
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
    }
    for (const { span } of client) {
      const url = String(attr(span, 'url.full'));
      const path = url.replace(`http://127.0.0.1:${nginx.port}`, '');
      assert.ok(paths.includes(path), `${url}: the query is left out by default`);
      assert.equal(span.name, 'GET');
      assert.equal(attr(span, 'http.response.status_code'), status[path]);
      assert.equal(span.status.code, path === '/down' ? ERROR : 0);
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.equal(attr(span, 'network.protocol.version'), '2');
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = traced.metrics().filter((x) => x.metric.name === 'http.server.request.duration' && resourceAttr(x.resource, 'service.name') === 'nginx').at(-1);
      if (m?.metric.data.type === 'histogram') {
        const p503 = m.metric.data.dataPoints.find((p) => attr(p, 'http.response.status_code') === 503n);
        assert.ok(p503);
        assert.equal(attr(p503, 'network.protocol.version'), '2');
        assert.equal(m.metric.unit, 's');
        break;
      }
      if (Date.now() > deadline) throw new Error('no http metrics');
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it('a Node HTTP/2 client multiplexing 20 concurrent streams on one connection to nginx: every stream paired by its id', async () => {
    const session = http2.connect(`http://127.0.0.1:${nginx.port}`);
    const one = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const s = session.request({ ':path': path, 'x-request-id': path });
        let status = 0;
        s.on('response', (h) => (status = Number(h[':status'])));
        s.resume();
        s.on('end', () => resolve(status));
        s.on('error', reject);
        s.end();
      });
    const paths = Array.from({ length: 20 }, (_, i) => (i % 5 === 4 ? `/down/${i}` : `/multi/${i}`));
    const statuses = await Promise.all(paths.map(one));
    session.close();
    assert.deepEqual(statuses, paths.map((p) => (p.startsWith('/down') ? 503 : 200)));
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && /^\/(multi|down)\/\d+$/.test(String(attr(s.span, 'url.path'))), 20);
    assert.equal(server.length, 20);
    assert.deepEqual(server.map((s) => String(attr(s.span, 'url.path'))).sort(), [...paths].sort());
    for (const { span } of server) {
      const down = String(attr(span, 'url.path')).startsWith('/down');
      assert.equal(attr(span, 'http.response.status_code'), down ? 503n : 200n);
      assert.equal(span.status.code, down ? ERROR : 0);
    }
    assert.equal(new Set(server.map((s) => attr(s.span, 'network.peer.port'))).size, 1, 'one connection');
    // this process is the client: its spans too
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && resourceAttr(s.resource, 'process.pid') === BigInt(process.pid) && /\/(multi|down)\/\d+$/.test(String(attr(s.span, 'url.full'))), 20);
    assert.equal(client.length, 20);
  });

  it('attached to a gRPC connection in the middle: its streams are counted as skipped, never described from a guessed HPACK table', async () => {
    // a new bpfcol, started while the channel already carried two calls
    const port = await freePort();
    const server = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/grpc-peer.ts'), 'server', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let client: ChildProcess | undefined;
    let late: TracedRun | undefined;
    const lateDir = tempDir('bpfcol-st-http2-late-');
    try {
      await firstLine(server);
      client = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/grpc-peer.ts'), 'client-paused', String(port), '20'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
      const { pid, before } = JSON.parse((await lines.next()).value as string);
      assert.deepEqual(before, [0, 0], 'the channel carried two calls before bpfcol started');
      late = await startTraced(lateDir.path, [port], 'protocols: [http2]');
      client.stdin!.write('go\n');
      const { codes } = JSON.parse((await lines.next()).value as string) as { codes: number[] };
      assert.deepEqual(codes, new Array(20).fill(0));
      // the kernel recognised the connection from a HEADERS frame (its role unknown: it predates
      // bpfcol); both directions' tables hold entries inserted before: every header block that
      // references them is left undecoded, each stream counted once per side
      let self = await late.selfMetrics();
      const seen = () => counterValue(self, 'bpfcol_receiver_socket_trace_requests_skipped_total', { protocol: 'http2' }) + late!.spans().length;
      for (const deadline = Date.now() + 20_000; seen() < 40 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 500));
        self = await late.selfMetrics();
      }
      const spans = late.spans();
      assert.equal(seen(), 40, 'each of the 20 calls on both sides: a span or a skipped stream');
      assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_requests_skipped_total', { protocol: 'http2' }) > 0, `${spans.length} spans: ${JSON.stringify(spans.map((x) => [x.span.kind, resourceAttr(x.resource, 'process.pid'), attr(x.span, 'network.peer.port'), x.span.startTimeUnixNano]), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      for (const { span, resource } of spans) {
        // whatever could be decoded is exact
        assert.equal(span.name, 'demo.v1.Items/Get');
        assert.equal(attr(span, 'rpc.grpc.status_code'), 0n);
        assert.ok([BigInt(pid), BigInt(server.pid!)].includes(resourceAttr(resource, 'process.pid') as bigint));
      }
      assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total', { protocol: 'http2' }), 0);
    } finally {
      server.stdin!.end();
      if (client && client.exitCode === null) client.kill();
      await late?.stop();
      if (server.exitCode === null) await once(server, 'exit');
      lateDir.cleanup();
    }
  });
});
