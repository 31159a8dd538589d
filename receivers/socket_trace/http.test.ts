// socket_trace against real HTTP/1.1 servers and clients: nginx with curl and wrk (keep-alive and
// a connection per request), and a Node http server with its own client. Spans reach a file
// exporter through bpfcol's CLI; each is checked for count, name, attributes, status and times.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: HTTP/1.1 with nginx, curl, wrk and Node', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;
  let nodePort: number;

  before(async () => {
    dir = tempDir('bpfcol-st-http-');
    const port = await freePort();
    nodePort = await freePort();
    nginx = await startNginx(
      join(dir.path, 'nginx'),
      port,
      `    location / { return 200 "hello\\n"; }
    location /down { return 503 "down\\n"; }
    location /big { return 200 "${'b'.repeat(3000)}"; }`,
    );
    traced = await startTraced(dir.path, [port, nodePort]);
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  it('curl over one keep-alive connection: a SERVER span in nginx and a CLIENT span in curl per request', async () => {
    const base = `http://127.0.0.1:${nginx.port}`;
    const { startNs, endNs } = await bracket(() => run('curl', ['-s', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${base}/keep/1`, `${base}/down`, `${base}/big?q=1`]));
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && ['/keep/1', '/down', '/big'].includes(String(attr(s.span, 'url.path'))), 3);
    const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && /\/(keep\/1|down|big)$/.test(String(attr(s.span, 'url.full'))), 3);
    assert.equal(server.length, 3);
    assert.equal(client.length, 3);
    for (const { span, resource } of server) {
      assert.equal(span.name, 'GET');
      assert.equal(resourceAttr(resource, 'service.name'), 'nginx');
      assert.equal(resourceAttr(resource, 'process.executable.name'), 'nginx');
      assert.equal(typeof resourceAttr(resource, 'process.pid'), 'bigint');
      assert.ok(resourceAttr(resource, 'host.name'));
      assert.equal(attr(span, 'http.request.method'), 'GET');
      assert.equal(attr(span, 'url.scheme'), 'http');
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.equal(attr(span, 'network.peer.address'), '127.0.0.1');
      assert.equal(attr(span, 'network.protocol.version'), '1.1');
      assert.match(String(attr(span, 'user_agent.original')), /^curl\//);
      assert.equal(attr(span, 'url.query'), undefined, 'no query by default');
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs, 'within the time curl ran');
      assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
    }
    const byPath = new Map(server.map((s) => [String(attr(s.span, 'url.path')), s.span]));
    assert.equal(attr(byPath.get('/keep/1')!, 'http.response.status_code'), 200n);
    assert.equal(byPath.get('/keep/1')!.status.code, 0);
    assert.equal(attr(byPath.get('/down')!, 'http.response.status_code'), 503n);
    assert.equal(byPath.get('/down')!.status.code, 2, '5xx: status ERROR');
    assert.equal(attr(byPath.get('/down')!, 'error.type'), '503');
    // one connection: the peer port is the same for the three
    assert.equal(new Set(server.map((s) => attr(s.span, 'network.peer.port'))).size, 1);
    for (const { span, resource } of client) {
      assert.equal(resourceAttr(resource, 'service.name'), 'curl');
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      const path = String(attr(span, 'url.full')).replace(/^http:\/\/127\.0\.0\.1:\d+/, '');
      const inner = byPath.get(path)!;
      // the client's span holds the server's (same clock, same kernel): it starts before; it ends
      // when curl's read returns, which may be a little before nginx's write call itself returns
      assert.ok(span.startTimeUnixNano <= inner.startTimeUnixNano, `client span of ${path} starts first`);
      assert.ok(inner.endTimeUnixNano <= span.endTimeUnixNano + 1_000_000n, `client span of ${path} ends with the server's`);
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs);
    }
    assert.equal(client.find((s) => String(attr(s.span, 'url.full')).endsWith('/down'))!.span.status.code, 2);
  });

  it('curl with a connection per request', async () => {
    for (let i = 0; i < 5; i++) await run('curl', ['-s', '-o', '/dev/null', '-H', 'Connection: close', `http://127.0.0.1:${nginx.port}/close/${i}`]);
    const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && String(attr(s.span, 'url.path')).startsWith('/close/'), 5);
    assert.equal(server.length, 5);
    assert.equal(new Set(server.map((s) => attr(s.span, 'network.peer.port'))).size, 5, 'five connections');
  });

  for (const close of [false, true]) {
    it(`wrk ${close ? 'with a connection per request' : 'keep-alive'}: one span per request, nothing lost`, async () => {
      const path = close ? '/wrk-close' : '/wrk-keepalive';
      // About 4,000 requests/s (4 connections, 1 ms between requests): both sides are traced and
      // the file exporter writes every span; bench/socket_trace-nginx.ts finds the rate limits.
      const script = join(dir.path, 'pace.lua');
      writeFileSync(script, 'function delay() return 1 end\n');
      const out = await run('wrk', ['-t1', '-c4', '-d2s', '-s', script, ...(close ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${nginx.port}${path}`]);
      const requests = Number(/(\d+) requests in/.exec(out.stdout)?.[1]);
      assert.ok(requests > 100, `wrk made ${requests} requests`);
      // wrk counts the responses it read before its time was up; up to one more per connection was in flight
      const server = await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'url.path') === path, requests, 60_000);
      assert.ok(server.length >= requests && server.length <= requests + 4, `nginx spans ${server.length} for ${requests} requests`);
      const client = await waitForSpans(traced, (s) => s.span.kind === CLIENT && String(attr(s.span, 'url.full')).endsWith(path), requests, 60_000);
      assert.ok(client.length >= requests && client.length <= requests + 4, `wrk spans ${client.length} for ${requests} requests`);
      for (const { span } of server) assert.equal(attr(span, 'http.response.status_code'), 200n);
      const self = await traced.selfMetrics();
      assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0, 'no record lost');
      assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_spans_dropped_total'), 0);
    });
  }

  it('a Node http server and its client: both sides, POST bodies, chunked responses, service.name from OTEL_SERVICE_NAME', async () => {
    const app = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/node-http.ts'), String(nodePort), 'stay'], {
      env: { ...process.env, OTEL_SERVICE_NAME: 'orders-api' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: app.stdout }), 'line')) as [string];
    const { pid, results } = JSON.parse(line) as { pid: number; results: [string, string, number][] };
    assert.deepEqual(results.map((r) => r[2]), [200, 200, 200, 500]);
    const mine = (s: { resource: Parameters<typeof resourceAttr>[0] }) => resourceAttr(s.resource, 'process.pid') === BigInt(pid);
    const server = await waitForSpans(traced, (s) => mine(s) && s.span.kind === SERVER, 4);
    const client = await waitForSpans(traced, (s) => mine(s) && s.span.kind === CLIENT, 4);
    app.stdin.end(); // it exits; had the test failed earlier, its stdin closes with this process
    for (const side of [server, client]) {
      assert.equal(side.length, 4);
      assert.deepEqual(side.map((s) => [s.span.name, s.span.kind === SERVER ? attr(s.span, 'url.path') : String(attr(s.span, 'url.full')).replace(/^http:\/\/[^/]+/, ''), attr(s.span, 'http.response.status_code')]), results.map(([m, p, c]) => [m, p, BigInt(c)]));
      for (const s of side) {
        assert.equal(resourceAttr(s.resource, 'service.name'), 'orders-api');
        assert.equal(resourceAttr(s.resource, 'process.executable.name'), 'node');
      }
    }
    assert.equal(server[3]!.span.status.code, 2);
    assert.equal(client[3]!.span.status.code, 2);
    // the chunked response ended with its last chunk, written 20 ms after the first
    const chunked = server[2]!.span;
    assert.ok(chunked.endTimeUnixNano - chunked.startTimeUnixNano >= 19_000_000n, 'the span lasts until the last chunk');
  });

  it('request metrics: http.server.request.duration and http.client.request.duration with low-cardinality attributes', async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const metrics = traced.metrics();
      const server = metrics.filter((m) => m.metric.name === 'http.server.request.duration' && resourceAttr(m.resource, 'service.name') === 'nginx');
      const client = metrics.filter((m) => m.metric.name === 'http.client.request.duration' && resourceAttr(m.resource, 'service.name') === 'curl');
      const last = server.at(-1);
      if (last && client.length && last.metric.data.type === 'histogram') {
        const points = last.metric.data.dataPoints;
        assert.equal(last.metric.unit, 's');
        const down = points.find((p) => attr(p, 'http.response.status_code') === 503n);
        assert.ok(down, 'a series for the 503');
        assert.equal(attr(down, 'error.type'), '503');
        assert.equal(attr(down, 'http.request.method'), 'GET');
        for (const p of points) {
          assert.equal(attr(p, 'url.path'), undefined, 'no path on metrics');
          assert.equal(attr(p, 'client.port'), undefined);
          assert.ok(p.count > 0 && p.bucketCounts.reduce((a, b) => a + b, 0) === p.count);
        }
        const clientPoints = client.at(-1)!.metric.data.type === 'histogram' ? client.at(-1)!.metric.data.dataPoints : [];
        assert.ok(clientPoints.some((p) => attr(p, 'server.port') === BigInt(nginx.port)));
        return;
      }
      if (Date.now() > deadline) throw new Error('no request metrics');
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
