// spans.sampling_ratio: HTTP/1.x server requests not sampled are measured in the kernel
// (bpf/socket_trace_http1.h) and never copied to bpfcol. Against a real nginx driven by wrk, curl
// and a raw pipelining client: every request must still be in http.server.request.duration, about
// the ratio of them must be spans, and neither side may count a loss, a gap or a stray message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import type { HistogramDataPoint } from '../../src/pdata/metrics.ts';
import { type TracedRun, attr, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const RATIO = 0.05;

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

/** nginx's http.server.request.duration points in the newest export (cumulative). */
function nginxPoints(traced: TracedRun): HistogramDataPoint[] {
  const last = traced
    .metrics()
    .filter((m) => m.metric.name === 'http.server.request.duration' && resourceAttr(m.resource, 'service.name') === 'nginx')
    .at(-1);
  return last?.metric.data.type === 'histogram' ? last.metric.data.dataPoints : [];
}

/** Requests in nginx's series with this status, once the metrics hold at least `atLeast` (waits for exports). */
async function measured(traced: TracedRun, status: bigint, atLeast: number): Promise<{ count: number; point: HistogramDataPoint }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const point = nginxPoints(traced).find((p) => attr(p, 'http.response.status_code') === status && attr(p, 'http.request.method') === 'GET');
    if (point && point.count >= atLeast) return { count: point.count, point };
    if (Date.now() > deadline) throw new Error(`http.server.request.duration{status=${status}} reached ${point?.count ?? 0} of ${atLeast}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function wrkRequests(args: string[]): Promise<number> {
  const out = await run('wrk', args);
  const requests = Number(/(\d+) requests in/.exec(out.stdout)?.[1]);
  assert.ok(requests > 100, `wrk made ${requests} requests`);
  return requests;
}

/** What bpfcol counted that would mean a request was lost or mangled (all must stay 0). */
async function losses(traced: TracedRun): Promise<Record<string, number>> {
  const self = await traced.selfMetrics();
  const out: Record<string, number> = {};
  for (const name of ['kernel_lost', 'parse_errors', 'stream_gaps', 'requests_unanswered', 'responses_unmatched', 'spans_dropped', 'records_dropped']) {
    out[name] = counterValue(self, `bpfcol_receiver_socket_trace_${name}_total`);
  }
  return out;
}

const kernelMeasured = async (traced: TracedRun) => counterValue(await traced.selfMetrics(), 'bpfcol_receiver_socket_trace_requests_total', { measured: 'kernel' });

describe('socket_trace: HTTP/1.x requests measured in the kernel (spans.sampling_ratio)', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-sampling-');
    nginx = await startNginx(
      `${dir.path}/nginx`,
      await freePort(),
      `    location / { return 200 "hello\\n"; }
    location /missing { return 404 "no\\n"; }`,
    );
    // nginx's side only: the clients' spans (every request: sampling is the server's) are not the point
    traced = await startTraced(dir.path, [nginx.port], `filters: { ports: [${nginx.port}], executables: [nginx] }\nspans: { sampling_ratio: ${RATIO} }`);
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  it(`wrk at full speed: every request in http.server.request.duration, about ${RATIO * 100}% of them spans`, async () => {
    const ok = await wrkRequests(['-t1', '-c4', '-d3s', `http://127.0.0.1:${nginx.port}/sampled`]);
    const missing = await wrkRequests(['-t1', '-c2', '-d1s', `http://127.0.0.1:${nginx.port}/missing`]);
    // wrk counts the responses it read in time: up to one more per connection was in flight
    const status200 = await measured(traced, 200n, ok);
    const status404 = await measured(traced, 404n, missing);
    assert.ok(status200.count <= ok + 4, `${status200.count} requests measured with 200 for ${ok} made`);
    assert.ok(status404.count <= missing + 2, `${status404.count} requests measured with 404 for ${missing} made`);
    for (const { point } of [status200, status404]) {
      assert.equal(point.bucketCounts.reduce((a, b) => a + b, 0), point.count, 'buckets add up to the count');
      assert.ok(point.sum !== undefined && point.sum > 0 && point.sum < point.count * 0.1, `sum ${point.sum} s`);
      assert.ok(point.min !== undefined && point.max !== undefined && point.min > 0 && point.min <= point.max, `min ${point.min}, max ${point.max}`);
      assert.equal(attr(point, 'url.scheme'), 'http');
      assert.equal(attr(point, 'network.protocol.version'), '1.1');
    }
    assert.equal(attr(status404.point, 'error.type'), undefined, '404 is no server error');

    // spans: the sampled share (and each connection's first request, always sent)
    const spans = await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'url.path') === '/sampled', Math.floor(ok * RATIO * 0.7));
    const share = spans.length / ok;
    assert.ok(share > RATIO * 0.7 && share < RATIO * 1.3, `${spans.length} spans of ${ok} requests: ${(share * 100).toFixed(2)}%`);
    for (const { span } of spans) assert.equal(attr(span, 'http.response.status_code'), 200n);

    // bpfcol's counts: measured in the kernel + spans = requests; nothing lost or misparsed
    const deadline = Date.now() + 15_000;
    let kernel = 0;
    const all = () => traced.spans().filter((s) => s.span.kind === SERVER && ['/sampled', '/missing'].includes(String(attr(s.span, 'url.path')))).length;
    while ((kernel = await kernelMeasured(traced)) + all() < ok + missing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    const total = kernel + all();
    assert.ok(total >= ok + missing && total <= ok + missing + 6, `${kernel} measured in the kernel + ${all()} spans for ${ok + missing} requests`);
    assert.ok(kernel > (ok + missing) * 0.8, `${kernel} measured in the kernel`);
    await new Promise((r) => setTimeout(r, 6000)); // bpfcol's own counts are updated every 5 s
    const { requests_unanswered: unanswered, ...rest } = await losses(traced);
    // a sampled request in flight when wrk stopped may have had no response to read
    assert.ok((unanswered ?? 0) <= 6, `${unanswered} requests unanswered`);
    assert.deepEqual(rest, { kernel_lost: 0, parse_errors: 0, stream_gaps: 0, responses_unmatched: 0, spans_dropped: 0, records_dropped: 0 });
  });

  it('pipelined requests (three per write): each a span, none measured in the kernel as well', async () => {
    await new Promise((r) => setTimeout(r, 6000)); // the kernel's counts reach bpfcol's metrics every 5 s
    const before = await kernelMeasured(traced);
    const request = `GET /pipelined HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const socket = connect(nginx.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    const responses = () => received.split('HTTP/1.1 200').length - 1;
    for (let batch = 1; batch <= 20; batch++) {
      socket.write(request.repeat(3));
      const deadline = Date.now() + 5000;
      while (responses() < batch * 3) {
        if (Date.now() > deadline) throw new Error(`batch ${batch}: ${responses()} responses`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    socket.end();
    const spans = await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'url.path') === '/pipelined', 60);
    assert.equal(spans.length, 60);
    await new Promise((r) => setTimeout(r, 6000)); // the kernel's counts reach bpfcol's metrics every 5 s
    assert.equal(await kernelMeasured(traced), before, 'a pipelining connection goes to user space whole');
    const { requests_unanswered: _unanswered, ...rest } = await losses(traced); // wrk's, in the test before
    assert.deepEqual(rest, { kernel_lost: 0, parse_errors: 0, stream_gaps: 0, responses_unmatched: 0, spans_dropped: 0, records_dropped: 0 });
  });
});

describe('socket_trace: spans off, every HTTP/1.x server request measured in the kernel', { timeout: 120_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-nospans-');
    nginx = await startNginx(`${dir.path}/nginx`, await freePort(), `    location / { return 200 "hello\\n"; }`);
    traced = await startTraced(dir.path, [nginx.port], 'spans: { enabled: false }');
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  it('curl over one keep-alive connection: five requests in the histogram, the first parsed in bpfcol, four in the kernel, no span', async () => {
    const url = `http://127.0.0.1:${nginx.port}/only-metrics`;
    await run('curl', ['-s', ...Array.from({ length: 5 }, () => ['-o', '/dev/null', url]).flat()]);
    const { count } = await measured(traced, 200n, 5);
    assert.equal(count, 5);
    const deadline = Date.now() + 15_000;
    while ((await kernelMeasured(traced)) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    assert.equal(await kernelMeasured(traced), 4, "the connection's first request names its protocol in bpfcol; the others are measured in the kernel");
    assert.equal(traced.spans().length, 0);
    assert.deepEqual(await losses(traced), { kernel_lost: 0, parse_errors: 0, stream_gaps: 0, requests_unanswered: 0, responses_unmatched: 0, spans_dropped: 0, records_dropped: 0 });
  });
});
