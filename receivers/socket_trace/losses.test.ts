// Losses are counted, never silent, and tracing recovers: with a 64 KiB ring (and no early
// wake-up), a 20 MB upload overflows it between drains (the kernel counts the records it could
// not write); the parsers see the gaps, and the requests after it are traced again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, counterValue, run, startTraced, waitForSpans } from './testing.ts';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

describe('socket_trace: losses are counted', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-loss-');
    nginx = await startNginx(join(dir.path, 'nginx'), await freePort(), '    client_max_body_size 100m;\n    client_body_buffer_size 32m; # in memory: the worker may not write into the root-owned temp dir\n    location / { return 200 "ok\\n"; }\n    location /upload { proxy_pass http://127.0.0.1:1/; error_page 502 = @done; }\n    location @done { return 201 "stored\\n"; }');
    traced = await startTraced(dir.path, [nginx.port], 'kernel: { ring_buffer_bytes: 65536, wakeup_bytes: 1048576 }');
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  it('a full ring is counted as lost records, the parsers resynchronise, later requests are traced', async () => {
    const file = join(dir.path, 'upload.bin');
    writeFileSync(file, Buffer.alloc(20 << 20, 0x61));
    // 40 MB/s: the ring fills between two drains (every 50 ms), and records come after each loss
    const upload = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '--limit-rate', '40M', '--data-binary', `@${file}`, '-H', 'Expect:', `http://127.0.0.1:${nginx.port}/upload`]);
    assert.equal(upload.stdout, '201 20971520', 'the upload went through');
    await new Promise((r) => setTimeout(r, 500)); // the ring drained
    for (let i = 0; i < 3; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${nginx.port}/after/${i}`]);
    const later = await waitForSpans(traced, (s) => s.span.kind === 2 && String(attr(s.span, 'url.path')).startsWith('/after/'), 3).catch(async (e: Error) => {
      console.log(traced.spans().map((s) => [s.span.kind, s.span.name, attr(s.span, 'url.path'), attr(s.span, 'url.full')]), await traced.selfMetrics().then((t) => t.split('\n').filter((l) => l.includes('socket_trace') && !l.startsWith('#')).join('\n')));
      throw e;
    });
    assert.equal(later.length, 3);
    await new Promise((r) => setTimeout(r, 6000)); // counts reach bpfcol's metrics every 5 s
    const self = await traced.selfMetrics();
    const lost = counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total', { reason: 'ring_full' });
    assert.ok(lost > 0, `records lost to the full ring are counted (${lost})`);
    assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_payloads_truncated_total') > 0, 'payloads cut at capture_bytes are counted');
    assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_stream_gaps_total', { protocol: 'http' }) > 0, `the parsers saw the gaps:\n${self.split('\n').filter((l) => l.includes('socket_trace') && !l.startsWith('#')).join('\n')}`);
  });
});
