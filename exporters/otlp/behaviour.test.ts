// The otlp exporter against a small @grpc/grpc-js server that answers as a test needs: how status
// codes become retryable or permanent errors, RetryInfo, partial success, metadata and
// compression on the wire, deadlines, TLS, and shutdown.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { ConsumerError } from '../../src/component/errors.ts';
import { decodeRequest, encodeRpcStatus, otlpGrpcServices, serverRequest, type OtlpGrpcRequest, type OtlpGrpcResponse } from '../../src/pdata/otlp/index.ts';
import { sampleLogs } from '../../test/fixtures/pdata-samples.ts';
import { tempDir } from '../../test/support/cli.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { selfSignedCert } from '../../test/support/tls-cert.ts';
import { otlpConfigSchema, validateOtlpConfig } from './config.ts';
import { otlpFactory } from './factory.ts';

const host = { getExtension: () => undefined };
/** The transport's own behaviour: no queue and no retries from the exporter helper, so consume answers with the attempt's outcome. */
const DIRECT = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };
type Answer = (callback: grpc.sendUnaryData<OtlpGrpcResponse>) => void;

/** A logs-only OTLP gRPC server recording each request and its metadata. */
async function startServer(credentials = grpc.ServerCredentials.createInsecure()) {
  const server = new grpc.Server();
  const state = {
    received: [] as { request: OtlpGrpcRequest<'logs'>; metadata: grpc.Metadata }[],
    answer: ((callback) => callback(null, undefined)) as Answer,
  };
  server.addService(otlpGrpcServices.logs, {
    Export: (call: grpc.ServerUnaryCall<unknown, OtlpGrpcResponse>, callback: grpc.sendUnaryData<OtlpGrpcResponse>) => {
      state.received.push({ request: serverRequest<'logs'>(call.request), metadata: call.metadata });
      state.answer(callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  return { server, state, port };
}

function statusError(code: grpc.status, details: string, retryDelayMs?: number): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (retryDelayMs !== undefined) metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus({ code, message: details, retryDelayMs })));
  return { code, details, metadata };
}

function exporterFor(config: Record<string, unknown>, extra: Parameters<typeof testSettings>[3] = {}) {
  return otlpFactory.create.logs!(testSettings('otlp/test', 'exporter', 'logs', extra), otlpConfigSchema.parse({ ...DIRECT, ...config }));
}

async function failure(promise: Promise<unknown>): Promise<ConsumerError> {
  const error = await promise.then(
    () => assert.fail('expected the export to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConsumerError, `expected a ConsumerError, got ${String(error)}`);
  return error;
}

describe('otlp exporter behaviour', () => {
  let running: Awaited<ReturnType<typeof startServer>>;
  let endpoint = '';
  before(async () => {
    running = await startServer();
    endpoint = `127.0.0.1:${running.port}`;
  });
  after(() => running.server.forceShutdown());
  beforeEach(() => {
    running.state.received.length = 0;
    running.state.answer = (callback) => callback(null, undefined);
  });

  async function send(config: Record<string, unknown> = {}) {
    const exporter = exporterFor({ endpoint, tls: { insecure: true }, ...config });
    await exporter.start(host);
    try {
      await exporter.consume(sampleLogs());
    } finally {
      await exporter.shutdown();
    }
  }

  it('sends the data with the configured headers as metadata', async () => {
    await send({ headers: { 'X-Api-Key': 'secret', 'x-token-bin': 'raw' } });
    const [{ request, metadata }] = running.state.received as [(typeof running.state.received)[number]];
    assert.deepStrictEqual(request.data, sampleLogs());
    assert.deepStrictEqual(metadata.get('x-api-key'), ['secret']);
    assert.deepStrictEqual(metadata.get('x-token-bin'), [Buffer.from('raw')]);
    assert.match(String(metadata.get('user-agent')[0]), /^bpfcol /);
  });

  it('InvalidArgument is a permanent error', async () => {
    running.state.answer = (callback) => callback(statusError(grpc.status.INVALID_ARGUMENT, 'bad log record'));
    const error = await failure(send());
    assert.equal(error.retryable, false);
    assert.equal(error.message, `export to ${endpoint} failed: INVALID_ARGUMENT: bad log record`);
  });

  for (const code of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.CANCELLED, grpc.status.OUT_OF_RANGE, grpc.status.DATA_LOSS]) {
    it(`${grpc.status[code]} is retryable`, async () => {
      running.state.answer = (callback) => callback(statusError(code, 'try later'));
      const error = await failure(send());
      assert.equal(error.retryable, true);
      assert.equal(error.retryAfterMs, undefined);
    });
  }

  for (const code of [grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED, grpc.status.UNIMPLEMENTED, grpc.status.INTERNAL]) {
    it(`${grpc.status[code]} is permanent`, async () => {
      running.state.answer = (callback) => callback(statusError(code, 'no'));
      assert.equal((await failure(send())).retryable, false);
    });
  }

  it('RetryInfo gives the retry hint; ResourceExhausted is retryable only with it', async () => {
    running.state.answer = (callback) => callback(statusError(grpc.status.UNAVAILABLE, 'busy', 1500));
    const busy = await failure(send());
    assert.equal(busy.retryable, true);
    assert.equal(busy.retryAfterMs, 1500);
    assert.match(busy.message, /UNAVAILABLE: busy \(the server asks to retry after 1500 ms\)$/);

    running.state.answer = (callback) => callback(statusError(grpc.status.RESOURCE_EXHAUSTED, 'over quota', 250));
    const throttled = await failure(send());
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.retryAfterMs, 250);

    running.state.answer = (callback) => callback(statusError(grpc.status.RESOURCE_EXHAUSTED, 'too big'));
    assert.equal((await failure(send())).retryable, false);
  });

  it('a partial success resolves, is logged and counted', async () => {
    running.state.answer = (callback) => callback(null, { rejected: 3, message: 'three records too old' });
    const { logger, lines } = captureLogger('warn');
    const telemetry = recordingTelemetry();
    const exporter = exporterFor({ endpoint, tls: { insecure: true } }, { logger, telemetry });
    await exporter.start(host);
    await exporter.consume(sampleLogs());
    await exporter.shutdown();
    assert.equal(telemetry.counters.get('exporter_partial_success_rejected_items'), 3);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /Partial success response.*message=three records too old.*dropped_log_records=3/);
  });

  it('a server that does not answer within timeout makes a retryable DEADLINE_EXCEEDED', async () => {
    let pending: grpc.sendUnaryData<OtlpGrpcResponse> | undefined;
    running.state.answer = (callback) => (pending = callback);
    const error = await failure(send({ timeout: '200ms' }));
    pending?.(null, undefined);
    assert.equal(error.retryable, true);
    assert.match(error.message, /DEADLINE_EXCEEDED/);
  });

  it('shutdown waits for the request in flight; consume afterwards is refused', async () => {
    const events: string[] = [];
    running.state.answer = (callback) => setTimeout(() => callback(null, undefined), 200);
    const exporter = exporterFor({ endpoint, tls: { insecure: true } });
    await exporter.start(host);
    const consumed = exporter.consume(sampleLogs()).then(() => events.push('consumed'));
    while (running.state.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    await exporter.shutdown().then(() => events.push('shut down'));
    await consumed;
    assert.deepStrictEqual(events, ['consumed', 'shut down']);
    const error = await failure(exporter.consume(sampleLogs()));
    assert.equal(error.retryable, true, 'a stopped exporter refuses for now (the sender may try another)');
    assert.match(error.message, /otlp\/test exporter is shut down/);
    await exporter.shutdown();
  });

  it('consume before start is refused', async () => {
    const error = await failure(exporterFor({ endpoint }).consume(sampleLogs()));
    assert.match(error.message, /not started/);
  });
});

describe('otlp exporter on the wire', () => {
  /** A bare HTTP/2 server that reads one gRPC message as it arrives: headers, compressed flag, bytes. */
  async function capture(compression: 'gzip' | 'none') {
    const seen: { path?: string; encoding?: string; compressed?: boolean; data?: unknown } = {};
    const server = http2.createServer();
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const frame = Buffer.concat(chunks);
        seen.path = String(headers[':path']);
        seen.encoding = headers['grpc-encoding'] as string | undefined;
        seen.compressed = frame[0] === 1;
        const message = frame.subarray(5, 5 + frame.readUInt32BE(1));
        seen.data = decodeRequest('logs', seen.compressed ? gunzipSync(message) : message);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const exporter = exporterFor({ endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`, tls: { insecure: true }, compression });
    await exporter.start(host);
    try {
      await exporter.consume(sampleLogs());
    } finally {
      await exporter.shutdown();
      await new Promise<void>((r) => server.close(() => r()));
    }
    return seen;
  }

  it('gzip-compresses each message by default', async () => {
    const seen = await capture('gzip');
    assert.equal(seen.path, '/opentelemetry.proto.collector.logs.v1.LogsService/Export');
    assert.equal(seen.encoding, 'gzip');
    assert.equal(seen.compressed, true);
    assert.deepStrictEqual(seen.data, sampleLogs());
  });

  it('sends plain messages with compression: none', async () => {
    const seen = await capture('none');
    assert.equal(seen.encoding, undefined);
    assert.equal(seen.compressed, false);
    assert.deepStrictEqual(seen.data, sampleLogs());
  });
});

describe('otlp exporter over TLS', () => {
  const dir = tempDir('bpfcol-otlp-tls-');
  const cert = selfSignedCert(dir.path);
  let running: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    running = await startServer(grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert.cert, private_key: cert.key }]));
  });
  after(() => {
    running.server.forceShutdown();
    dir.cleanup();
  });

  it('uses TLS by default and trusts the server through ca_file (relative to the config directory)', async () => {
    const exporter = otlpFactory.create.logs!(
      testSettings('otlp', 'exporter', 'logs', { configDir: dir.path }),
      otlpConfigSchema.parse({ endpoint: `localhost:${running.port}`, tls: { ca_file: 'server.crt' } }),
    );
    await exporter.start(host);
    await exporter.consume(sampleLogs());
    await exporter.shutdown();
    assert.deepStrictEqual(running.state.received.at(-1)!.request.data, sampleLogs());
  });

  it('checks the name in server_name_override against the certificate', async () => {
    const config = (name: string) =>
      otlpConfigSchema.parse({ ...DIRECT, endpoint: `127.0.0.1:${running.port}`, tls: { ca_file: cert.certFile, server_name_override: name } });
    const ok = otlpFactory.create.logs!(testSettings('otlp', 'exporter', 'logs'), config('localhost'));
    await ok.start(host);
    await ok.consume(sampleLogs());
    await ok.shutdown();
    const wrong = otlpFactory.create.logs!(testSettings('otlp', 'exporter', 'logs'), config('elsewhere.example'));
    await wrong.start(host);
    const error = await failure(wrong.consume(sampleLogs()));
    await wrong.shutdown();
    assert.equal(error.retryable, true);
    assert.match(error.message, /UNAVAILABLE/);
  });

  it('an https:// endpoint means TLS even with insecure: true', async () => {
    const exporter = exporterFor({ endpoint: `https://localhost:${running.port}`, tls: { insecure: true, ca_file: cert.certFile } });
    await exporter.start(host);
    await exporter.consume(sampleLogs());
    await exporter.shutdown();
  });
});

describe('otlp config', () => {
  it('has the Collector defaults', () => {
    const config = otlpConfigSchema.parse({});
    assert.deepStrictEqual(config, {
      endpoint: '',
      tls: { insecure: false, insecure_skip_verify: false },
      headers: {},
      compression: 'gzip',
      timeout: 5000,
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000, sizer: 'requests', block_on_overflow: false },
      retry_on_failure: { enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5 },
      profiles: { enabled: false },
    });
    assert.deepStrictEqual(validateOtlpConfig(config), ['endpoint must be set: expected host:port of an OTLP/gRPC receiver, like collector:4317']);
  });

  it('says what is wrong with each bad key', () => {
    const issues = (input: unknown) => otlpConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepStrictEqual(issues({ endpoint: 'http://collector:4317/v1/traces' }), ['endpoint: expected host:port, got "http://collector:4317/v1/traces"']);
    assert.deepStrictEqual(issues({ endpoint: 'collector' }), ['endpoint: expected host:port, got "collector"']);
    assert.deepStrictEqual(issues({ compression: 'snappy' }), ['compression: expected gzip or none, got "snappy"']);
    assert.deepStrictEqual(issues({ timeout: 5 }), ['timeout: expected a duration like 10s']);
    assert.match(issues({ tls: { insecure: 'yes' } })![0]!, /^tls\.insecure: /);
    assert.match(issues({ balancer_name: 'round_robin' })![0]!, /balancer_name/);
    assert.deepStrictEqual(validateOtlpConfig(otlpConfigSchema.parse({ endpoint: 'c:4317', tls: { cert_file: 'c.pem' } })), [
      'tls.cert_file and tls.key_file go together: expected both (a client certificate) or neither',
    ]);
  });

  it('accepts host:port, [ipv6]:port and http(s):// endpoints', () => {
    for (const endpoint of ['collector:4317', '127.0.0.1:4317', '[::1]:4317', 'http://collector:4317', 'https://collector.example.com:443']) {
      assert.equal(otlpConfigSchema.safeParse({ endpoint }).success, true, endpoint);
    }
  });
});
