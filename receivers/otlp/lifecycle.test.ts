// Start, shutdown and sharing: one instance per receiver id, ports taken, shutdown without start
// and twice, requests in flight finishing during shutdown.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { encodeRequest } from '../../src/pdata/otlp/proto.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { freePort } from '../../test/support/ports.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { SinkConsumer } from '../../test/support/component-harness.ts';
import { otlpReceiverConfigSchema } from './config.ts';
import { otlpFactory } from './factory.ts';
import { post, rawGrpcExport, startOtlp } from './harness.ts';

const TRACES: TracesData = {
  resourceSpans: [
    {
      resource: { attributes: [] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'lifecycle',
              kind: 1,
              startTimeUnixNano: 1n,
              endTimeUnixNano: 2n,
              attributes: [],
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
const TRACES_BYTES = encodeRequest('traces', TRACES);
const PROTO = { 'Content-Type': 'application/x-protobuf' };
const host = { getExtension: () => undefined };

/** Holds a loopback port, as another program would. */
async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Whether something can bind the port now (so nothing else holds it). */
async function isFree(port: number): Promise<boolean> {
  try {
    await close(await occupy(port));
    return true;
  } catch {
    return false;
  }
}

describe('otlp receiver lifecycle', () => {
  it('fails to start when the gRPC port is taken, with the endpoint and reason', async () => {
    const port = await freePort();
    const taken = await occupy(port);
    try {
      const otlp = await startOtlp({ grpc: { endpoint: `127.0.0.1:${port}` }, noStart: true });
      await assert.rejects(otlp.handles[0]!.start(host), { message: `receivers.otlp: cannot listen on 127.0.0.1:${port}: address in use` });
      assert.ok(await isFree(otlp.httpPort), 'the HTTP port is not held');
      await otlp.stop();
    } finally {
      await close(taken);
    }
  });

  it('fails to start when the HTTP port is taken, and releases the gRPC port it had bound', async () => {
    const port = await freePort();
    const taken = await occupy(port);
    try {
      const otlp = await startOtlp({ http: { endpoint: `127.0.0.1:${port}` }, noStart: true, id: 'otlp/web' });
      await assert.rejects(otlp.handles[0]!.start(host), { message: `receivers.otlp/web: cannot listen on 127.0.0.1:${port}: address in use` });
      assert.ok(await isFree(otlp.grpcPort), 'the gRPC port was released');
      await otlp.stop();
    } finally {
      await close(taken);
    }
  });

  it('shuts down without start, and twice after start, and frees its ports', async () => {
    const unstarted = await startOtlp({ noStart: true });
    await unstarted.stop();
    await unstarted.stop();

    const otlp = await startOtlp();
    assert.equal(await isFree(otlp.grpcPort), false);
    assert.equal(await isFree(otlp.httpPort), false);
    await otlp.stop();
    await otlp.stop();
    assert.ok(await isFree(otlp.grpcPort));
    assert.ok(await isFree(otlp.httpPort));
  });

  it('refuses to start without any protocol', async () => {
    const config = otlpReceiverConfigSchema.parse({});
    const handle = otlpFactory.create.traces!(testSettings('otlp/none', 'receiver', 'traces'), config, new SinkConsumer<'traces'>());
    await assert.rejects(handle.start(host), {
      message: 'receivers.otlp/none: protocols: expected at least one of grpc or http (write `grpc:` or `http:` for the defaults)',
    });
    await handle.shutdown();
  });

  it('serves every registered signal from one instance and answers 404 / Unimplemented for the others', async () => {
    const otlp = await startOtlp({ signals: ['traces', 'logs'] });
    try {
      assert.equal((await post(`${otlp.httpUrl}/v1/traces`, TRACES_BYTES, PROTO)).status, 200);
      assert.ok((await rawGrpcExport(otlp.grpcPort, 'traces', TRACES_BYTES)).ok);
      assert.equal(otlp.traces.received.length, 2);

      assert.equal((await post(`${otlp.httpUrl}/v1/metrics`, TRACES_BYTES, PROTO)).status, 404);
      const call = await rawGrpcExport(otlp.grpcPort, 'metrics', TRACES_BYTES);
      assert.equal(call.ok ? undefined : call.code, grpc.status.UNIMPLEMENTED);
      assert.equal(otlp.metrics.received.length, 0);
    } finally {
      await otlp.stop();
    }
  });

  it('runs two receiver ids side by side, and a stopped id can be created and started again', async () => {
    const first = await startOtlp({ id: 'otlp/a', signals: ['traces'] });
    const second = await startOtlp({ id: 'otlp/b', signals: ['traces'] });
    try {
      assert.equal((await post(`${first.httpUrl}/v1/traces`, TRACES_BYTES, PROTO)).status, 200);
      assert.equal((await post(`${second.httpUrl}/v1/traces`, TRACES_BYTES, PROTO)).status, 200);
      assert.equal(first.traces.received.length, 1);
      assert.equal(second.traces.received.length, 1);
    } finally {
      await first.stop();
      await second.stop();
    }
    const again = await startOtlp({ id: 'otlp/a', signals: ['traces'] });
    try {
      assert.equal((await post(`${again.httpUrl}/v1/traces`, TRACES_BYTES, PROTO)).status, 200);
      assert.equal(again.traces.received.length, 1);
    } finally {
      await again.stop();
    }
  });

  it('lets requests in flight finish during shutdown, then refuses new connections', async () => {
    const otlp = await startOtlp({ signals: ['traces'] });
    otlp.traces.delayMs = 400;
    const httpCall = post(`${otlp.httpUrl}/v1/traces`, TRACES_BYTES, PROTO);
    const grpcCall = rawGrpcExport(otlp.grpcPort, 'traces', TRACES_BYTES);
    // Shut down once both requests are inside the pipeline.
    while (otlp.traces.pending < 2) await new Promise((r) => setTimeout(r, 5));
    const stopped = otlp.stop();
    assert.equal((await httpCall).status, 200);
    assert.ok((await grpcCall).ok);
    await stopped;
    assert.equal(otlp.traces.received.length, 2);
    await assert.rejects(post(`${otlp.httpUrl}/v1/traces`, TRACES_BYTES, PROTO));
    assert.ok(await isFree(otlp.grpcPort));
  });
});
