// The gRPC service definitions carry the model both ways through real @grpc/grpc-js channels,
// and hand a server handler an error (not an INTERNAL status) for bytes it cannot decode.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { sampleLogs, sampleMetrics, sampleTraces } from '../../../test/fixtures/pdata-samples.ts';
import { otlpGrpcMethodPaths, otlpGrpcServices, serverRequest, type OtlpGrpcResponse, type OtlpSignal } from './index.ts';

const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;

describe('OTLP gRPC service definitions', () => {
  const server = new grpc.Server();
  const received: { signal: OtlpSignal; request: ReturnType<typeof serverRequest> }[] = [];
  let address = '';

  before(async () => {
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      server.addService(otlpGrpcServices[signal], {
        Export: (call: grpc.ServerUnaryCall<unknown, OtlpGrpcResponse>, callback: grpc.sendUnaryData<OtlpGrpcResponse>) => {
          const request = serverRequest(call.request);
          received.push({ signal, request });
          if (request.error) callback({ code: grpc.status.INVALID_ARGUMENT, details: request.error.message });
          else callback(null, signal === 'logs' ? { rejected: 2, message: 'two too old' } : undefined);
        },
      });
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());

  it('has the OTLP method paths', () => {
    assert.equal(otlpGrpcServices.traces.Export!.path, '/opentelemetry.proto.collector.trace.v1.TraceService/Export');
    assert.equal(otlpGrpcMethodPaths.metrics, '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export');
    assert.equal(otlpGrpcMethodPaths.logs, '/opentelemetry.proto.collector.logs.v1.LogsService/Export');
  });

  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    it(`${signal}: the server gets the model the client sent, the client gets the partial success`, async () => {
      const Client = grpc.makeGenericClientConstructor(otlpGrpcServices[signal], signal);
      const client = new Client(address, grpc.credentials.createInsecure());
      try {
        const response = await new Promise<OtlpGrpcResponse>((resolve, reject) =>
          client.Export!(samples[signal](), (e: grpc.ServiceError | null, r: OtlpGrpcResponse) => (e ? reject(e) : resolve(r))),
        );
        assert.deepStrictEqual(response, signal === 'logs' ? { rejected: 2, message: 'two too old' } : undefined);
        const last = received.at(-1)!;
        assert.equal(last.signal, signal);
        assert.deepStrictEqual(last.request.data, samples[signal]());
        assert.ok(last.request.bytes > 100);
      } finally {
        client.close();
      }
    });
  }

  it('hands the handler the decode error for garbage, so it can answer InvalidArgument', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
        client.makeUnaryRequest(
          otlpGrpcMethodPaths.traces,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff, 0xff, 0x03]),
          (e) => (e ? resolve(e) : reject(new Error('garbage was accepted'))),
        ),
      );
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /malformed OTLP traces protobuf request/);
      assert.ok(received.at(-1)!.request.error);
    } finally {
      client.close();
    }
  });
});
