import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Exporter } from '../../src/component/component.ts';
import { ConsumerError } from '../../src/component/errors.ts';
import { attributes } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { fromJson, toJson } from '../../src/pdata/otlp/json.ts';
import { decodeRequest } from '../../src/pdata/otlp/proto.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Signal } from '../../src/pdata/signal.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { fileConfigSchema, validateFileConfig } from './config.ts';
import { fileFactory } from './factory.ts';
import { backupName, backupTime, removeOldBackups } from './rotation.ts';

const host = { getExtension: () => undefined };
const dir = mkdtempSync(join(tmpdir(), 'bpfcol-file-exporter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function traces(name = 'GET /'): TracesData {
  seq++;
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': 'shop', 'process.pid': 1234 }) },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeSpans: [
          {
            scope: { name: 'io.bpfcol.socket_trace', version: '0.1.0' },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: seq.toString(16).padStart(16, '0'),
                parentSpanId: 'eee19b7ec3c1b173',
                name,
                kind: 2,
                startTimeUnixNano: 1_700_000_000_123_456_789n,
                endTimeUnixNano: 1_700_000_000_223_456_789n,
                attributes: attributes({ 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.5 }),
                events: [{ name: 'sent', timeUnixNano: 1_700_000_000_200_000_001n, attributes: attributes({ bytes: 10 }) }],
                links: [],
                status: { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  };
}

function metrics(): MetricsData {
  return {
    resourceMetrics: [
      {
        resource: { attributes: attributes({ 'service.name': 'shop' }) },
        scopeMetrics: [
          {
            scope: { name: 'meter' },
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                description: 'Duration of HTTP server requests.',
                data: {
                  type: 'histogram',
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: attributes({ 'http.request.method': 'GET' }),
                      startTimeUnixNano: 1_700_000_000_000_000_001n,
                      timeUnixNano: 1_700_000_010_000_000_001n,
                      count: 3,
                      sum: 0.75,
                      bucketCounts: [1, 2, 0],
                      explicitBounds: [0.1, 1],
                      min: 0.05,
                      max: 0.5,
                    },
                  ],
                },
              },
              {
                name: 'process.memory.usage',
                unit: 'By',
                data: {
                  type: 'gauge',
                  dataPoints: [{ attributes: [], timeUnixNano: 1_700_000_010_000_000_001n, asInt: 9_007_199_254_740_993n }],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

function logs(): LogsData {
  return {
    resourceLogs: [
      {
        resource: { attributes: attributes({ 'service.name': 'shop' }) },
        scopeLogs: [
          {
            scope: { name: 'log' },
            logRecords: [
              {
                timeUnixNano: 1_700_000_000_000_000_007n,
                observedTimeUnixNano: 1_700_000_000_000_000_008n,
                severityNumber: 17,
                severityText: 'ERROR',
                body: { stringValue: 'connection reset' },
                attributes: attributes({ 'network.peer.address': '10.0.0.1' }),
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b173',
              },
            ],
          },
        ],
      },
    ],
  };
}

function profiles(): ProfilesData {
  return {
    resourceProfiles: [
      {
        resource: { attributes: attributes({ 'process.pid': 42 }) },
        scopeProfiles: [
          {
            profiles: [
              {
                sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }],
                period: { type: 'cpu', unit: 'nanoseconds', value: 10_000_000 },
                timeUnixNano: 1_700_000_000_000_000_009n,
                durationNano: 1_000_000_000n,
                attributes: [],
                samples: [{ frames: [{ function: 'main', kind: 'native', address: 0x401000n }], values: [1], attributes: [] }],
              },
            ],
          },
        ],
      },
    ],
  };
}

function make<S extends Signal>(signal: S, config: Record<string, unknown>, id = 'file'): Exporter<S> {
  const cfg = fileConfigSchema.parse(config);
  return fileFactory.create[signal]!(testSettings(id, 'exporter', signal, { configDir: dir }), cfg) as Exporter<S>;
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('file exporter config', () => {
  it('defaults as the Collector and says what is wrong', () => {
    const d = fileConfigSchema.parse({});
    assert.deepEqual(d, { path: '', format: 'json', flush_interval: 1000, append: false, create_directory: false });
    assert.deepEqual(validateFileConfig(d), ['path must be non-empty: expected the file to write, like ./out/traces.jsonl']);
    assert.deepEqual(fileConfigSchema.parse({ path: 'x', rotation: {} }).rotation, {
      max_megabytes: 100,
      max_days: 0,
      max_backups: 100,
      localtime: false,
    });
    assert.deepEqual(validateFileConfig(fileConfigSchema.parse({ path: 'x', append: true, rotation: {} })), [
      'append and rotation enabled at the same time is not supported',
    ]);
    const bad = fileConfigSchema.safeParse({ path: 'x', format: 'xml', rotation: { max_megabytes: 0 }, compression: 'zstd' });
    assert.equal(bad.success, false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    assert.ok(paths.includes('format') && paths.includes('rotation.max_megabytes'), paths.join(','));
  });

  it('refuses to create without a path, and proto for profiles', () => {
    assert.throws(() => make('traces', {}), /file: path must be non-empty/);
    assert.throws(() => make('profiles', { path: 'p.bin', format: 'proto' }), /format proto cannot write profiles yet/);
  });
});

describe('file exporter', () => {
  it('writes one OTLP/JSON request per line; traces, metrics and logs share one file', async () => {
    const path = join(dir, 'all.jsonl');
    const t = make('traces', { path: 'all.jsonl' }); // relative to the config directory
    const m = make('metrics', { path });
    const l = make('logs', { path });
    await t.start(host);
    await m.start(host);
    await l.start(host);
    const sent = { traces: traces(), metrics: metrics(), logs: logs() };
    await t.consume(structuredClone(sent.traces));
    await m.consume(structuredClone(sent.metrics));
    await l.consume(structuredClone(sent.logs));
    await t.shutdown();
    await m.shutdown();
    await l.shutdown();

    const got = lines(path);
    assert.equal(got.length, 3);
    // Exactly the codec's Export*ServiceRequest, one per line.
    assert.equal(got[0], toJson('traces', sent.traces));
    assert.equal(got[1], toJson('metrics', sent.metrics));
    assert.equal(got[2], toJson('logs', sent.logs));
    assert.ok(JSON.parse(got[0]!).resourceSpans, 'an ExportTraceServiceRequest');
    // And it reads back to what was sent, nanoseconds and int64 included.
    assert.deepEqual(fromJson('traces', got[0]!), sent.traces);
    assert.deepEqual(fromJson('metrics', got[1]!), sent.metrics);
    assert.deepEqual(fromJson('logs', got[2]!), sent.logs);
  });

  it('keeps the order of writes and flushes everything on shutdown', async () => {
    const path = join(dir, 'order.jsonl');
    const t = make('traces', { path });
    await t.start(host);
    const pending = Array.from({ length: 200 }, (_, i) => t.consume(traces(`span-${i}`)));
    await t.shutdown();
    await Promise.all(pending);
    const names = lines(path).map((line) => fromJson('traces', line).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name);
    assert.deepEqual(
      names,
      Array.from({ length: 200 }, (_, i) => `span-${i}`),
    );
    await t.shutdown(); // safe twice
    await assert.rejects(t.consume(traces()), (e: unknown) => e instanceof ConsumerError && e.retryable);
  });

  it('truncates at start unless append is set', async () => {
    const path = join(dir, 'truncate.jsonl');
    writeFileSync(path, 'old line\n');
    const a = make('logs', { path });
    await a.start(host);
    await a.consume(logs());
    await a.shutdown();
    assert.equal(lines(path).length, 1);
    assert.notEqual(lines(path)[0], 'old line');

    const b = make('logs', { path, append: true });
    await b.start(host);
    await b.consume(logs());
    await b.shutdown();
    assert.equal(lines(path).length, 2);
  });

  it('rotates by size into lumberjack-named backups and keeps max_backups', async () => {
    const rdir = mkdtempSync(join(dir, 'rotate-'));
    const path = join(rdir, 'spans.jsonl');
    const oneRecord = Buffer.byteLength(toJson('traces', traces()) + '\n');
    // Room for about two records per file.
    const maxMegabytes = (oneRecord * 2.5) / (1024 * 1024);
    const t = make('traces', { path, rotation: { max_megabytes: maxMegabytes, max_backups: 3 } });
    await t.start(host);
    const names: string[] = [];
    for (let i = 0; i < 12; i++) {
      names.push(`r-${i}`);
      await t.consume(traces(`r-${i}`));
    }
    await t.shutdown();

    const files = readdirSync(rdir).sort();
    const backups = files.filter((f) => f !== 'spans.jsonl');
    assert.equal(backups.length, 3, files.join(', '));
    for (const b of backups) {
      assert.match(b, /^spans-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.jsonl$/);
      assert.ok(readFileSync(join(rdir, b)).length <= maxMegabytes * 1024 * 1024);
    }
    // The newest records survive, in order, across the backups and the current file.
    const kept = [...backups.map((b) => join(rdir, b)), path].flatMap((f) =>
      lines(f).map((l) => fromJson('traces', l).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name),
    );
    assert.deepEqual(kept, names.slice(names.length - kept.length));
    assert.ok(kept.length >= 7, `kept ${kept.length}`);
  });

  it('writes length-prefixed protobuf with format proto', async () => {
    const path = join(dir, 'spans.bin');
    const t = make('traces', { path, format: 'proto' });
    await t.start(host);
    const sent = [traces('a'), traces('b')];
    for (const s of sent) await t.consume(structuredClone(s));
    await t.shutdown();
    const bytes = readFileSync(path);
    const got = [];
    for (let off = 0; off < bytes.length; ) {
      const len = bytes.readUInt32BE(off);
      got.push(decodeRequest('traces', bytes.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    assert.deepEqual(got, sent);
  });

  it('writes profiles as model JSON with bigints as strings', async () => {
    const path = join(dir, 'profiles.jsonl');
    const p = make('profiles', { path });
    await p.start(host);
    await p.consume(profiles());
    await p.shutdown();
    const got = JSON.parse(lines(path)[0]!);
    const profile = got.resourceProfiles[0].scopeProfiles[0].profiles[0];
    assert.equal(profile.timeUnixNano, '1700000000000000009');
    assert.equal(profile.samples[0].frames[0].address, String(0x401000));
  });

  it('create_directory makes the missing directories', async () => {
    const path = join(dir, 'made', 'by', 'it', 'x.jsonl');
    const t = make('traces', { path, create_directory: true });
    await t.start(host);
    await t.consume(traces());
    await t.shutdown();
    assert.equal(lines(path).length, 1);
  });

  it('fails to start with a clear error when the path cannot be written', async () => {
    const t = make('traces', { path: join(dir, 'no-such-dir', 'x.jsonl') });
    await assert.rejects(t.start(host), /cannot open ".*no-such-dir\/x.jsonl" for writing: ENOENT/);
    await t.shutdown();
    const d = make('traces', { path: dir });
    await assert.rejects(d.start(host), /cannot open ".*" for writing: EISDIR/);
    await d.shutdown();
  });

  it('rejects consume with a retryable error when a write fails', async () => {
    const t = make('traces', { path: '/dev/full' });
    await t.start(host);
    await assert.rejects(t.consume(traces()), (e: unknown) => {
      assert.ok(e instanceof ConsumerError, String(e));
      assert.equal(e.retryable, true);
      assert.match(e.message, /writing to "\/dev\/full" failed: ENOSPC/);
      return true;
    });
    await t.shutdown().catch(() => {}); // fsync of /dev/full may fail too
  });

  it('refuses a second exporter writing the same path with other settings', async () => {
    const path = join(dir, 'conflict.jsonl');
    const a = make('traces', { path }, 'file/a');
    assert.throws(() => make('logs', { path, format: 'proto' }, 'file/b'), /file\/b and file\/a both write/);
    const same = make('logs', { path }, 'file/c');
    await a.start(host);
    await same.start(host);
    await a.consume(traces());
    await same.consume(logs());
    await a.shutdown();
    await same.shutdown();
    assert.equal(lines(path).length, 2);
  });
});

describe('file exporter rotation names', () => {
  it('names and parses backups as lumberjack', () => {
    const when = new Date(Date.UTC(2016, 10, 4, 18, 30, 0, 7));
    const name = backupName('/var/log/foo.log', when, false);
    assert.equal(name, '/var/log/foo-2016-11-04T18-30-00.007.log');
    assert.equal(backupTime('/var/log/foo.log', 'foo-2016-11-04T18-30-00.007.log', false)?.getTime(), when.getTime());
    assert.equal(backupTime('/var/log/foo.log', 'foo.log', false), undefined);
    assert.equal(backupTime('/var/log/foo.log', 'bar-2016-11-04T18-30-00.007.log', false), undefined);
  });

  it('removes backups older than max_days', async () => {
    const rdir = mkdtempSync(join(dir, 'days-'));
    const path = join(rdir, 'x.jsonl');
    const now = new Date(Date.UTC(2024, 0, 10));
    const old = backupName(path, new Date(Date.UTC(2024, 0, 1)), false);
    const recent = backupName(path, new Date(Date.UTC(2024, 0, 9)), false);
    writeFileSync(old, '');
    writeFileSync(recent, '');
    writeFileSync(path, '');
    const removed = await removeOldBackups(path, { maxBackups: 0, maxDays: 3, localtime: false, now });
    assert.deepEqual(removed, [old]);
    assert.deepEqual(readdirSync(rdir).sort(), ['x-2024-01-09T00-00-00.000.jsonl', 'x.jsonl']);
  });
});
