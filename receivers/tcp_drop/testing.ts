// What the tcp_drop tests share: a receiver made through the factory with consumers that keep
// what they get, and readers of its cumulative metrics.
import { type PlainValue, getAttribute } from '../../src/pdata/common.ts';
import type { LogRecord } from '../../src/pdata/logs.ts';
import type { HistogramDataPoint, MetricsData, NumberDataPoint } from '../../src/pdata/metrics.ts';
import { type RecordingTelemetry, SinkConsumer, recordingTelemetry, testSettings } from '../../test/support/component-harness.ts';
import { tcpDropConfigSchema } from './config.ts';
import { TcpDropReceiver } from './receiver.ts';

let instances = 0;

export interface RunningReceiver {
  receiver: TcpDropReceiver;
  metrics: SinkConsumer<'metrics'>;
  logs: SinkConsumer<'logs'>;
  telemetry: RecordingTelemetry;
  /** Batches received so far (each holds every live series: cumulative). */
  batches(): number;
  stop(): Promise<void>;
}

/** Starts a tcp_drop receiver with `config` (YAML-shaped, defaults filled by the schema). */
export async function startReceiver(config: Record<string, unknown>, options: { logs?: boolean } = {}): Promise<RunningReceiver> {
  const parsed = tcpDropConfigSchema.parse(config);
  const telemetry = recordingTelemetry();
  const id = `tcp_drop/t${++instances}`;
  const metrics = new SinkConsumer<'metrics'>();
  const logs = new SinkConsumer<'logs'>();
  // Made directly (the factory only wires consumers; the CLI tests go through it) to reach its programs.
  const receiver = new TcpDropReceiver(testSettings(id, 'receiver', 'metrics', { telemetry }), parsed);
  receiver.metricsConsumer = metrics;
  if (options.logs) receiver.logsConsumer = logs;
  await receiver.start();
  return { receiver, metrics, logs, telemetry, batches: () => metrics.received.length, stop: () => receiver.shutdown() };
}

export type AttributeMatch = Record<string, PlainValue | undefined>;

function matches(attributes: NumberDataPoint['attributes'], want: AttributeMatch): boolean {
  for (const [key, value] of Object.entries(want)) {
    const got = getAttribute(attributes, key);
    if (value === undefined ? got !== undefined : typeof value === 'number' ? got !== BigInt(value) : got !== value) return false;
  }
  return true;
}

function metricOf(data: MetricsData | undefined, name: string) {
  return data?.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.name === name);
}

/** Points of a sum in one batch whose attributes match (undefined value: the attribute is absent). */
export function sumPoints(data: MetricsData | undefined, name: string, want: AttributeMatch = {}): NumberDataPoint[] {
  const m = metricOf(data, name);
  if (!m || m.data.type !== 'sum') return [];
  return m.data.dataPoints.filter((p) => matches(p.attributes, want));
}

export function histogramPoints(data: MetricsData | undefined, name: string, want: AttributeMatch = {}): HistogramDataPoint[] {
  const m = metricOf(data, name);
  if (!m || m.data.type !== 'histogram') return [];
  return m.data.dataPoints.filter((p) => matches(p.attributes, want));
}

/** Total of a sum's matching points in the latest batch. */
export function latestSum(r: RunningReceiver, name: string, want: AttributeMatch = {}): bigint {
  return sumPoints(r.metrics.received.at(-1), name, want).reduce((s, p) => s + (p.asInt ?? 0n), 0n);
}

/** Resolves once batch number `count` arrived; rejects at `deadline` (ms since the epoch). */
export async function waitForBatch(r: RunningReceiver, count: number, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no metrics batch #${count} before the deadline (got ${r.batches()})`)), Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([r.metrics.waitFor(count), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until every expectation holds in one batch, then for one more batch and checks they still
 * hold (a running total that went on growing would be counting something twice).
 */
export async function expectTotals(
  r: RunningReceiver,
  expectations: { name: string; want?: AttributeMatch; total: bigint | number }[],
  timeoutMs = 30_000,
): Promise<void> {
  const check = () =>
    expectations.map((e) => ({ ...e, got: latestSum(r, e.name, e.want), total: BigInt(e.total) })).filter((e) => e.got !== e.total);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wrong = check();
    if (wrong.length === 0) break;
    if (Date.now() > deadline) {
      const names = [...new Set(wrong.map((w) => w.name))];
      throw new Error(
        `totals not reached after ${timeoutMs} ms:\n${wrong.map((w) => `  ${w.name} ${JSON.stringify(w.want ?? {})}: got ${w.got}, want ${w.total}`).join('\n')}` +
          `\nseries of those metrics in the latest batch:\n${names.map((n) => describePoints(r, n)).join('\n')}`,
      );
    }
    await waitForBatch(r, r.batches() + 1, deadline).catch(() => undefined);
  }
  await waitForBatch(r, r.batches() + 1, Date.now() + timeoutMs);
  const after = check();
  if (after.length) {
    throw new Error(`totals moved past what was expected:\n${after.map((w) => `  ${w.name} ${JSON.stringify(w.want ?? {})}: got ${w.got}, want ${w.total}`).join('\n')}`);
  }
}

function describePoints(r: RunningReceiver, name: string): string {
  return sumPoints(r.metrics.received.at(-1), name)
    .map((p) => `  ${name} ${p.attributes.map((a) => `${a.key}=${String(Object.values(a.value)[0])}`).join(' ')}: ${p.asInt}`)
    .join('\n');
}

/** Every log record received so far. */
export function logRecords(r: RunningReceiver): LogRecord[] {
  return r.logs.received.flatMap((d) => d.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)));
}
