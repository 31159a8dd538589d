// A request carrying a W3C traceparent joins its trace: an app instrumented with the
// OpenTelemetry SDK calls nginx and sends its own span to bpfcol's otlp receiver; socket_trace's
// spans of that request (nginx's SERVER span, the app's CLIENT span seen from its syscalls) share
// the app's trace id and have the app's span as parent, all in one file exporter's output.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: W3C traceparent', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;
  let otlpPort: number;

  before(async () => {
    dir = tempDir('bpfcol-st-tp-');
    otlpPort = await freePort();
    nginx = await startNginx(join(dir.path, 'nginx'), await freePort(), '    location / { return 200 "in stock\\n"; }');
    traced = await startTraced(dir.path, [nginx.port], '', { otlpPort });
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  it("an SDK app's span and the eBPF spans of its request share one trace", async () => {
    const out = await run(process.execPath, [join(import.meta.dirname, 'fixtures/traced-client.ts'), `http://127.0.0.1:${otlpPort}`, `http://127.0.0.1:${nginx.port}/inventory`]);
    const app = JSON.parse(out.stdout) as { traceId: string; spanId: string; traceparent: string };
    assert.match(app.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const inTrace = await waitForSpans(traced, (s) => s.span.traceId === app.traceId, 3);
    const sdk = inTrace.find((s) => s.span.spanId === app.spanId);
    assert.ok(sdk, "the app's own span arrived through the otlp receiver");
    assert.equal(resourceAttr(sdk.resource, 'service.name'), 'checkout');
    const server = inTrace.find((s) => s.span.kind === 2);
    assert.ok(server, "nginx's SERVER span is in the app's trace");
    assert.equal(resourceAttr(server.resource, 'service.name'), 'nginx');
    assert.equal(server.span.parentSpanId, app.spanId, "its parent is the app's CLIENT span");
    assert.equal(attr(server.span, 'url.path'), '/inventory');
    assert.equal(server.span.flags! & 0x300, 0x300, 'the parent is remote');
    const client = inTrace.find((s) => s.span.kind === 3 && s.span.spanId !== app.spanId);
    assert.ok(client, "the app's HTTP call, seen from its syscalls, is in the trace too");
    assert.equal(client.span.parentSpanId, app.spanId);
    assert.equal(resourceAttr(client.resource, 'process.executable.name'), 'node');
    // spans without a traceparent start traces of their own
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${nginx.port}/plain`]);
    const plain = await waitForSpans(traced, (s) => s.span.kind === 2 && attr(s.span, 'url.path') === '/plain', 1);
    assert.notEqual(plain[0]!.span.traceId, app.traceId);
    assert.equal(plain[0]!.span.parentSpanId, undefined);
  });
});
