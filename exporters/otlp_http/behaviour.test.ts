// The otlp_http exporter against small node http(s) servers that answer as a test needs: how
// statuses become retryable or permanent errors, Retry-After, partial success, what goes on the
// wire (headers, gzip, encodings), timeouts, TLS, and shutdown.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { CreateSettings, Exporter } from '../../src/component/component.ts';
import { ConsumerError } from '../../src/component/errors.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { decodeRequest, encodeResponse, encodeRpcStatus, fromJson, responseToJson } from '../../src/pdata/otlp/index.ts';
import { sampleLogs, sampleTraces } from '../../test/fixtures/pdata-samples.ts';
import { tempDir } from '../../test/support/cli.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { selfSignedCert } from '../../test/support/tls-cert.ts';
import { type OtlpHttpConfig, otlpHttpConfigSchema, validateOtlpHttpConfig } from './config.ts';
import { otlpHttpFactory } from './factory.ts';
import { parseRetryAfter } from './http-errors.ts';

const host = { getExtension: () => undefined };

interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
type Answer = (req: Received, res: http.ServerResponse) => void;

/** A server that records each request and answers with `answer` (200 and an empty body unless told). */
function recorder(server: http.Server | https.Server) {
  const state = { received: [] as Received[], answer: ((_q, res) => res.end()) as Answer };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      state.received.push(received);
      state.answer(received, res);
    });
  });
  return state;
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** The transport's own behaviour: no queue and no retries from the exporter helper, so consume answers with the attempt's outcome. */
const DIRECT = { sending_queue: { enabled: false }, retry_on_failure: { enabled: false } };

type TestSignal = 'traces' | 'logs';

function exporterFor<S extends TestSignal = 'logs'>(config: Record<string, unknown>, signal?: S, extra: Parameters<typeof testSettings>[3] = {}): Exporter<S> {
  const s = signal ?? 'logs';
  const create = otlpHttpFactory.create[s] as (settings: CreateSettings, config: OtlpHttpConfig) => Exporter<S>;
  return create(testSettings('otlp_http/test', 'exporter', s, extra), otlpHttpConfigSchema.parse({ ...DIRECT, ...config }));
}

async function run<S extends TestSignal>(exporter: Exporter<S>, data: SignalData[S]): Promise<void> {
  await exporter.start(host);
  try {
    await exporter.consume(data);
  } finally {
    await exporter.shutdown();
  }
}

async function failure(promise: Promise<unknown>): Promise<ConsumerError> {
  const error = await promise.then(
    () => assert.fail('expected the export to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConsumerError, `expected a ConsumerError, got ${String(error)}`);
  return error;
}

describe('otlp_http exporter behaviour', () => {
  const server = http.createServer();
  const state = recorder(server);
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    state.received.length = 0;
    state.answer = (_q, res) => res.end();
  });

  async function send(config: Record<string, unknown>, signal: TestSignal = 'logs') {
    if (signal === 'traces') await run(exporterFor({ endpoint: base, ...config }, 'traces'), sampleTraces());
    else await run(exporterFor({ endpoint: base, ...config }, 'logs'), sampleLogs());
  }

  it('posts gzipped protobuf to /v1/<signal> with the configured headers', async () => {
    await send({ headers: { 'X-Api-Key': 'secret', 'X-Tenant': 'a' } });
    const [req] = state.received;
    assert.equal(req!.url, '/v1/logs');
    assert.equal(req!.headers['content-type'], 'application/x-protobuf');
    assert.equal(req!.headers['content-encoding'], 'gzip');
    assert.equal(req!.headers['x-api-key'], 'secret');
    assert.equal(req!.headers['x-tenant'], 'a');
    assert.equal(req!.headers['user-agent'], 'bpfcol');
    assert.deepStrictEqual(decodeRequest('logs', gunzipSync(req!.body)), sampleLogs());
  });

  it('posts plain JSON when told, to a base URL with a path', async () => {
    await send({ endpoint: `${base}/otlp/`, encoding: 'json', compression: 'none' }, 'traces');
    const [req] = state.received;
    assert.equal(req!.url, '/otlp/v1/traces');
    assert.equal(req!.headers['content-type'], 'application/json');
    assert.equal(req!.headers['content-encoding'], undefined);
    assert.deepStrictEqual(fromJson('traces', req!.body.toString()), sampleTraces());
  });

  it('a 400 is a permanent error carrying the Status message of the body', async () => {
    state.answer = (_q, res) => {
      res.writeHead(400, { 'Content-Type': 'application/x-protobuf' });
      res.end(encodeRpcStatus({ code: 3, message: 'log record has no time' }));
    };
    const error = await failure(send({}));
    assert.equal(error.retryable, false);
    assert.equal(error.message, `export to ${base}/v1/logs failed: HTTP 400 Bad Request: log record has no time`);
  });

  for (const status of [401, 404, 413, 500]) {
    it(`a ${status} is permanent`, async () => {
      state.answer = (_q, res) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: 3, message: `answer ${status}` }));
      };
      const error = await failure(send({ encoding: 'json' }));
      assert.equal(error.retryable, false);
      assert.match(error.message, new RegExp(`HTTP ${status} .*: answer ${status}$`));
    });
  }

  it('a 429 with Retry-After in seconds is retryable with the delay as a hint', async () => {
    state.answer = (_q, res) => {
      res.writeHead(429, { 'Retry-After': '3' });
      res.end();
    };
    const error = await failure(send({}));
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 3000);
    assert.match(error.message, /HTTP 429 Too Many Requests \(the server asks to retry after 3000 ms\)/);
  });

  it('a 503 with a Retry-After date is retryable with a hint; 502 and 504 are retryable without one', async () => {
    state.answer = (_q, res) => {
      res.writeHead(503, { 'Retry-After': new Date(Date.now() + 3_600_000).toUTCString() });
      res.end('overloaded');
    };
    const throttled = await failure(send({}));
    assert.equal(throttled.retryable, true);
    assert.ok(throttled.retryAfterMs !== undefined && throttled.retryAfterMs > 0, `hint ${throttled.retryAfterMs}`);
    for (const status of [502, 504]) {
      state.answer = (_q, res) => {
        res.writeHead(status, { 'Retry-After': '9' });
        res.end();
      };
      const error = await failure(send({}));
      assert.equal(error.retryable, true, `${status}`);
      assert.equal(error.retryAfterMs, undefined, `${status}: Retry-After only counts on 429 and 503`);
    }
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  for (const encoding of ['proto', 'json'] as const) {
    it(`a partial success (${encoding}) resolves, is logged and counted`, async () => {
      state.answer = (_q, res) => {
        res.writeHead(200, { 'Content-Type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' });
        const partial = { rejected: 2, message: 'two records too old' };
        res.end(encoding === 'json' ? responseToJson('logs', partial) : encodeResponse('logs', partial));
      };
      const { logger, lines } = captureLogger('warn');
      const telemetry = recordingTelemetry();
      const exporter = exporterFor({ endpoint: base, encoding }, 'logs', { logger, telemetry });
      await exporter.start(host);
      await exporter.consume(sampleLogs());
      await exporter.shutdown();
      assert.equal(telemetry.counters.get('exporter_partial_success_rejected_items'), 2);
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /Partial success response.*message=two records too old.*dropped_log_records=2/);
    });
  }

  it('a peer that does not answer within timeout is a retryable error', async () => {
    state.answer = () => {}; // never answers
    const error = await failure(send({ timeout: '200ms' }));
    assert.equal(error.retryable, true);
    assert.equal(error.message, `export to ${base}/v1/logs failed: no answer within 200 ms`);
  });

  it('shutdown waits for the request in flight; consume afterwards is refused', async () => {
    const events: string[] = [];
    state.answer = (_q, res) => setTimeout(() => res.end(), 200);
    const exporter = exporterFor({ endpoint: base });
    await exporter.start(host);
    const consumed = exporter.consume(sampleLogs()).then(() => events.push('consumed'));
    while (state.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    await exporter.shutdown().then(() => events.push('shut down'));
    await consumed;
    assert.deepStrictEqual(events, ['consumed', 'shut down']);
    const error = await failure(exporter.consume(sampleLogs()));
    assert.equal(error.retryable, true, 'a stopped exporter refuses for now (the sender may try another)');
    assert.match(error.message, /otlp_http\/test exporter is shut down/);
    await exporter.shutdown();
  });
});

describe('otlp_http exporter over https', () => {
  const dir = tempDir('bpfcol-otlphttp-tls-');
  const cert = selfSignedCert(dir.path);
  const server = https.createServer({ cert: cert.cert, key: cert.key });
  const state = recorder(server);
  let port = 0;
  before(async () => {
    port = await listen(server);
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    dir.cleanup();
  });

  it('trusts the server through ca_file (relative to the config directory)', async () => {
    const exporter = otlpHttpFactory.create.logs!(
      testSettings('otlp_http', 'exporter', 'logs', { configDir: dir.path }),
      otlpHttpConfigSchema.parse({ endpoint: `https://127.0.0.1:${port}`, tls: { ca_file: 'server.crt' } }),
    );
    await exporter.start(host);
    await exporter.consume(sampleLogs());
    await exporter.shutdown();
    assert.deepStrictEqual(decodeRequest('logs', gunzipSync(state.received.at(-1)!.body)), sampleLogs());
  });

  it('refuses an unknown certificate with a retryable error, and accepts it with insecure_skip_verify', async () => {
    const strict = exporterFor({ endpoint: `https://127.0.0.1:${port}` });
    await strict.start(host);
    const error = await failure(strict.consume(sampleLogs()));
    await strict.shutdown();
    assert.equal(error.retryable, true);
    assert.match(error.message, /SELF_SIGNED_CERT|self-signed certificate/);
    const lax = exporterFor({ endpoint: `https://127.0.0.1:${port}`, tls: { insecure_skip_verify: true } });
    await lax.start(host);
    await lax.consume(sampleLogs());
    await lax.shutdown();
  });
});

describe('otlp_http config', () => {
  it('has the Collector defaults', () => {
    const config = otlpHttpConfigSchema.parse({});
    assert.deepStrictEqual(config, {
      tls: { insecure: false, insecure_skip_verify: false },
      headers: {},
      compression: 'gzip',
      encoding: 'proto',
      timeout: 30_000,
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000, sizer: 'requests', block_on_overflow: false },
      retry_on_failure: { enabled: true, initial_interval: 5000, max_interval: 30000, max_elapsed_time: 300000, multiplier: 1.5, randomization_factor: 0.5 },
      profiles: { enabled: false },
    });
    assert.deepStrictEqual(validateOtlpHttpConfig(config), [
      'endpoint must be set (or traces_endpoint, metrics_endpoint, logs_endpoint, profiles_endpoint): expected a URL like http://collector:4318',
    ]);
  });

  it('says what is wrong with each bad key', () => {
    const issues = (input: unknown) => otlpHttpConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepStrictEqual(issues({ endpoint: 'collector:4318' }), ['endpoint: expected a URL like http://host:port, got "collector:4318"']);
    assert.deepStrictEqual(issues({ encoding: 'xml' }), ['encoding: expected proto or json, got "xml"']);
    assert.deepStrictEqual(issues({ compression: 'zstd' }), ['compression: expected gzip or none, got "zstd"']);
    assert.deepStrictEqual(issues({ timeout: 'soon' }), ['timeout: expected a duration like 10s, got "soon"']);
    assert.deepStrictEqual(issues({ headers: { a: 1 } }), ['headers.a: expected a header value (a string)']);
    assert.match(issues({ endpoints: 'x' })![0]!, /endpoints/);
  });

  it('refuses to create an exporter for a signal without a URL', () => {
    assert.throws(
      () => exporterFor({ traces_endpoint: 'http://127.0.0.1:1/t' }, 'logs'),
      /otlp_http\/test: no URL for logs: expected endpoint or logs_endpoint/,
    );
  });
});
