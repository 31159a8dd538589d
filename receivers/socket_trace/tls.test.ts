// socket_trace through TLS: nginx serving HTTPS (Debian's OpenSSL 3, libssl.so.3) with a
// self-signed certificate made here, hit by curl (libssl.so.3 too) and by a Node https client
// (Node's own OpenSSL, linked statically into its binary, with memory BIOs: the event loop moves
// the ciphertext). The spans must carry the decrypted method, path and status, `tls.established`,
// and no span may come from the ciphertext. A Node binary copied after bpfcol started (a file
// bpfcol has never seen) shows that processes are attached at exec.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { tempDir } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type TracedRun, attr, bracket, counterValue, resourceAttr, run, startTraced, waitForSpans } from './testing.ts';

const SERVER = 2;
const CLIENT = 3;
const FIXTURE = join(import.meta.dirname, 'fixtures/node-https-client.ts');

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

type Found = { span: Parameters<typeof attr>[0] & { kind: number; name: string; status: { code: number }; startTimeUnixNano: bigint; endTimeUnixNano: bigint }; resource: Parameters<typeof resourceAttr>[0] };

/**
 * Runs the Node https client fixture with `node` (a path to a node binary) and resolves with what it
 * printed; it lives on until `done()` (bpfcol reads its /proc entry when its first record arrives).
 */
async function nodeClient(node: string, port: number, prefix: string, delayMs = 0): Promise<{ pid: number; results: [string, string, number][]; done: () => void }> {
  const child = spawn(node, [FIXTURE, String(port), prefix, String(delayMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = () => {
    clearTimeout(timer);
    child.stdin.end();
  };
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    return { ...(JSON.parse(line) as { pid: number; results: [string, string, number][] }), done };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

describe('socket_trace: HTTPS through OpenSSL uprobes (nginx, curl, Node)', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let traced: TracedRun;

  before(async () => {
    dir = tempDir('bpfcol-st-tls-');
    const cert = join(dir.path, 'cert.pem');
    const key = join(dir.path, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
    const port = await freePort();
    nginx = await startNginx(
      join(dir.path, 'nginx'),
      port,
      `    location / { return 200 "hello\\n"; }
    location /down { return 503 "down\\n"; }
    location ~ /missing$ { return 404; }`,
      { tls: { certificate: cert, key } },
    );
    traced = await startTraced(dir.path, [port]);
  });

  after(async () => {
    await traced?.stop();
    await nginx?.stop();
    dir?.cleanup();
  });

  const onPort = (s: Found) => attr(s.span, 'server.port') === BigInt(nginx.port);

  it('curl over HTTPS (libssl.so.3): decrypted SERVER spans in nginx and CLIENT spans in curl, tls.established', async () => {
    const base = `https://127.0.0.1:${nginx.port}`;
    const { startNs, endNs } = await bracket(() => run('curl', ['-sk', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${base}/curl/1`, `${base}/down`, `${base}/curl/big?q=1`]));
    const server = (await waitForSpans(traced, (s) => s.span.kind === SERVER && ['/curl/1', '/down', '/curl/big'].includes(String(attr(s.span, 'url.path'))), 3)) as Found[];
    const client = (await waitForSpans(traced, (s) => s.span.kind === CLIENT && resourceAttr(s.resource, 'service.name') === 'curl' && /\/(curl\/1|down|curl\/big)$/.test(String(attr(s.span, 'url.full'))), 3)) as Found[];
    assert.equal(server.length, 3);
    assert.equal(client.length, 3);
    for (const { span, resource } of server) {
      assert.equal(span.name, 'GET');
      assert.equal(resourceAttr(resource, 'service.name'), 'nginx');
      assert.equal(resourceAttr(resource, 'process.executable.name'), 'nginx');
      assert.equal(attr(span, 'http.request.method'), 'GET');
      assert.equal(attr(span, 'url.scheme'), 'https');
      assert.equal(attr(span, 'tls.established'), true);
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.equal(attr(span, 'network.peer.address'), '127.0.0.1');
      assert.equal(attr(span, 'network.protocol.version'), '1.1');
      assert.match(String(attr(span, 'user_agent.original')), /^curl\//);
      assert.equal(attr(span, 'url.query'), undefined);
      assert.ok(span.startTimeUnixNano >= startNs && span.endTimeUnixNano <= endNs, 'within the time curl ran');
      assert.ok(span.endTimeUnixNano >= span.startTimeUnixNano);
    }
    const byPath = new Map(server.map((s) => [String(attr(s.span, 'url.path')), s.span]));
    assert.equal(attr(byPath.get('/curl/1')!, 'http.response.status_code'), 200n);
    assert.equal(byPath.get('/curl/1')!.status.code, 0);
    assert.equal(attr(byPath.get('/down')!, 'http.response.status_code'), 503n);
    assert.equal(byPath.get('/down')!.status.code, 2);
    assert.equal(attr(byPath.get('/down')!, 'error.type'), '503');
    assert.equal(new Set(server.map((s) => attr(s.span, 'network.peer.port'))).size, 1, 'one TLS connection, kept alive');
    for (const { span } of client) {
      assert.equal(span.name, 'GET');
      assert.equal(attr(span, 'tls.established'), true);
      assert.equal(attr(span, 'server.address'), '127.0.0.1');
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.match(String(attr(span, 'url.full')), new RegExp(`^https://127\\.0\\.0\\.1:${nginx.port}/`));
      const path = String(attr(span, 'url.full')).replace(/^https:\/\/[^/]+/, '');
      const inner = byPath.get(path)!;
      assert.ok(inner, `a server span for ${path}`);
      assert.equal(attr(span, 'http.response.status_code'), attr(inner, 'http.response.status_code'));
      assert.ok(span.startTimeUnixNano <= inner.startTimeUnixNano, `client span of ${path} starts first`);
      // The server's span ends when its last SSL_write returns, which a busy machine may delay past
      // the client's last read: only the start of the server's work is bound to the client's span.
      assert.ok(inner.startTimeUnixNano <= span.endTimeUnixNano, `the server span of ${path} starts within the client's`);
    }
    assert.equal(client.find((s) => String(attr(s.span, 'url.full')).endsWith('/down'))!.span.status.code, 2);
  });

  it("a request longer than nginx's first read: the rest is read from OpenSSL's buffer, on the same connection", async () => {
    // nginx reads a request's head 1 KiB at a time (client_header_buffer_size): the second SSL_read
    // of a 3 KiB TLS record is served from OpenSSL's buffer without a syscall
    const pad = 'p'.repeat(3000);
    await run('curl', ['-sk', '-o', '/dev/null', '-H', `X-Pad: ${pad}`, `https://127.0.0.1:${nginx.port}/long/head`]);
    const [server] = (await waitForSpans(traced, (s) => s.span.kind === SERVER && attr(s.span, 'url.path') === '/long/head', 1)) as Found[];
    assert.equal(server!.span.name, 'GET');
    assert.equal(attr(server!.span, 'http.response.status_code'), 200n);
    assert.match(String(attr(server!.span, 'user_agent.original')), /^curl\//, 'a header after the first KiB');
    assert.equal(attr(server!.span, 'tls.established'), true);
  });

  it('a Node https client (static OpenSSL, memory BIOs): its CLIENT spans and nginx\'s SERVER spans', async () => {
    const { pid, results, done } = await nodeClient(process.execPath, nginx.port, '/node');
    after(done);
    assert.deepEqual(results, [['GET', '/node/1', 200], ['POST', '/node/orders', 200], ['GET', '/node/missing', 404]]);
    const mine = (s: Found) => resourceAttr(s.resource, 'process.pid') === BigInt(pid);
    const client = (await waitForSpans(traced, (s) => mine(s) && s.span.kind === CLIENT, 3)) as Found[];
    const server = (await waitForSpans(traced, (s) => s.span.kind === SERVER && String(attr(s.span, 'url.path')).startsWith('/node/'), 3)) as Found[];
    assert.deepEqual(client.map((s) => [s.span.name, String(attr(s.span, 'url.full')), attr(s.span, 'http.response.status_code')]), results.map(([m, p, c]) => [m, `https://127.0.0.1:${nginx.port}${p}`, BigInt(c)]));
    assert.deepEqual(server.map((s) => [s.span.name, attr(s.span, 'url.path'), attr(s.span, 'http.response.status_code')]), results.map(([m, p, c]) => [m, p, BigInt(c)]));
    for (const { span, resource } of client) {
      assert.equal(attr(span, 'tls.established'), true);
      assert.equal(attr(span, 'http.request.method'), span.name);
      assert.equal(attr(span, 'server.port'), BigInt(nginx.port));
      assert.equal(resourceAttr(resource, 'process.executable.name'), 'node');
      assert.equal(span.status.code, attr(span, 'http.response.status_code') === 404n ? 2 : 0, '4xx is an error on clients');
    }
    for (const { span } of server) {
      assert.equal(attr(span, 'tls.established'), true);
      assert.equal(attr(span, 'url.scheme'), 'https');
      assert.match(String(attr(span, 'user_agent.original') ?? ''), /^$/, 'Node sends no User-Agent');
      assert.equal(span.status.code, 0, '404 is no error on servers');
    }
    assert.equal(new Set(client.map((s) => attr(s.span, 'network.peer.port'))).size, 1, 'one keep-alive connection');
  });

  it('a process started after bpfcol, from a binary it never saw, is attached at exec', async () => {
    const copy = join(dir.path, 'node-copy');
    copyFileSync(process.execPath, copy);
    chmodSync(copy, 0o755);
    const { pid, results, done } = await nodeClient(copy, nginx.port, '/late', 1500);
    after(done);
    assert.deepEqual(results.map((r) => r[2]), [200, 200, 404]);
    const client = (await waitForSpans(traced, (s) => resourceAttr(s.resource, 'process.pid') === BigInt(pid) && s.span.kind === CLIENT, 3)) as Found[];
    assert.deepEqual(client.map((s) => String(attr(s.span, 'url.full')).replace(/^https:\/\/[^/]+/, '')), ['/late/1', '/late/orders', '/late/missing']);
    for (const { span, resource } of client) {
      assert.equal(attr(span, 'tls.established'), true);
      assert.equal(resourceAttr(resource, 'process.executable.name'), 'node-copy');
    }
    assert.match(traced.bpfcol.output(), new RegExp(`TLS probes attached[^\\n]*${copy.replace(/[/.]/g, '\\$&')}`), 'bpfcol logged the attachment of the copy');
  });

  it('no span from the ciphertext: every span on the port is decrypted, no parse errors, nothing lost', async () => {
    const spans = traced.spans() as Found[];
    const mine = spans.filter(onPort);
    assert.ok(mine.length >= 20, `spans on the port: ${mine.length}`);
    for (const s of mine) {
      assert.equal(attr(s.span, 'tls.established'), true, `span ${s.span.name} ${attr(s.span, 'url.path') ?? attr(s.span, 'url.full')}`);
      assert.ok(['GET', 'POST'].includes(s.span.name));
    }
    // bpfcol adds its counts every 5 s
    let self = await traced.selfMetrics();
    for (const deadline = Date.now() + 15_000; counterValue(self, 'bpfcol_receiver_socket_trace_requests_total', { protocol: 'http' }) < mine.length && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      self = await traced.selfMetrics();
    }
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_requests_total', { protocol: 'http' }), mine.length);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_parse_errors_total'), 0, 'no ciphertext reached a parser');
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_kernel_lost_total'), 0);
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_requests_unanswered_total'), 0);
    // attached once per file, whichever processes map it: Node's binary (this test runner, its
    // clients, bpfcol itself), libssl.so.3 (nginx, curl), the copy
    assert.ok(counterValue(self, 'bpfcol_receiver_socket_trace_tls_files') >= 3);
    const attached = traced.bpfcol.output().split('\n').filter((l) => l.includes('TLS probes attached'));
    assert.equal(attached.filter((l) => l.includes(`path=${realpathSync(process.execPath)} `)).length, 1, `Node's binary attached once: ${attached.join('\n')}`);
    assert.ok(attached.some((l) => /kind=library .*path=\S*\/libssl\.so\.3 /.test(l) && l.includes('"SSL_read_ex"')));
    assert.ok(!attached.some((l) => l.includes('path=/usr/bin/curl ')), 'curl links libssl, it is no OpenSSL itself');
    assert.equal(counterValue(self, 'bpfcol_receiver_socket_trace_responses_unmatched_total'), 0);
  });
});
