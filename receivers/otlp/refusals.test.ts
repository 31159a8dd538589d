// What senders get when the pipeline refuses (retryable or permanent) and when the gRPC payload
// is garbage, on both transports.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { permanentError, retryableError } from '../../src/component/errors.ts';
import { decodeResponse, encodeRequest } from '../../src/pdata/otlp/proto.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import { decodeStatusProto, post, rawGrpcExport, type RunningOtlp, startOtlp } from './harness.ts';

const LOGS: LogsData = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'refusals' } }] },
      scopeLogs: [
        {
          scope: { name: 'test' },
          logRecords: [{ timeUnixNano: 1_700_000_000_000_000_001n, observedTimeUnixNano: 1_700_000_000_000_000_002n, body: { stringValue: 'hi' }, attributes: [] }],
        },
      ],
    },
  ],
};
const LOGS_BYTES = encodeRequest('logs', LOGS);
const LOGS_JSON = JSON.stringify({
  resourceLogs: [{ resource: {}, scopeLogs: [{ logRecords: [{ timeUnixNano: '1', body: { stringValue: 'hi' } }] }] }],
});

describe('otlp receiver refusals and gRPC garbage', () => {
  let otlp: RunningOtlp;
  beforeEach(async () => {
    otlp = await startOtlp();
  });
  afterEach(() => otlp.stop());

  const malformed = () => otlp.telemetry.counters.get('receiver_malformed_requests') ?? 0;

  it('turns a retryable refusal into HTTP 503 with Retry-After and gRPC Unavailable', async () => {
    otlp.logs.fail = retryableError('memory limit reached');
    const proto = await post(`${otlp.httpUrl}/v1/logs`, LOGS_BYTES, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(proto.status, 503);
    assert.equal(proto.headers.get('retry-after'), '1');
    assert.deepEqual(decodeStatusProto(proto.body), { code: 14, message: 'memory limit reached' });

    const json = await post(`${otlp.httpUrl}/v1/logs`, LOGS_JSON, { 'Content-Type': 'application/json' });
    assert.equal(json.status, 503);
    assert.equal(json.headers.get('retry-after'), '1');
    assert.deepEqual(JSON.parse(json.body.toString()), { code: 14, message: 'memory limit reached' });

    const call = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES);
    assert.deepEqual(call, { ok: false, code: grpc.status.UNAVAILABLE, details: 'memory limit reached' });
    assert.equal(malformed(), 0, 'a refusal is not a malformed request');

    otlp.logs.fail = undefined;
    assert.equal((await post(`${otlp.httpUrl}/v1/logs`, LOGS_BYTES, { 'Content-Type': 'application/x-protobuf' })).status, 200);
    assert.equal((await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES)).ok, true);
    assert.deepEqual(otlp.logs.received, [LOGS, LOGS]);
  });

  it('turns a permanent refusal into HTTP 400 and gRPC InvalidArgument', async () => {
    otlp.logs.fail = permanentError('log record too large for the backend');
    const proto = await post(`${otlp.httpUrl}/v1/logs`, LOGS_BYTES, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(proto.status, 400);
    assert.equal(proto.headers.get('retry-after'), null);
    assert.deepEqual(decodeStatusProto(proto.body), { code: 3, message: 'log record too large for the backend' });
    const call = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES);
    assert.deepEqual(call, { ok: false, code: grpc.status.INVALID_ARGUMENT, details: 'log record too large for the backend' });
  });

  it('turns any other consumer error into a retryable refusal', async () => {
    otlp.logs.fail = new Error('exporter queue closed');
    const r = await post(`${otlp.httpUrl}/v1/logs`, LOGS_BYTES, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(r.status, 503);
    const call = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES);
    assert.equal(call.ok ? undefined : call.code, grpc.status.UNAVAILABLE);
  });

  it('answers gRPC garbage with InvalidArgument, counts it, and keeps serving', async () => {
    const truncated = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES.subarray(0, LOGS_BYTES.length - 3));
    assert.equal(truncated.ok, false);
    assert.equal(truncated.ok ? undefined : truncated.code, grpc.status.INVALID_ARGUMENT);
    const garbage = await rawGrpcExport(otlp.grpcPort, 'traces', randomBytes(4096));
    assert.equal(garbage.ok ? undefined : garbage.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(malformed(), 2);
    const good = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES);
    assert.ok(good.ok);
    assert.equal(decodeResponse('logs', good.response), undefined, 'an empty ExportLogsServiceResponse');
    assert.deepEqual(otlp.logs.received, [LOGS]);
    assert.equal(otlp.traces.received.length, 0);
  });

  it('accepts grpc-encoding gzip', async () => {
    const r = await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES, { gzip: true });
    assert.ok(r.ok);
    assert.deepEqual(otlp.logs.received, [LOGS]);
  });

  it('refuses a gRPC message over max_recv_msg_size_mib with ResourceExhausted', async () => {
    const r = await rawGrpcExport(otlp.grpcPort, 'logs', randomBytes(4 * 1024 * 1024 + 1));
    assert.equal(r.ok ? undefined : r.code, grpc.status.RESOURCE_EXHAUSTED);
    // Small on the wire, gzip-compressed, but over the limit once inflated.
    const bomb = await rawGrpcExport(otlp.grpcPort, 'logs', Buffer.alloc(8 * 1024 * 1024), { gzip: true });
    assert.equal(bomb.ok ? undefined : bomb.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(bomb.ok ? '' : bomb.details, /decompresses to a size larger than 4194304/);
    assert.ok((await rawGrpcExport(otlp.grpcPort, 'logs', LOGS_BYTES)).ok);
  });
});
