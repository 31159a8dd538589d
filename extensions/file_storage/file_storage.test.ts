// The file_storage extension and the persistent sending queue on it: durable records, resume after
// a restart, corrupted records skipped and counted, the bound in bytes, the directory lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { z } from 'zod';
import type { Extension, Host } from '../../src/component/component.ts';
import { ConsumerError, retryableError } from '../../src/component/errors.ts';
import { exporterHelperSchema } from '../../src/exporterhelper/config.ts';
import { newExporter, type Sender } from '../../src/exporterhelper/exporter.ts';
import { decodeRecord } from '../../src/exporterhelper/persistent-queue.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { tempDir } from '../../test/support/cli.ts';
import { captureLogger, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { compareIds, numberedSpans, spanIds } from '../../test/support/spans.ts';
import { fileStorageConfigSchema } from './config.ts';
import { FileStorage } from './extension.ts';
import { fileStorageFactory } from './factory.ts';

const helperSchema = z.strictObject(exporterHelperSchema);

class Backend implements Sender<'traces'> {
  up = true;
  readonly received: TracesData[] = [];
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  async send(data: TracesData): Promise<void> {
    if (!this.up) throw retryableError('connection refused');
    this.received.push(data);
  }
}

function storage(directory: string, extra: Record<string, unknown> = {}) {
  const { logger, lines } = captureLogger();
  const ext = fileStorageFactory.create(
    { ...testSettings('file_storage', 'extension', 'traces', { logger }), kind: 'extension' },
    fileStorageConfigSchema.parse({ directory, ...extra }),
  ) as FileStorage;
  return { ext, lines };
}

function hostWith(extensions: Record<string, Extension>): Host {
  return { getExtension: (id) => extensions[id] };
}

function queuedExporter(backend: Backend, queue: Record<string, unknown> = {}) {
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger();
  const config = helperSchema.parse({
    sending_queue: { storage: 'file_storage', num_consumers: 2, ...queue },
    retry_on_failure: { initial_interval: '10ms', max_interval: '20ms', randomization_factor: 0 },
  });
  const exporter = newExporter('traces', testSettings('otlp/disk', 'exporter', 'traces', { telemetry, logger }), config, backend, { drainTimeoutMs: 100 });
  return { exporter, telemetry, lines, counter: (n: string) => telemetry.counters.get(n) ?? 0 };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('file_storage extension', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir('bpfcol-file-storage-')));
  afterEach(() => dir.cleanup());

  it('has the Collector keys and defaults (fsync on)', () => {
    assert.deepEqual(fileStorageConfigSchema.parse({}), {
      directory: '/var/lib/bpfcol/file_storage',
      create_directory: false,
      directory_permissions: '0750',
      timeout: 1000,
      fsync: true,
    });
    const bad = fileStorageConfigSchema.safeParse({ directory: 7, directory_permissions: 'rwx', fsync: 'yes', extra: 1 });
    assert.deepEqual(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort(), [
      ': Unrecognized key: "extra"',
      'directory: expected a directory path',
      'directory_permissions: expected octal permissions like "0750", got "rwx"',
      'fsync: expected true or false',
    ]);
  });

  it('fails to start on a missing directory unless create_directory is set', async () => {
    const missing = join(dir.path, 'a', 'b');
    await assert.rejects(storage(missing).ext.start(hostWith({})), { message: `directory ${missing} does not exist: create it, or set create_directory: true` });
    const { ext } = storage(missing, { create_directory: true });
    await ext.start(hostWith({}));
    assert.ok(existsSync(missing));
    await ext.shutdown();
  });

  it('stores, lists, reads and deletes keys in a directory per component and signal', async () => {
    const { ext } = storage(dir.path);
    await ext.start(hostWith({}));
    const client = await ext.getClient({ kind: 'exporter', id: 'otlp/backup', name: 'traces' });
    assert.equal(client.location, join(dir.path, 'exporter_otlp_backup_traces'));
    await client.set('k1', new Uint8Array([1, 2, 3]));
    await client.set('k2', new Uint8Array(10));
    assert.deepEqual((await client.list()).sort((a, b) => a.key.localeCompare(b.key)), [
      { key: 'k1', size: 3 },
      { key: 'k2', size: 10 },
    ]);
    assert.deepEqual(await client.get('k1'), Buffer.from([1, 2, 3]));
    await client.delete('k1');
    await client.delete('k1');
    assert.equal(await client.get('k1'), undefined);
    await assert.rejects(client.set('../escape', new Uint8Array(1)), /cannot be a key/);
    await ext.shutdown();
    assert.deepEqual(readdirSync(client.location), ['k2'], 'the LOCK is released');
  });

  it('keeps a second process out of a client directory, and takes over a lock left by a dead one', async () => {
    const clientDir = join(dir.path, 'exporter_otlp__traces');
    const { ext } = storage(dir.path, { timeout: '200ms' });
    await ext.start(hostWith({}));
    const holder = spawn('sleep', ['30']);
    try {
      await new Promise((r) => holder.once('spawn', r));
      const { mkdirSync } = await import('node:fs');
      mkdirSync(clientDir);
      writeFileSync(join(clientDir, 'LOCK'), String(holder.pid));
      await assert.rejects(ext.getClient({ kind: 'exporter', id: 'otlp', name: 'traces' }), {
        message: `${clientDir} is in use by process ${holder.pid}; waited 200 ms (timeout)`,
      });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    writeFileSync(join(clientDir, 'half-written.tmp'), 'x');
    const client = await ext.getClient({ kind: 'exporter', id: 'otlp', name: 'traces' });
    assert.equal(readFileSync(join(clientDir, 'LOCK'), 'utf8'), String(process.pid));
    assert.ok(!existsSync(join(clientDir, 'half-written.tmp')), 'an incomplete write is removed');
    await client.close();
    await ext.shutdown();
  });
});

describe('persistent sending queue on file_storage', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir('bpfcol-persistent-queue-')));
  afterEach(() => dir.cleanup());

  it('keeps batches on disk while the backend is down, across a restart, and sends them all after', async () => {
    const backend = new Backend();
    backend.up = false;
    const first = storage(dir.path);
    await first.ext.start(hostWith({}));
    const a = queuedExporter(backend);
    await a.exporter.start(hostWith({ file_storage: first.ext }));
    const batches = Array.from({ length: 12 }, (_, b) => numberedSpans(7, b, 5));
    for (const b of batches) await a.exporter.consume(b);
    const clientDir = join(dir.path, 'exporter_otlp_disk_traces');
    assert.equal(readdirSync(clientDir).filter((f) => f !== 'LOCK').length, 12, 'one record per batch, written before consume resolved');
    await a.exporter.shutdown();
    await first.ext.shutdown();
    assert.equal(a.counter('exporter_send_failed_spans'), 0, 'nothing is dropped: the queue keeps it');
    assert.ok(a.lines.some((l) => l.includes('they stay on disk')), a.lines.join('\n'));
    assert.equal(readdirSync(clientDir).length, 12);

    backend.up = true;
    const second = storage(dir.path);
    await second.ext.start(hostWith({}));
    const b = queuedExporter(backend);
    await b.exporter.start(hostWith({ file_storage: second.ext }));
    await until(() => b.counter('exporter_sent_spans') === 60, 'the resumed batches');
    await b.exporter.shutdown();
    await second.ext.shutdown();
    assert.deepEqual(compareIds(spanIds(batches), spanIds(backend.received)), { missing: [], duplicates: 0 });
    assert.deepEqual(readdirSync(clientDir), [], 'records are removed once sent');
    assert.ok(b.lines.some((l) => l.includes('resuming batches left by the previous run') && l.includes('batches=12')), b.lines.join('\n'));
  });

  it('skips a corrupted record, counts it, and sends the others', async () => {
    const backend = new Backend();
    backend.up = false;
    const first = storage(dir.path);
    await first.ext.start(hostWith({}));
    const a = queuedExporter(backend);
    await a.exporter.start(hostWith({ file_storage: first.ext }));
    const batches = [numberedSpans(8, 0, 3), numberedSpans(8, 1, 4), numberedSpans(8, 2, 5)];
    for (const b of batches) await a.exporter.consume(b);
    await a.exporter.shutdown();
    await first.ext.shutdown();

    const clientDir = join(dir.path, 'exporter_otlp_disk_traces');
    const [, middle] = readdirSync(clientDir).sort();
    const path = join(clientDir, middle!);
    const bytes = readFileSync(path);
    assert.equal(decodeRecord(bytes).items, 4);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(path, bytes);
    assert.throws(() => decodeRecord(bytes), /checksum mismatch/);

    backend.up = true;
    const second = storage(dir.path);
    await second.ext.start(hostWith({}));
    const b = queuedExporter(backend);
    await b.exporter.start(hostWith({ file_storage: second.ext }));
    await until(() => b.counter('exporter_sent_spans') === 8, 'the good batches');
    await b.exporter.shutdown();
    await second.ext.shutdown();
    assert.equal(b.counter('exporter_queue_corrupted_spans'), 4);
    assert.equal(b.counter('exporter_queue_corrupted_records'), 1);
    assert.deepEqual(spanIds(backend.received).sort(), spanIds([batches[0]!, batches[2]!]).sort());
    assert.ok(b.lines.some((l) => l.includes('skipping a record that cannot be read back') && l.includes('checksum mismatch')), b.lines.join('\n'));
    assert.deepEqual(readdirSync(clientDir), []);
  });

  it('is bounded in bytes with sizer: bytes', async () => {
    const backend = new Backend();
    backend.up = false;
    const { ext } = storage(dir.path);
    await ext.start(hostWith({}));
    const a = queuedExporter(backend, { sizer: 'bytes', queue_size: 4000 });
    await a.exporter.start(hostWith({ file_storage: ext }));
    let accepted = 0;
    let refusal: unknown;
    for (let b = 0; b < 100 && refusal === undefined; b++) {
      await a.exporter.consume(numberedSpans(9, b, 10)).then(
        () => accepted++,
        (e: unknown) => (refusal = e),
      );
    }
    assert.ok(refusal instanceof ConsumerError && refusal.retryable, String(refusal));
    assert.match((refusal as Error).message, /sending queue is full \(\d+ of 4000 used\)/);
    const clientDir = join(dir.path, 'exporter_otlp_disk_traces');
    const onDisk = readdirSync(clientDir)
      .filter((f) => f !== 'LOCK')
      .reduce((sum, f) => sum + readFileSync(join(clientDir, f)).length, 0);
    assert.ok(accepted > 0 && onDisk <= 4000, `${accepted} batches, ${onDisk} bytes on disk`);
    assert.equal(a.counter('exporter_enqueue_failed_spans'), 10);
    await a.exporter.shutdown();
    await ext.shutdown();
  });

  it('fails to start when the storage extension is missing or is not one', async () => {
    const a = queuedExporter(new Backend());
    await assert.rejects(a.exporter.start(hostWith({})), /extension "file_storage" is not running/);
    const b = queuedExporter(new Backend());
    const notStorage: Extension = { start: async () => {}, shutdown: async () => {} };
    await assert.rejects(b.exporter.start(hostWith({ file_storage: notStorage })), /is not a storage extension/);
  });
});
