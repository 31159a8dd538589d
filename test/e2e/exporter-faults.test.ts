// Exporters that lose nothing, proven with the real bpfcol CLI and a real OpenTelemetry Collector:
// the Collector stopped for a while under steady load, bpfcol killed with SIGKILL while the
// backend is down (persistent queue), a full and then read-only queue disk (a tmpfs mounted
// here), and backends answering 429, 503 and hanging sockets. Spans are numbered; what the
// Collector wrote is compared id by id. Durations are seconds, not the minutes of a real outage:
// what matters is that the backend is gone while data keeps coming.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ConsumerError } from '../../src/component/errors.ts';
import { otlpGrpcServices } from '../../src/pdata/otlp/index.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { otlpHttpConfigSchema } from '../../exporters/otlp_http/config.ts';
import { otlpHttpFactory } from '../../exporters/otlp_http/factory.ts';
import { otlpConfigSchema } from '../../exporters/otlp/config.ts';
import { otlpFactory } from '../../exporters/otlp/factory.ts';
import { decodeRequest, encodeRpcStatus, serverRequest, type OtlpGrpcResponse } from '../../src/pdata/otlp/index.ts';
import { startBpfcol, tempDir, writeConfig, type RunningBpfcol } from '../support/cli.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../support/component-harness.ts';
import { type OtelcolPeer, startOtelcol } from '../support/otelcol.ts';
import { freePort } from '../support/ports.ts';
import { compareIds, numberedSpans, spanIds } from '../support/spans.ts';

const host = { getExtension: () => undefined };

/** One OTLP/gRPC export to bpfcol's receiver; rejects with the gRPC error. */
function sendSpans(endpoint: string, data: TracesData): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(otlpGrpcServices.traces, 'traces');
  const client = new Client(endpoint, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) =>
    client.Export!(data, (error: grpc.ServiceError | null) => {
      client.close();
      if (error) reject(error);
      else resolve();
    }),
  );
}

/** A bpfcol own-metrics value (summed over series), from its /metrics. */
async function selfMetric(telemetryPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').at(-1));
  return sum;
}

function writtenIds(peer: OtelcolPeer): string[] {
  return spanIds(peer.read('traces'));
}

async function waitForIds(peer: OtelcolPeer, expected: string[], timeoutMs = 60_000): Promise<{ missing: string[]; duplicates: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = compareIds(expected, writtenIds(peer));
    if (result.missing.length === 0 || Date.now() > deadline) return result;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bpfcolConfig(o: { grpcPort: number; telemetryPort: number; backend: string; storageDir?: string; batch?: boolean }): string {
  return `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${o.grpcPort}" }
processors:
  batch: { timeout: 100ms }
exporters:
  otlp:
    endpoint: ${o.backend}
    tls: { insecure: true }
    timeout: 2s
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }
    sending_queue: { num_consumers: 4${o.storageDir ? ', storage: file_storage' : ''} }
${o.storageDir ? `extensions:\n  file_storage:\n    directory: ${o.storageDir}\n    create_directory: true\n` : ''}
service:
  ${o.storageDir ? 'extensions: [file_storage]' : ''}
  telemetry:
    metrics: { address: "127.0.0.1:${o.telemetryPort}" }
  pipelines:
    traces: { receivers: [otlp], processors: [${o.batch ? 'batch' : ''}], exporters: [otlp] }
`;
}

describe('bpfcol -> Collector that stops under steady load, then comes back', () => {
  const dir = tempDir('bpfcol-faults-restart-');
  let peer: OtelcolPeer;
  let bpfcol: RunningBpfcol;
  after(async () => {
    await bpfcol?.stop();
    await peer?.stop();
    dir.cleanup();
  });

  it('loses no span: every id sent arrives (the Collector was down 4 s of an 8 s load)', async () => {
    peer = await startOtelcol();
    const grpcPort = await freePort();
    const telemetryPort = await freePort();
    bpfcol = await startBpfcol(writeConfig(dir.path, bpfcolConfig({ grpcPort, telemetryPort, backend: peer.grpcEndpoint, batch: true })));
    const sent: TracesData[] = [];
    const load = (async () => {
      for (let b = 0; b < 80; b++) {
        const data = numberedSpans(21, b, 50);
        await sendSpans(`127.0.0.1:${grpcPort}`, structuredClone(data));
        sent.push(data);
        await sleep(100);
      }
    })();
    await sleep(2000);
    await peer.pause();
    await sleep(4000);
    const whileDown = writtenIds(peer).length;
    await peer.resume();
    await load;
    const result = await waitForIds(peer, spanIds(sent));
    assert.equal(sent.length, 80, 'bpfcol accepted every batch while the Collector was down');
    assert.deepEqual(result.missing, [], `missing ${result.missing.length} of ${spanIds(sent).length}`);
    assert.ok(whileDown < spanIds(sent).length, 'the Collector really missed some of the load');
    assert.ok((await selfMetric(telemetryPort, 'bpfcol_exporter_retries_total')) > 0, 'the exporter retried');
    assert.equal(await selfMetric(telemetryPort, 'bpfcol_exporter_send_failed_spans_total'), 0);
    assert.equal(await selfMetric(telemetryPort, 'bpfcol_exporter_sent_spans_total'), 4000);
  });
});

describe('bpfcol killed with SIGKILL while the backend is down (persistent queue)', () => {
  const dir = tempDir('bpfcol-faults-kill-');
  let peer: OtelcolPeer;
  let bpfcol: RunningBpfcol | undefined;
  after(async () => {
    await bpfcol?.stop();
    await peer?.stop();
    dir.cleanup();
  });

  it('resumes the queue from disk after the restart: zero queued spans lost', async () => {
    peer = await startOtelcol();
    await peer.pause();
    const grpcPort = await freePort();
    const telemetryPort = await freePort();
    const storage = join(dir.path, 'queue');
    const config = writeConfig(dir.path, bpfcolConfig({ grpcPort, telemetryPort, backend: peer.grpcEndpoint, storageDir: storage }));
    bpfcol = await startBpfcol(config);
    const sent: TracesData[] = [];
    for (let b = 0; b < 30; b++) {
      const data = numberedSpans(22, b, 40);
      await sendSpans(`127.0.0.1:${grpcPort}`, structuredClone(data));
      sent.push(data);
    }
    const records = readdirSync(join(storage, 'exporter_otlp__traces')).filter((f) => f !== 'LOCK');
    assert.equal(records.length, 30, 'every acknowledged batch is on disk');
    assert.equal(await bpfcol.stop('SIGKILL'), 128);
    bpfcol = await startBpfcol(config);
    await bpfcol.waitForOutput(/resuming batches left by the previous run/);
    await peer.resume();
    const result = await waitForIds(peer, spanIds(sent));
    assert.deepEqual(result.missing, [], `missing ${result.missing.length} of ${spanIds(sent).length}`);
    assert.deepEqual(readdirSync(join(storage, 'exporter_otlp__traces')).filter((f) => f !== 'LOCK'), [], 'sent records are removed');
  });
});

describe('a persistent queue on a full disk, then a read-only one', () => {
  const dir = tempDir('bpfcol-faults-disk-');
  const mountPoint = join(dir.path, 'tiny');
  let mounted = false;
  let peer: OtelcolPeer;
  let bpfcol: RunningBpfcol | undefined;
  before(() => {
    mkdirSync(mountPoint);
    // Needs root, as the eBPF tests do: a 256 KiB tmpfs stands for a full disk.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'bpfcol-test', mountPoint]);
    mounted = true;
  });
  after(async () => {
    await bpfcol?.stop();
    await peer?.stop();
    if (mounted) execFileSync('umount', [mountPoint]);
    dir.cleanup();
  });

  it('refuses what does not fit with a clear error, counts it, keeps running, and sends what it stored', async () => {
    peer = await startOtelcol();
    await peer.pause();
    const grpcPort = await freePort();
    const telemetryPort = await freePort();
    bpfcol = await startBpfcol(writeConfig(dir.path, bpfcolConfig({ grpcPort, telemetryPort, backend: peer.grpcEndpoint, storageDir: mountPoint })));
    const accepted: TracesData[] = [];
    let refusals = 0;
    let refusal: grpc.ServiceError | undefined;
    for (let b = 0; b < 60; b++) {
      const data = numberedSpans(23, b, 60);
      try {
        await sendSpans(`127.0.0.1:${grpcPort}`, structuredClone(data));
        accepted.push(data);
      } catch (error) {
        refusals++;
        refusal = error as grpc.ServiceError;
      }
    }
    assert.ok(accepted.length > 0 && refusals > 0, `${accepted.length} accepted, ${refusals} refused`);
    assert.equal(refusal!.code, grpc.status.UNAVAILABLE, 'refused as retryable: the client may try again');
    assert.match(bpfcol.output(), /persistent queue: cannot write the batch to .*ENOSPC: no space left on device/);
    assert.equal(await selfMetric(telemetryPort, 'bpfcol_exporter_enqueue_failed_spans_total'), refusals * 60);
    assert.equal((await fetch(`http://127.0.0.1:${telemetryPort}/health`)).status, 200, 'still running');

    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    await assert.rejects(sendSpans(`127.0.0.1:${grpcPort}`, numberedSpans(23, 999, 1)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    await bpfcol.waitForOutput(/EROFS: read-only file system/);

    await peer.resume();
    const result = await waitForIds(peer, spanIds(accepted));
    assert.deepEqual(result.missing, [], 'every batch that was acknowledged arrives');
  });

  it('a queue directory that is read-only at start: bpfcol says so and exits non-zero', async () => {
    await bpfcol?.stop();
    bpfcol = undefined;
    const grpcPort = await freePort();
    const telemetryPort = await freePort();
    execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
    const config = writeConfig(dir.path, bpfcolConfig({ grpcPort, telemetryPort, backend: '127.0.0.1:9', storageDir: mountPoint }), 'ro.yaml');
    await assert.rejects(startBpfcol(config), /bpfcol could not start\terror=exporter otlp \(traces\): cannot take over .*exporter_otlp__traces\/LOCK, left by a process that is gone: EROFS: read-only file system/);
  });
});

describe('backends that throttle, fail and hang', () => {
  it('otlp_http: 429 with Retry-After, 503, a hanging socket, then 200: every span arrives once acknowledged', async () => {
    const answered: string[][] = [];
    let n = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        n++;
        if (n === 1) return void res.writeHead(429, { 'Retry-After': '1' }).end();
        if (n === 2) return void res.writeHead(503).end();
        if (n === 3) return; // hang: never answer
        answered.push(spanIds([decodeRequest('traces', Buffer.concat(chunks))]));
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const telemetry = recordingTelemetry();
    const { logger, lines } = captureLogger();
    const exporter = otlpHttpFactory.create.traces!(
      testSettings('otlp_http', 'exporter', 'traces', { telemetry, logger }),
      otlpHttpConfigSchema.parse({
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        compression: 'none',
        timeout: '500ms',
        retry_on_failure: { initial_interval: '50ms', max_interval: '200ms' },
      }),
    );
    try {
      await exporter.start(host);
      const data = numberedSpans(24, 0, 10);
      await exporter.consume(structuredClone(data));
      const deadline = Date.now() + 15_000;
      // Counted once the exporter has read the answer, a moment after the server sent it.
      while (telemetry.counters.get('exporter_sent_spans') === undefined && Date.now() < deadline) await sleep(50);
      assert.deepEqual(answered, [spanIds([data])]);
      assert.equal(telemetry.counters.get('exporter_retries'), 3);
      assert.equal(telemetry.counters.get('exporter_sent_spans'), 10);
      const waits = lines.filter((l) => l.includes('Will retry'));
      assert.match(waits[0]!, /HTTP 429.*retry after 1000 ms.*interval=1000ms/);
      assert.match(waits[1]!, /HTTP 503/);
      assert.match(waits[2]!, /no answer within 500 ms/);
    } finally {
      await exporter.shutdown();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('otlp (gRPC): UNAVAILABLE, RESOURCE_EXHAUSTED with RetryInfo, a call never answered, then OK', async () => {
    const server = new grpc.Server();
    const answered: string[][] = [];
    let n = 0;
    server.addService(otlpGrpcServices.traces, {
      Export: (call: grpc.ServerUnaryCall<unknown, OtlpGrpcResponse>, callback: grpc.sendUnaryData<OtlpGrpcResponse>) => {
        n++;
        if (n === 1) return callback({ code: grpc.status.UNAVAILABLE, details: 'restarting' });
        if (n === 2) {
          const metadata = new grpc.Metadata();
          metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus({ code: grpc.status.RESOURCE_EXHAUSTED, message: 'slow down', retryDelayMs: 300 })));
          return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'slow down', metadata });
        }
        if (n === 3) return; // never answered: the deadline ends it
        answered.push(spanIds([serverRequest<'traces'>(call.request).data!]));
        callback(null, undefined);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const telemetry = recordingTelemetry();
    const { logger, lines } = captureLogger();
    const exporter = otlpFactory.create.traces!(
      testSettings('otlp', 'exporter', 'traces', { telemetry, logger }),
      otlpConfigSchema.parse({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, timeout: '500ms', retry_on_failure: { initial_interval: '50ms', max_interval: '200ms' } }),
    );
    try {
      await exporter.start(host);
      const data = numberedSpans(25, 0, 10);
      await exporter.consume(structuredClone(data));
      const deadline = Date.now() + 15_000;
      while (telemetry.counters.get('exporter_sent_spans') === undefined && Date.now() < deadline) await sleep(50);
      assert.deepEqual(answered, [spanIds([data])]);
      assert.equal(telemetry.counters.get('exporter_retries'), 3);
      assert.equal(telemetry.counters.get('exporter_sent_spans'), 10);
      const waits = lines.filter((l) => l.includes('Will retry'));
      assert.match(waits[0]!, /UNAVAILABLE: restarting/);
      assert.match(waits[1]!, /RESOURCE_EXHAUSTED: slow down \(the server asks to retry after 300 ms\).*interval=300ms/);
      assert.match(waits[2]!, /DEADLINE_EXCEEDED/);
    } finally {
      await exporter.shutdown();
      server.forceShutdown();
    }
  });

  it('a permanent refusal is not retried: 400 drops the batch and counts it', async () => {
    const server = http.createServer((_req, res) => res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad span'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const telemetry = recordingTelemetry();
    const exporter = otlpHttpFactory.create.traces!(
      testSettings('otlp_http', 'exporter', 'traces', { telemetry }),
      otlpHttpConfigSchema.parse({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sending_queue: { enabled: false } }),
    );
    try {
      await exporter.start(host);
      await assert.rejects(exporter.consume(numberedSpans(26, 0, 7)), (e: unknown) => e instanceof ConsumerError && !e.retryable && /HTTP 400/.test(e.message));
      assert.equal(telemetry.counters.get('exporter_send_failed_spans'), 7);
      assert.equal(telemetry.counters.get('exporter_retries') ?? 0, 0);
    } finally {
      await exporter.shutdown();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
