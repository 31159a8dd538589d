// TLS on both transports (a certificate made with openssl for the test) and CORS for browsers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { tempDir } from '../../test/support/cli.ts';
import { post, rawGrpcExport, type RunningOtlp, startOtlp } from './harness.ts';

const JSON_LOGS = JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ logRecords: [{ timeUnixNano: '7', body: { stringValue: 'over tls' } }] }] }] });
const EMPTY_LOGS = new Uint8Array(0);

function httpsPost(port: number, ca: Buffer, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/v1/logs', method: 'POST', ca, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('otlp receiver with TLS', () => {
  let dir: { path: string; cleanup: () => void };
  let otlp: RunningOtlp;
  let ca: Buffer;
  before(async () => {
    dir = tempDir('bpfcol-otlp-tls-');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir.path, 'server.key'), '-out', join(dir.path, 'server.crt'),
    ], { stdio: 'ignore' });
    ca = readFileSync(join(dir.path, 'server.crt'));
    // Relative paths resolve against the config's directory.
    const tls = { cert_file: 'server.crt', key_file: 'server.key' };
    otlp = await startOtlp({ grpc: { tls }, http: { tls }, signals: ['logs'], configDir: dir.path });
  });
  after(async () => {
    await otlp.stop();
    dir.cleanup();
  });

  it('serves OTLP/HTTP over https', async () => {
    const r = await httpsPost(otlp.httpPort, ca, JSON_LOGS);
    assert.equal(r.status, 200);
    assert.deepEqual(otlp.logs.received.at(-1)!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body, { stringValue: 'over tls' });
    await assert.rejects(post(`${otlp.httpUrl}/v1/logs`, JSON_LOGS, { 'Content-Type': 'application/json' }), 'plain http is not served');
  });

  it('serves OTLP/gRPC over TLS', async () => {
    const r = await rawGrpcExport(otlp.grpcPort, 'logs', EMPTY_LOGS, { credentials: grpc.credentials.createSsl(ca), tlsServerName: 'localhost' });
    assert.ok(r.ok, JSON.stringify(r));
    const plain = await rawGrpcExport(otlp.grpcPort, 'logs', EMPTY_LOGS);
    assert.equal(plain.ok ? undefined : plain.code, grpc.status.UNAVAILABLE, 'plain text is not served');
  });

  it('asks clients for a certificate signed by client_ca_file', async () => {
    const tls = { cert_file: 'server.crt', key_file: 'server.key', client_ca_file: 'server.crt' };
    const mtls = await startOtlp({ grpc: { tls }, http: null, signals: ['logs'], configDir: dir.path, id: 'otlp/mtls' });
    try {
      const key = readFileSync(join(dir.path, 'server.key'));
      const withCert = await rawGrpcExport(mtls.grpcPort, 'logs', EMPTY_LOGS, {
        credentials: grpc.credentials.createSsl(ca, key, ca),
        tlsServerName: 'localhost',
      });
      assert.ok(withCert.ok, JSON.stringify(withCert));
      const without = await rawGrpcExport(mtls.grpcPort, 'logs', EMPTY_LOGS, { credentials: grpc.credentials.createSsl(ca), tlsServerName: 'localhost' });
      assert.equal(without.ok, false, 'a client without a certificate is refused');
    } finally {
      await mtls.stop();
    }
  });

  it('fails to start, naming the key, when a certificate file is missing', async () => {
    const broken = await startOtlp({ http: { tls: { cert_file: 'missing.crt', key_file: 'server.key' } }, grpc: null, configDir: dir.path, noStart: true, id: 'otlp/broken' });
    await assert.rejects(broken.handles[0]!.start({ getExtension: () => undefined }), (error: Error) => {
      assert.match(error.message, /^receivers\.otlp\/broken: protocols\.http\.tls\.cert_file: cannot read "missing\.crt": ENOENT/);
      return true;
    });
    await broken.stop();
  });
});

describe('otlp receiver with CORS', () => {
  let otlp: RunningOtlp;
  before(async () => {
    otlp = await startOtlp({
      grpc: null,
      http: { cors: { allowed_origins: ['https://*.example.com', 'http://localhost:3000'], allowed_headers: ['X-Tenant'], max_age: 600 } },
    });
  });
  after(() => otlp.stop());

  const preflight = (origin: string, headers: string) =>
    fetch(`${otlp.httpUrl}/v1/traces`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': headers },
    });

  it('answers an allowed preflight with the CORS headers', async () => {
    const r = await preflight('https://app.example.com', 'content-type, x-tenant');
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(r.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, x-tenant');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('access-control-max-age'), '600');
  });

  it('answers a preflight from another origin, or asking for other headers, without them', async () => {
    for (const [origin, headers] of [
      ['https://evil.test', 'content-type'],
      ['https://app.example.com', 'x-secret'],
    ] as const) {
      const r = await preflight(origin, headers);
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('access-control-allow-origin'), null, `${origin} ${headers}`);
    }
  });

  it('marks actual requests from allowed origins only', async () => {
    const body = JSON.stringify({ resourceSpans: [] });
    const allowed = await post(`${otlp.httpUrl}/v1/traces`, body, { 'Content-Type': 'application/json', Origin: 'http://localhost:3000' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    const other = await post(`${otlp.httpUrl}/v1/traces`, body, { 'Content-Type': 'application/json', Origin: 'http://localhost:4000' });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
