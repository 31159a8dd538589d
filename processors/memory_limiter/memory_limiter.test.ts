import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConsumerError } from '../../src/component/errors.ts';
import { attributes } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { captureLogger, recordingTelemetry, SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { MemoryChecker } from './checker.ts';
import { memoryLimiterConfigSchema, validateMemoryLimiterConfig } from './config.ts';
import { memoryLimiterFactory } from './factory.ts';
import { cgroupMemoryLimit, computeLimits, MIB } from './limits.ts';

const host = { getExtension: () => undefined };

function traces(): TracesData {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': 'x' }) },
        scopeSpans: [
          {
            spans: [1, 2, 3].map((i) => ({
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: i.toString(16).padStart(16, '0'),
              name: `s${i}`,
              kind: 1 as const,
              startTimeUnixNano: 1n,
              endTimeUnixNano: 2n,
              attributes: [],
              events: [],
              links: [],
              status: { code: 0 as const },
            })),
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
        resource: { attributes: [] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: 1n, observedTimeUnixNano: 2n, attributes: [], body: { stringValue: 'hi' } }] }],
      },
    ],
  };
}

const parse = (c: Record<string, unknown>) => memoryLimiterConfigSchema.parse(c);

describe('memory_limiter config', () => {
  it('gives the Collector defaults, which are not a working config', () => {
    const d = parse({});
    assert.deepEqual(d, { check_interval: 0, limit_mib: 0, spike_limit_mib: 0, limit_percentage: 0, spike_limit_percentage: 0 });
    assert.deepEqual(validateMemoryLimiterConfig(d), [
      'check_interval must be greater than zero: expected a duration like 1s',
      'limit_mib or limit_percentage must be greater than zero',
    ]);
  });

  it('requires check_interval', () => {
    assert.deepEqual(validateMemoryLimiterConfig(parse({ limit_mib: 100 })), [
      'check_interval must be greater than zero: expected a duration like 1s',
    ]);
    assert.deepEqual(validateMemoryLimiterConfig(parse({ check_interval: '0s', limit_mib: 100 })), [
      'check_interval must be greater than zero: expected a duration like 1s',
    ]);
  });

  it('requires the spike limit below the limit', () => {
    assert.deepEqual(validateMemoryLimiterConfig(parse({ check_interval: '1s', limit_mib: 100, spike_limit_mib: 100 })), [
      'spike_limit_mib (100) must be smaller than limit_mib (100)',
    ]);
    assert.deepEqual(
      validateMemoryLimiterConfig(parse({ check_interval: '1s', limit_percentage: 50, spike_limit_percentage: 60 })),
      ['spike_limit_percentage (60) must be smaller than limit_percentage (50)'],
    );
    assert.deepEqual(validateMemoryLimiterConfig(parse({ check_interval: '1s', limit_mib: 100, spike_limit_mib: 99 })), []);
  });

  it('rejects bad values in the schema', () => {
    const bad = memoryLimiterConfigSchema.safeParse({ check_interval: 'often', limit_percentage: 150, limit_mib: -1, ballast_size_mib: 1 });
    assert.equal(bad.success, false);
    const byPath = new Map(bad.error!.issues.map((i) => [i.path.join('.'), i.message]));
    assert.match(byPath.get('check_interval')!, /expected a duration like 10s/);
    assert.match(byPath.get('limit_percentage')!, /expected a whole percentage from 0 to 100/);
    assert.match(byPath.get('limit_mib')!, /expected 0 or more/);
    assert.ok(bad.error!.issues.some((i) => i.code === 'unrecognized_keys'));
  });

  it('the factory refuses to create from an invalid config', () => {
    assert.throws(
      () => memoryLimiterFactory.create.traces!(testSettings('memory_limiter', 'processor', 'traces'), parse({ limit_mib: 10 }), new SinkConsumer()),
      /memory_limiter: check_interval must be greater than zero/,
    );
  });
});

describe('memory_limiter limits', () => {
  it('soft limit is limit minus spike, spike 20% by default', () => {
    assert.deepEqual(computeLimits(parse({ check_interval: '1s', limit_mib: 4000, spike_limit_mib: 800 })), {
      hardBytes: 4000 * MIB,
      spikeBytes: 800 * MIB,
      softBytes: 3200 * MIB,
    });
    assert.deepEqual(computeLimits(parse({ check_interval: '1s', limit_mib: 1000 })), {
      hardBytes: 1000 * MIB,
      spikeBytes: 200 * MIB,
      softBytes: 800 * MIB,
    });
  });

  it('percentages are of total memory', () => {
    const total = () => 1000 * MIB;
    assert.deepEqual(computeLimits(parse({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 15 }), total), {
      hardBytes: 800 * MIB,
      spikeBytes: 150 * MIB,
      softBytes: 650 * MIB,
    });
  });

  it('reads the lowest cgroup v2 memory.max up the hierarchy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfcol-cgroup-'));
    try {
      mkdirSync(join(dir, 'pods', 'pod1'), { recursive: true });
      writeFileSync(join(dir, 'pods', 'memory.max'), String(512 * MIB) + '\n');
      writeFileSync(join(dir, 'pods', 'pod1', 'memory.max'), 'max\n');
      writeFileSync(join(dir, 'proc-cgroup'), '0::/pods/pod1\n');
      assert.equal(cgroupMemoryLimit(dir, join(dir, 'proc-cgroup')), 512 * MIB);
      writeFileSync(join(dir, 'memory.max'), String(256 * MIB));
      assert.equal(cgroupMemoryLimit(dir, join(dir, 'proc-cgroup')), 256 * MIB);
      rmSync(join(dir, 'memory.max'));
      writeFileSync(join(dir, 'pods', 'memory.max'), 'max\n');
      assert.equal(cgroupMemoryLimit(dir, join(dir, 'proc-cgroup')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('memory_limiter processor', () => {
  it('refuses data with a retryable ConsumerError when the limit is tiny', async () => {
    const telemetry = recordingTelemetry();
    const { logger, lines } = captureLogger();
    const sink = new SinkConsumer<'traces'>();
    const p = memoryLimiterFactory.create.traces!(
      testSettings('memory_limiter/tiny', 'processor', 'traces', { telemetry, logger }),
      parse({ check_interval: '1s', limit_mib: 2, spike_limit_mib: 1 }),
      sink,
    );
    await p.start(host);
    try {
      await assert.rejects(p.consume(traces()), (e: unknown) => {
        assert.ok(e instanceof ConsumerError);
        assert.equal(e.retryable, true);
        assert.equal(e.message, 'data refused due to high memory usage');
        return true;
      });
      assert.equal(sink.received.length, 0);
      assert.equal(telemetry.counters.get('processor_refused_spans'), 3);
      assert.ok(lines.some((l) => l.includes('Memory usage is above soft limit. Refusing data.')), lines.join('\n'));
      assert.ok(lines.some((l) => l.includes('Memory usage is above hard limit')), lines.join('\n'));
    } finally {
      await p.shutdown();
      await p.shutdown(); // safe twice
    }
  });

  it('passes data through untouched under a large limit, for every signal', async () => {
    const traceSink = new SinkConsumer<'traces'>();
    const logSink = new SinkConsumer<'logs'>();
    const cfg = parse({ check_interval: '10ms', limit_mib: 1024 * 1024 });
    const tp = memoryLimiterFactory.create.traces!(testSettings('memory_limiter/big', 'processor', 'traces'), cfg, traceSink);
    const lp = memoryLimiterFactory.create.logs!(testSettings('memory_limiter/big', 'processor', 'logs'), cfg, logSink);
    assert.equal(tp.capabilities?.mutatesData, false);
    await tp.start(host);
    await lp.start(host);
    try {
      const t = traces();
      const l = logs();
      await tp.consume(t);
      await lp.consume(l);
      assert.equal(traceSink.received[0], t, 'the same object, not a copy');
      assert.deepEqual(traceSink.received[0], traces());
      assert.equal(logSink.received[0], l);
    } finally {
      await tp.shutdown();
      await lp.shutdown();
    }
  });

  it('resumes once usage falls below the soft limit', () => {
    let used = 900 * MIB;
    const { logger, lines } = captureLogger();
    const checker = new MemoryChecker(computeLimits(parse({ check_interval: '1s', limit_mib: 1000 })), 1000, logger, () => used);
    checker.check();
    assert.equal(checker.refusing, true, '900 MiB is above the 800 MiB soft limit');
    used = 850 * MIB;
    checker.check();
    assert.equal(checker.refusing, true);
    used = 700 * MIB;
    checker.check();
    assert.equal(checker.refusing, false);
    assert.ok(lines.some((l) => l.includes('Memory usage back within limits. Resuming normal operation.')));
    used = 1200 * MIB;
    checker.check();
    assert.equal(checker.refusing, true);
    assert.ok(lines.some((l) => l.includes('Memory usage is above hard limit')));
  });
});
