// curl (Debian's) against OTLP/HTTP: hand-written JSON and protobuf bodies, gzip, and garbage.
// After every bad request the receiver must still accept a good one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync, gzipSync } from 'node:zlib';
import { getAttribute } from '../../src/pdata/common.ts';
import { decodeResponse, encodeRequest } from '../../src/pdata/otlp/proto.ts';
import { SpanKind, type TracesData } from '../../src/pdata/traces.ts';
import { tempDir } from '../../test/support/cli.ts';
import { decodeStatusProto, type RunningOtlp, startOtlp } from './harness.ts';

const run = promisify(execFile);

const JSON_TRACES = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'curl-test' } }] },
      scopeSpans: [
        {
          scope: { name: 'curl', version: '7.88.1' },
          spans: [
            {
              traceId: '5b8efff798038103d269b633813fc60c',
              spanId: 'eee19b7ec3c1b174',
              parentSpanId: 'eee19b7ec3c1b173',
              name: 'curl span',
              kind: 3,
              startTimeUnixNano: '1544712660000000001',
              endTimeUnixNano: '1544712661000000002',
              attributes: [
                { key: 'http.response.status_code', value: { intValue: '200' } },
                { key: 'big', value: { intValue: '9007199254740993' } },
              ],
            },
          ],
        },
      ],
    },
  ],
});

const JSON_METRICS = JSON.stringify({
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'curl-test' } }] },
      scopeMetrics: [
        {
          scope: { name: 'curl' },
          metrics: [
            {
              name: 'jobs.done',
              unit: '{job}',
              sum: {
                aggregationTemporality: 1,
                isMonotonic: true,
                dataPoints: [{ asInt: '42', startTimeUnixNano: '1544712660000000000', timeUnixNano: '1544712670000000009' }],
              },
            },
          ],
        },
      ],
    },
  ],
});

const JSON_LOGS = JSON.stringify({
  resourceLogs: [
    {
      resource: { attributes: [] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: '1544712660300000007', severityNumber: 9, body: { stringValue: 'hello from curl' } }] }],
    },
  ],
});

const PROTO_TRACES_DATA: TracesData = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'curl-proto' } }] },
      scopeSpans: [
        {
          scope: { name: 'curl' },
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'proto span',
              kind: SpanKind.SERVER,
              startTimeUnixNano: 1_700_000_000_000_000_001n,
              endTimeUnixNano: 1_700_000_000_500_000_002n,
              attributes: [{ key: 'k', value: { stringValue: 'v' } }],
              events: [],
              links: [],
              status: { code: 0 },
            },
          ],
        },
      ],
    },
  ],
};

interface CurlResult {
  status: number;
  headers: string;
  body: Buffer;
}

let dir: { path: string; cleanup: () => void };
let fileCount = 0;

async function bodyFile(content: Uint8Array | string): Promise<string> {
  const path = join(dir.path, `body-${fileCount++}`);
  await writeFile(path, content);
  return path;
}

/** POSTs (or `method`s) a body file with curl; returns status, raw headers and body. */
async function curl(url: string, options: { body?: Uint8Array | string; headers?: string[]; method?: string; extra?: string[] } = {}): Promise<CurlResult> {
  const out = join(dir.path, `out-${fileCount++}`);
  const headersOut = join(dir.path, `headers-${fileCount++}`);
  const args = ['-sS', '-o', out, '-D', headersOut, '-w', '%{http_code}', '-X', options.method ?? 'POST'];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.body !== undefined) args.push('--data-binary', `@${await bodyFile(options.body)}`);
  args.push(...(options.extra ?? []), url);
  const { stdout } = await run('curl', args, { maxBuffer: 1024 * 1024 });
  return { status: Number(stdout), headers: await readFile(headersOut, 'utf8'), body: await readFile(out) };
}

const PROTO = 'Content-Type: application/x-protobuf';
const JSON_TYPE = 'Content-Type: application/json';

describe('otlp receiver over OTLP/HTTP with curl', () => {
  let otlp: RunningOtlp;
  before(() => {
    dir = tempDir('bpfcol-otlp-curl-');
  });
  after(() => dir.cleanup());
  beforeEach(async () => {
    otlp = await startOtlp({ grpc: null });
  });
  afterEach(() => otlp.stop());

  const url = (path = '/v1/traces') => `${otlp.httpUrl}${path}`;
  const malformed = () => otlp.telemetry.counters.get('receiver_malformed_requests') ?? 0;

  /** A good JSON request still goes through. */
  async function stillServes(): Promise<void> {
    const before = otlp.traces.received.length;
    const r = await curl(url(), { body: JSON_TRACES, headers: [JSON_TYPE] });
    assert.equal(r.status, 200, 'a good request after the bad one');
    assert.equal(otlp.traces.received.length, before + 1);
  }

  it('accepts JSON traces, metrics and logs and answers an empty Export*ServiceResponse', async () => {
    const traces = await curl(url(), { body: JSON_TRACES, headers: [JSON_TYPE] });
    assert.equal(traces.status, 200);
    assert.match(traces.headers, /content-type: application\/json/i);
    assert.deepEqual(JSON.parse(traces.body.toString()), { partialSuccess: {} });
    const span = otlp.traces.received[0]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.spanId, 'eee19b7ec3c1b174');
    assert.equal(span.parentSpanId, 'eee19b7ec3c1b173');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.startTimeUnixNano, 1544712660000000001n);
    assert.equal(span.endTimeUnixNano, 1544712661000000002n);
    assert.equal(getAttribute(span.attributes, 'http.response.status_code'), 200n);
    assert.equal(getAttribute(span.attributes, 'big'), 9007199254740993n, 'int64 beyond 2^53 kept exact');
    assert.equal(getAttribute(otlp.traces.received[0]!.resourceSpans[0]!.resource.attributes, 'service.name'), 'curl-test');

    const metrics = await curl(url('/v1/metrics'), { body: JSON_METRICS, headers: [JSON_TYPE] });
    assert.equal(metrics.status, 200);
    const metric = otlp.metrics.received[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    assert.equal(metric.name, 'jobs.done');
    assert.equal(metric.data.type, 'sum');
    assert.equal(metric.data.dataPoints[0]!.asInt, 42n);
    assert.equal(metric.data.dataPoints[0]!.timeUnixNano, 1544712670000000009n);

    const logs = await curl(url('/v1/logs'), { body: JSON_LOGS, headers: [JSON_TYPE] });
    assert.equal(logs.status, 200);
    const record = otlp.logs.received[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    assert.deepEqual(record.body, { stringValue: 'hello from curl' });
    assert.equal(record.timeUnixNano, 1544712660300000007n);
    assert.equal(record.severityNumber, 9);
    assert.equal(malformed(), 0);
  });

  it('accepts protobuf and answers a protobuf Export*ServiceResponse', async () => {
    const r = await curl(url(), { body: encodeRequest('traces', PROTO_TRACES_DATA), headers: [PROTO] });
    assert.equal(r.status, 200);
    assert.match(r.headers, /content-type: application\/x-protobuf/i);
    assert.equal(decodeResponse('traces', r.body), undefined, 'full success, no partial_success');
    assert.deepEqual(otlp.traces.received, [PROTO_TRACES_DATA]);
  });

  it('accepts gzip and deflate bodies, JSON and protobuf', async () => {
    const cases: [string, Uint8Array, string][] = [
      ['gzip', gzipSync(JSON_TRACES), JSON_TYPE],
      ['gzip', gzipSync(encodeRequest('traces', PROTO_TRACES_DATA)), PROTO],
      ['deflate', deflateSync(JSON_TRACES), JSON_TYPE],
    ];
    for (const [encoding, body, type] of cases) {
      const r = await curl(url(), { body, headers: [type, `Content-Encoding: ${encoding}`] });
      assert.equal(r.status, 200, `${encoding} ${type}`);
    }
    assert.equal(otlp.traces.received.length, 3);
    assert.equal(otlp.traces.received[1]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, 'proto span');
  });

  it('answers truncated protobuf with 400 and a protobuf google.rpc.Status', async () => {
    const bytes = encodeRequest('traces', PROTO_TRACES_DATA);
    const r = await curl(url(), { body: bytes.subarray(0, bytes.length - 7), headers: [PROTO] });
    assert.equal(r.status, 400);
    assert.match(r.headers, /content-type: application\/x-protobuf/i);
    const status = decodeStatusProto(r.body);
    assert.equal(status.code, 3, 'InvalidArgument');
    assert.match(status.message, /malformed|index out of range|invalid/i);
    assert.equal(otlp.traces.received.length, 0);
    assert.equal(malformed(), 1);
    await stillServes();
  });

  it('answers invalid JSON and JSON of the wrong shape with 400 and a JSON google.rpc.Status', async () => {
    for (const body of ['{"resourceSpans": [', '{"resourceSpans": "not a list"}']) {
      const r = await curl(url(), { body, headers: [JSON_TYPE] });
      assert.equal(r.status, 400, body);
      assert.match(r.headers, /content-type: application\/json/i);
      const status = JSON.parse(r.body.toString()) as { code: number; message: string };
      assert.equal(status.code, 3);
      assert.ok(status.message.length > 0);
    }
    assert.equal(malformed(), 2);
    await stillServes();
  });

  it('answers a content type other than protobuf or JSON with 415', async () => {
    const r = await curl(url(), { body: JSON_TRACES, headers: ['Content-Type: text/plain'] });
    assert.equal(r.status, 415);
    assert.equal(r.body.toString(), '415 unsupported media type, supported: [application/json, application/x-protobuf]');
    assert.equal(malformed(), 1);
    await stillServes();
  });

  it('answers GET with 405 and an Allow header, and unknown paths with 404', async () => {
    const get = await curl(url(), { method: 'GET' });
    assert.equal(get.status, 405);
    assert.match(get.headers, /allow: POST/i);
    const unknown = await curl(url('/v1/spans'), { body: JSON_TRACES, headers: [JSON_TYPE] });
    assert.equal(unknown.status, 404);
    await stillServes();
  });

  it('answers a 10 MB garbage body under the default 20 MiB limit with 400', async () => {
    const r = await curl(url(), { body: randomBytes(10 * 1024 * 1024), headers: [PROTO] });
    assert.equal(r.status, 400);
    assert.equal(decodeStatusProto(r.body).code, 3);
    assert.equal(malformed(), 1);
    await stillServes();
  });

  it('answers a corrupt gzip body and an unsupported Content-Encoding with 400', async () => {
    const corrupt = await curl(url(), { body: randomBytes(1000), headers: [JSON_TYPE, 'Content-Encoding: gzip'] });
    assert.equal(corrupt.status, 400);
    assert.match((JSON.parse(corrupt.body.toString()) as { message: string }).message, /gzip/);
    const brotli = await curl(url(), { body: JSON_TRACES, headers: [JSON_TYPE, 'Content-Encoding: br'] });
    assert.equal(brotli.status, 400);
    assert.match((JSON.parse(brotli.body.toString()) as { message: string }).message, /unsupported Content-Encoding "br"/);
    assert.equal(malformed(), 2);
    await stillServes();
  });

  it('answers a gzip body that inflates past the limit with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 1024 * 1024, 'small on the wire');
    const r = await curl(url(), { body: bomb, headers: [PROTO, 'Content-Encoding: gzip'] });
    assert.equal(r.status, 413);
    assert.match(decodeStatusProto(r.body).message, /decompressed request body is larger than max_request_body_size \(20971520 bytes\)/);
    assert.equal(malformed(), 1);
    await stillServes();
  });
});

describe('otlp receiver with a 1 MiB max_request_body_size', () => {
  let otlp: RunningOtlp;
  before(async () => {
    dir = tempDir('bpfcol-otlp-curl-');
    otlp = await startOtlp({ grpc: null, http: { max_request_body_size: 1024 * 1024 } });
  });
  after(async () => {
    await otlp.stop();
    dir.cleanup();
  });

  it('answers a 10 MB body with 413, with Content-Length and chunked, and keeps serving', async () => {
    const big = randomBytes(10 * 1024 * 1024);
    const sized = await curl(`${otlp.httpUrl}/v1/traces`, { body: big, headers: [PROTO] });
    assert.equal(sized.status, 413);
    assert.equal(decodeStatusProto(sized.body).message, 'the request body is larger than max_request_body_size (1048576 bytes)');
    const chunked = await curl(`${otlp.httpUrl}/v1/traces`, { body: big, headers: [JSON_TYPE, 'Transfer-Encoding: chunked'] });
    assert.equal(chunked.status, 413);
    assert.equal((JSON.parse(chunked.body.toString()) as { code: number }).code, 3);
    assert.equal(otlp.telemetry.counters.get('receiver_malformed_requests'), 2);
    const good = await curl(`${otlp.httpUrl}/v1/traces`, { body: JSON_TRACES, headers: [JSON_TYPE] });
    assert.equal(good.status, 200);
    assert.equal(otlp.traces.received.length, 1);
  });
});
