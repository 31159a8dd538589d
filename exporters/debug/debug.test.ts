import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { debugConfigSchema } from './config.ts';
import { debugFactory } from './factory.ts';
import { samplingLogger } from './sampler.ts';
import { formatTimestamp } from './text.ts';

// 2020-02-11T20:26:12.000000321Z and 2020-02-11T20:26:13.000000789Z, as in the Collector's testdata.
const START = 1581452772000000321n;
const END = 1581452773000000789n;
const T = (ns: bigint) => formatTimestamp(ns);

function traces(): TracesData {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': 'shop', 'host.cores': 8 }) },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeSpans: [
          {
            scope: { name: 'io.bpfcol.test', version: '1.0' },
            spans: [
              {
                traceId: '0102030405060708090a0b0c0d0e0f10',
                spanId: '1112131415161718',
                parentSpanId: '2122232425262728',
                name: 'GET /cart',
                kind: 2,
                startTimeUnixNano: START,
                endTimeUnixNano: END,
                attributes: attributes({ 'http.request.method': 'GET', 'http.response.status_code': 200 }),
                events: [{ name: 'retry', timeUnixNano: END, attributes: attributes({ attempt: 2 }) }],
                links: [],
                status: { code: 2, message: 'boom' },
              },
              {
                traceId: '0102030405060708090a0b0c0d0e0f10',
                spanId: '3132333435363738',
                name: 'SELECT',
                kind: 3,
                startTimeUnixNano: START,
                endTimeUnixNano: END,
                attributes: [],
                events: [],
                links: [{ traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), attributes: [] }],
                status: { code: 0 },
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
        resource: { attributes: attributes({ 'service.name': 'm' }) },
        scopeMetrics: [
          {
            scope: { name: 'meter' },
            metrics: [
              {
                name: 'queue.size',
                unit: '1',
                data: {
                  type: 'gauge',
                  dataPoints: [
                    { attributes: attributes({ q: 'a' }), startTimeUnixNano: START, timeUnixNano: END, asInt: 123n },
                    { attributes: [], timeUnixNano: END, asDouble: 1.23 },
                  ],
                },
              },
              {
                name: 'latency',
                description: 'request latency',
                unit: 's',
                data: {
                  type: 'histogram',
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: [],
                      startTimeUnixNano: START,
                      timeUnixNano: END,
                      count: 1,
                      sum: 15,
                      min: 15,
                      max: 15,
                      explicitBounds: [1],
                      bucketCounts: [0, 1],
                      exemplars: [
                        {
                          traceId: '0102030405060708090a0b0c0d0e0f10',
                          spanId: '1112131415161718',
                          timeUnixNano: END,
                          asDouble: 15,
                          filteredAttributes: attributes({ 'exemplar-attachment': 'x' }),
                        },
                      ],
                    },
                  ],
                },
              },
              {
                name: 'exp',
                unit: '1',
                data: {
                  type: 'exponentialHistogram',
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      attributes: [],
                      timeUnixNano: END,
                      count: 5,
                      sum: 0.15,
                      scale: 1,
                      zeroCount: 1,
                      positive: { offset: 1, bucketCounts: [1, 1] },
                      negative: { offset: -1, bucketCounts: [1, 1] },
                    },
                  ],
                },
              },
              {
                name: 'sum.req',
                unit: '{request}',
                data: {
                  type: 'sum',
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ attributes: [], timeUnixNano: END, asInt: 456n }],
                },
              },
              {
                name: 'summary',
                unit: '1',
                data: {
                  type: 'summary',
                  dataPoints: [
                    { attributes: [], timeUnixNano: END, count: 1, sum: 15, quantileValues: [{ quantile: 0.01, value: 15 }] },
                  ],
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
        resource: { attributes: attributes({ 'service.name': 'l' }) },
        scopeLogs: [
          {
            scope: { name: 'logger' },
            logRecords: [
              {
                timeUnixNano: END,
                observedTimeUnixNano: 0n,
                severityNumber: 9,
                severityText: 'Info',
                body: { stringValue: 'This is a log message' },
                attributes: attributes({ app: 'server', instance_num: 1 }),
                traceId: '08040201000000000000000000000000',
                spanId: '0102040800000000',
              },
              {
                timeUnixNano: END,
                observedTimeUnixNano: END,
                body: { kvlistValue: { values: attributes({ a: 1, b: [true, 'x'] }) } },
                attributes: [],
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
            scope: { name: 'perf_sampling' },
            profiles: [
              {
                profileId: 'ab'.repeat(16),
                sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }],
                period: { type: 'cpu', unit: 'nanoseconds', value: 10_000_000 },
                timeUnixNano: START,
                durationNano: 1_000_000_000n,
                attributes: [],
                samples: [
                  {
                    frames: [
                      { function: 'memcpy', kind: 'native', module: '/usr/lib/libc.so.6', address: 0x1234n },
                      { function: 'main', kind: 'native' },
                    ],
                    values: [20_000_000],
                    attributes: attributes({ 'thread.name': 'worker' }),
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Runs one batch through a debug exporter and returns the log lines it wrote (console or JSON encoding). */
async function run<S extends Signal>(signal: S, data: SignalData[S], config: Record<string, unknown>, encoding: 'console' | 'json' = 'console') {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', encoding, write: (l) => lines.push(l) });
  const exporter = debugFactory.create[signal]!(testSettings('debug', 'exporter', signal, { logger }), debugConfigSchema.parse(config));
  await exporter.start({ getExtension: () => undefined });
  await exporter.consume(data);
  await exporter.shutdown();
  return lines;
}

/** The message of a console log line (`ts \t level \t message [\t fields]`), which may span lines. */
function message(line: string): string {
  const parts = line.split('\t');
  assert.equal(parts[1], 'info');
  return parts[2]!;
}

describe('debug exporter', () => {
  it('defaults as the Collector', () => {
    assert.deepEqual(debugConfigSchema.parse({}), { verbosity: 'basic', sampling_initial: 2, sampling_thereafter: 1 });
    const bad = debugConfigSchema.safeParse({ verbosity: 'loud' });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues[0]!.path, ['verbosity']);
  });

  it('formats timestamps as RFC 3339 with nanoseconds and the raw value', () => {
    assert.equal(formatTimestamp(START), '2020-02-11T20:26:12.000000321Z (1581452772000000321)');
    assert.equal(formatTimestamp(0n), '1970-01-01T00:00:00.000000000Z (0)');
  });

  it('basic: one summary line per batch, per signal, with the Collector field names', async () => {
    const t = await run('traces', traces(), {}, 'json');
    assert.equal(t.length, 1);
    const tj = JSON.parse(t[0]!);
    assert.equal(tj.level, 'info');
    assert.equal(tj.msg, 'TracesExporter');
    assert.equal(tj['resource spans'], 1);
    assert.equal(tj.spans, 2);

    const m = JSON.parse((await run('metrics', metrics(), {}, 'json'))[0]!);
    assert.deepEqual([m.msg, m['resource metrics'], m.metrics, m['data points']], ['MetricsExporter', 1, 5, 6]);
    const l = JSON.parse((await run('logs', logs(), {}, 'json'))[0]!);
    assert.deepEqual([l.msg, l['resource logs'], l['log records']], ['LogsExporter', 1, 2]);
    const p = JSON.parse((await run('profiles', profiles(), {}, 'json'))[0]!);
    assert.deepEqual([p.msg, p['resource profiles'], p['sample records']], ['ProfilesExporter', 1, 1]);

    const console = await run('traces', traces(), {});
    assert.equal(console.length, 1);
    assert.match(console[0]!, /\tinfo\tTracesExporter\tresource spans=1 spans=2$/);
  });

  it('normal: the summary, then a line per resource, scope and item', async () => {
    const t = await run('traces', traces(), { verbosity: 'normal' });
    assert.equal(t.length, 2);
    assert.equal(message(t[0]!), 'TracesExporter');
    assert.equal(
      t[1]!.split('\t').slice(2).join('\t'),
      [
        'ResourceTraces #0 [https://opentelemetry.io/schemas/1.26.0] service.name=shop host.cores=8',
        'ScopeTraces #0 io.bpfcol.test@1.0',
        'GET /cart 0102030405060708090a0b0c0d0e0f10 1112131415161718 http.request.method=GET http.response.status_code=200',
        'SELECT 0102030405060708090a0b0c0d0e0f10 3132333435363738',
      ].join('\n'),
    );

    const m = await run('metrics', metrics(), { verbosity: 'normal' });
    assert.deepEqual(message(m[1]!).split('\n'), [
      'ResourceMetrics #0 service.name=m',
      'ScopeMetrics #0 meter',
      'queue.size{q=a} 123',
      'queue.size{} 1.23',
      'latency{} count=1 sum=15 min=15 max=15 le1=0 1',
      'exp{} count=5 sum=0.15 le0.7071067811865475=1 le1=1 le1.4142135623730951=1 le2.0000000000000004=1 zero_count0=1',
      'sum.req{} 456',
      'summary{} count=1 sum=15.000000 q0.01=15',
    ]);

    const l = await run('logs', logs(), { verbosity: 'normal' });
    assert.deepEqual(message(l[1]!).split('\n'), [
      'ResourceLog #0 service.name=l',
      'ScopeLog #0 logger',
      'This is a log message app=server instance_num=1',
      '{"a":1,"b":[true,"x"]}',
    ]);

    const p = await run('profiles', profiles(), { verbosity: 'normal' });
    assert.deepEqual(message(p[1]!).split('\n'), [
      'ResourceProfiles #0 process.pid=42',
      'ScopeProfiles #0 perf_sampling',
      `${'ab'.repeat(16)} samples=1`,
    ]);
  });

  it('detailed: every span field in the Collector layout', async () => {
    const lines = await run('traces', traces(), { verbosity: 'detailed' });
    assert.equal(lines.length, 2);
    assert.equal(message(lines[0]!), 'TracesExporter');
    assert.deepEqual(message(lines[1]!).split('\n'), [
      'ResourceSpans #0',
      'Resource SchemaURL: https://opentelemetry.io/schemas/1.26.0',
      'Resource attributes:',
      '     -> service.name: Str(shop)',
      '     -> host.cores: Int(8)',
      'ScopeSpans #0',
      'ScopeSpans SchemaURL: ',
      'InstrumentationScope io.bpfcol.test 1.0',
      'Span #0',
      '    Trace ID       : 0102030405060708090a0b0c0d0e0f10',
      '    Parent ID      : 2122232425262728',
      '    ID             : 1112131415161718',
      '    Name           : GET /cart',
      '    Kind           : Server',
      `    Start time     : ${T(START)}`,
      `    End time       : ${T(END)}`,
      '    Status code    : Error',
      '    Status message : boom',
      '    DroppedAttributesCount: 0',
      'Attributes:',
      '     -> http.request.method: Str(GET)',
      '     -> http.response.status_code: Int(200)',
      'Events:',
      'SpanEvent #0',
      '     -> Name: retry',
      `     -> Timestamp: ${T(END)}`,
      '     -> DroppedAttributesCount: 0',
      '     -> Attributes::',
      '          -> attempt: Int(2)',
      '    DroppedEventsCount: 0',
      '    DroppedLinksCount: 0',
      'Span #1',
      '    Trace ID       : 0102030405060708090a0b0c0d0e0f10',
      '    Parent ID      : ',
      '    ID             : 3132333435363738',
      '    Name           : SELECT',
      '    Kind           : Client',
      `    Start time     : ${T(START)}`,
      `    End time       : ${T(END)}`,
      '    Status code    : Unset',
      '    Status message : ',
      '    DroppedAttributesCount: 0',
      '    DroppedEventsCount: 0',
      'Links:',
      'SpanLink #0',
      `     -> Trace ID: ${'aa'.repeat(16)}`,
      `     -> ID: ${'bb'.repeat(8)}`,
      '     -> TraceState: ',
      '     -> DroppedAttributesCount: 0',
      '    DroppedLinksCount: 0',
    ]);
    // The raw nanoseconds are in the output exactly.
    assert.ok(lines[1]!.includes('(1581452772000000321)'));
  });

  it('detailed: metrics of every type', async () => {
    const lines = await run('metrics', metrics(), { verbosity: 'detailed' });
    const text = message(lines[1]!).split('\n');
    const from = (header: string, count: number) => {
      const i = text.indexOf(header);
      assert.ok(i >= 0, `${header} in\n${text.join('\n')}`);
      return text.slice(i, i + count);
    };
    assert.deepEqual(from('Metric #0', 14), [
      'Metric #0',
      'Descriptor:',
      '     -> Name: queue.size',
      '     -> Description: ',
      '     -> Unit: 1',
      '     -> DataType: Gauge',
      'NumberDataPoints #0',
      'Data point attributes:',
      '     -> q: Str(a)',
      `StartTimestamp: ${T(START)}`,
      `Timestamp: ${T(END)}`,
      'Value: 123',
      'NumberDataPoints #1',
      `StartTimestamp: ${T(0n)}`,
    ]);
    assert.ok(text.includes('Value: 1.230000'));
    assert.deepEqual(from('     -> DataType: Histogram', 20), [
      '     -> DataType: Histogram',
      '     -> AggregationTemporality: Cumulative',
      'HistogramDataPoints #0',
      `StartTimestamp: ${T(START)}`,
      `Timestamp: ${T(END)}`,
      'Count: 1',
      'Sum: 15.000000',
      'Min: 15.000000',
      'Max: 15.000000',
      'ExplicitBounds #0: 1.000000',
      'Buckets #0, Count: 0',
      'Buckets #1, Count: 1',
      'Exemplars:',
      'Exemplar #0',
      '     -> Trace ID: 0102030405060708090a0b0c0d0e0f10',
      '     -> Span ID: 1112131415161718',
      `     -> Timestamp: ${T(END)}`,
      '     -> Value: 15.000000',
      '     -> FilteredAttributes:',
      '          -> exemplar-attachment: Str(x)',
    ]);
    // The Collector's own expected buckets for this exponential histogram (scale 1).
    assert.deepEqual(from('     -> DataType: ExponentialHistogram', 13).slice(1), [
      '     -> AggregationTemporality: Delta',
      'ExponentialHistogramDataPoints #0',
      `StartTimestamp: ${T(0n)}`,
      `Timestamp: ${T(END)}`,
      'Count: 5',
      'Sum: 0.150000',
      'Bucket [-1.414214, -1.000000), Count: 1',
      'Bucket [-1.000000, -0.707107), Count: 1',
      'Bucket [0, 0], Count: 1',
      'Bucket (1.414214, 2.000000], Count: 1',
      'Bucket (2.000000, 2.828427], Count: 1',
      'Metric #3',
    ]);
    assert.deepEqual(from('     -> DataType: Sum', 3), [
      '     -> DataType: Sum',
      '     -> IsMonotonic: true',
      '     -> AggregationTemporality: Cumulative',
    ]);
    assert.ok(text.includes('QuantileValue #0: Quantile 0.010000, Value 15.000000'));
  });

  it('detailed: log records', async () => {
    const lines = await run('logs', logs(), { verbosity: 'detailed' });
    assert.deepEqual(message(lines[1]!).split('\n'), [
      'ResourceLog #0',
      'Resource SchemaURL: ',
      'Resource attributes:',
      '     -> service.name: Str(l)',
      'ScopeLogs #0',
      'ScopeLogs SchemaURL: ',
      'InstrumentationScope logger ',
      'LogRecord #0',
      `ObservedTimestamp: ${T(0n)}`,
      `Timestamp: ${T(END)}`,
      'SeverityText: Info',
      'SeverityNumber: Info(9)',
      'Body: Str(This is a log message)',
      'Attributes:',
      '     -> app: Str(server)',
      '     -> instance_num: Int(1)',
      'Trace ID: 08040201000000000000000000000000',
      'Span ID: 0102040800000000',
      'Flags: 0',
      'LogRecord #1',
      `ObservedTimestamp: ${T(END)}`,
      `Timestamp: ${T(END)}`,
      'SeverityText: ',
      'SeverityNumber: Unspecified(0)',
      'Body: Map({"a":1,"b":[true,"x"]})',
      'Trace ID: ',
      'Span ID: ',
      'Flags: 0',
    ]);
  });

  it('detailed: profiles with samples and frames', async () => {
    const lines = await run('profiles', profiles(), { verbosity: 'detailed' });
    const text = message(lines[1]!).split('\n');
    const i = text.indexOf('Profile #0');
    assert.deepEqual(text.slice(i), [
      'Profile #0',
      `    Profile ID     : ${'ab'.repeat(16)}`,
      `    Start time     : ${T(START)}`,
      '    Duration       : 1000000000ns',
      '    Sample types   : cpu/nanoseconds',
      '    Period         : 10000000 cpu/nanoseconds',
      '    Sample #0',
      '        Values: 20000000',
      '        -> Attributes:',
      '             -> thread.name: Str(worker)',
      '        Frames:',
      '            #0 memcpy [native] module=/usr/lib/libc.so.6 address=0x1234',
      '            #1 main [native]',
    ]);
  });

  it('logs every batch with the default sampling', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', encoding: 'json', write: (l) => lines.push(l) });
    const exporter = debugFactory.create.logs!(testSettings('debug', 'exporter', 'logs', { logger }), debugConfigSchema.parse({}));
    for (let i = 0; i < 5; i++) await exporter.consume(logs());
    assert.equal(lines.length, 5);
  });

  it('samples as zap does: initial per second, then every Nth', () => {
    const lines: string[] = [];
    let now = 10_000;
    const logger = samplingLogger(createLogger({ level: 'info', encoding: 'console', write: (l) => lines.push(l) }), 2, 3, () => now);
    for (let i = 1; i <= 8; i++) logger.info('TracesExporter', { n: i });
    logger.info('other message');
    assert.deepEqual(
      lines.map((l) => l.split('\t').slice(2).join(' ')),
      ['TracesExporter n=1', 'TracesExporter n=2', 'TracesExporter n=5', 'TracesExporter n=8', 'other message'],
    );
    now += 1000; // a new second starts the counts again
    logger.info('TracesExporter', { n: 9 });
    assert.equal(lines.length, 6);
  });
});
