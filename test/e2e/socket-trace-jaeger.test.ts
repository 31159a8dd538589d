// The journey users come for: a real nginx, traced by socket_trace with no instrumentation,
// bpfcol's jaeger exporter, a real Jaeger v2 (test/peers/jaeger.sh): the requests are found
// through Jaeger's query API, server spans under nginx and client spans under curl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../support/cli.ts';
import { type JaegerApiSpan, type JaegerPeer, startJaeger } from '../support/jaeger.ts';
import { type NginxServer, startNginx } from '../support/nginx.ts';
import { freePort } from '../support/ports.ts';

const tag = (span: JaegerApiSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

describe('nginx -> socket_trace -> jaeger exporter -> Jaeger v2', () => {
  assert.equal(process.getuid?.(), 0, 'socket_trace loads eBPF programs: run as root');
  const dir = tempDir('bpfcol-e2e-st-jaeger-');
  let jaeger: JaegerPeer;
  let nginx: NginxServer;
  let bpfcol: RunningBpfcol;
  const path = `/cart-${process.pid}`;

  before(async () => {
    jaeger = await startJaeger();
    nginx = await startNginx(join(dir.path, 'nginx'), await freePort(), `    location / { return 200 "ok\\n"; }\n    location /fail { return 503 "down\\n"; }`);
    bpfcol = await startBpfcol(
      writeConfig(
        dir.path,
        `
receivers:
  socket_trace:
    filters: { ports: [${nginx.port}] }
processors:
  batch: { timeout: 100ms }
exporters:
  jaeger: { endpoint: ${jaeger.otlpGrpcEndpoint} }
service:
  telemetry: { metrics: { address: "127.0.0.1:${await freePort()}" } }
  pipelines:
    traces: { receivers: [socket_trace], processors: [batch], exporters: [jaeger] }
`,
      ),
      {},
      120_000,
    );
  });

  after(async () => {
    await bpfcol?.stop();
    await nginx?.stop();
    await jaeger?.stop();
    dir.cleanup();
  });

  it('Jaeger finds each request: a SERVER span under nginx, a CLIENT span under curl, errors marked', async () => {
    for (let i = 0; i < 3; i++) execFileSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${nginx.port}${path}`]);
    execFileSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${nginx.port}/fail`]);
    const serverSpans = (await jaeger.waitForTraces('nginx', (t) => t.flatMap((x) => x.spans).filter((s) => tag(s, 'url.path') === path).length >= 3, 60_000))
      .flatMap((t) => t.spans)
      .filter((s) => tag(s, 'url.path') === path);
    assert.equal(serverSpans.length, 3);
    for (const s of serverSpans) {
      assert.equal(tag(s, 'span.kind'), 'server');
      assert.equal(tag(s, 'http.request.method'), 'GET');
      assert.equal(Number(tag(s, 'http.response.status_code')), 200);
      assert.ok(s.duration > 0);
    }
    const failed = (await jaeger.waitForTraces('nginx', (t) => t.flatMap((x) => x.spans).some((s) => tag(s, 'url.path') === '/fail')))
      .flatMap((t) => t.spans)
      .find((s) => tag(s, 'url.path') === '/fail')!;
    assert.equal(Number(tag(failed, 'http.response.status_code')), 503);
    assert.equal(tag(failed, 'error'), true);

    const clientSpans = (await jaeger.waitForTraces('curl', (t) => t.flatMap((x) => x.spans).filter((s) => tag(s, 'span.kind') === 'client').length >= 4, 60_000)).flatMap((t) => t.spans);
    assert.ok(clientSpans.some((s) => tag(s, 'span.kind') === 'client' && Number(tag(s, 'http.response.status_code')) === 200));
    assert.ok((await jaeger.services()).includes('nginx'));
  });
});
