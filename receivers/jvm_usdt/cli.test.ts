// jvm_usdt through the bpfcol command, as a user runs it: a JVM started after bpfcol, its metrics
// in a file exporter (OTLP JSON lines) and on the Prometheus endpoint, its GC records in a logs
// file. Real JVM, real kernel programs. Needs root: fails without it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getAttribute } from '../../src/pdata/common.ts';
import type { HistogramDataPoint, NumberDataPoint } from '../../src/pdata/metrics.ts';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../../test/support/cli.ts';
import { readLogs, readMetrics } from '../../test/support/otlp-files.ts';
import { freePort } from '../../test/support/ports.ts';
import { checkRequirements } from '../../src/bpf/probe.ts';
import { type CompiledPrograms, Workload, compilePrograms, debianJdk, until } from './testing.ts';

function pointsOf(path: string, name: string, pid: number): (HistogramDataPoint | NumberDataPoint)[] {
  const out: (HistogramDataPoint | NumberDataPoint)[] = [];
  for (const m of readMetrics(path)) {
    if (m.metric.name !== name || getAttribute(m.resource.attributes, 'process.pid') !== BigInt(pid)) continue;
    if (m.metric.data.type === 'histogram' || m.metric.data.type === 'sum') out.push(...m.metric.data.dataPoints);
  }
  return out;
}

describe('jvm_usdt through the bpfcol command', () => {
  let programs: CompiledPrograms;
  let bpfcol: RunningBpfcol | undefined;
  let jvm: Workload | undefined;
  const dir = tempDir('bpfcol-jvm-usdt-');

  before(() => {
    const missing = checkRequirements({ uprobes: true, ringBuffer: true, tracepoints: ['sched/sched_process_exec'] });
    if (missing.length) throw new Error(`needs root and: ${missing.join('; ')}`);
    programs = compilePrograms();
  });
  after(async () => {
    jvm?.kill();
    await bpfcol?.stop();
    programs?.cleanup();
    dir.cleanup();
  });

  it('a JVM started after bpfcol reaches the file exporter, the Prometheus endpoint and the logs file', async () => {
    const promPort = await freePort();
    const telemetryPort = await freePort();
    const metricsFile = join(dir.path, 'metrics.jsonl');
    const logsFile = join(dir.path, 'logs.jsonl');
    const config = writeConfig(
      dir.path,
      `
receivers:
  jvm_usdt:
    collection_interval: 500ms
    filters: { main_classes: [Workload] }
    logs: { enabled: true }
exporters:
  file/metrics: { path: "${metricsFile}" }
  file/logs: { path: "${logsFile}" }
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    metrics: { receivers: [jvm_usdt], exporters: [file/metrics, prometheus] }
    logs: { receivers: [jvm_usdt], exporters: [file/logs] }
`,
    );
    bpfcol = await startBpfcol(config);
    await bpfcol.waitForOutput(/jvm_usdt started/);
    jvm = await Workload.start({ jdk: debianJdk(), programs, jvmArgs: ['-Xmx128m'] });
    const pid = jvm.pid;
    await bpfcol.waitForOutput(new RegExp(`JVM found.*pid=${pid} .*via=exec.*probes=attached`));
    await jvm.command('alloc 100');
    const state = await jvm.command('gc');
    const oldGcs = state.gcs.find((g) => g.name === 'G1 Old Generation')!.count;

    const gc = await until('the full GC in the metrics file', () => {
      const p = pointsOf(metricsFile, 'jvm.gc.duration', pid).filter((x) => getAttribute(x.attributes, 'jvm.gc.name') === 'G1 Old Generation') as HistogramDataPoint[];
      return p.at(-1)?.count === oldGcs ? p.at(-1) : undefined;
    });
    assert.equal(getAttribute(gc.attributes, 'jvm.gc.action'), 'end of major GC');
    assert.ok(gc.startTimeUnixNano! < gc.timeUnixNano);
    const rm = readMetrics(metricsFile).find((m) => getAttribute(m.resource.attributes, 'process.pid') === BigInt(pid))!;
    assert.equal(getAttribute(rm.resource.attributes, 'jvm.main_class'), 'Workload');
    assert.equal(getAttribute(rm.resource.attributes, 'service.name'), 'Workload');
    const oldUsed = pointsOf(metricsFile, 'jvm.memory.used_after_last_gc', pid).filter((x) => getAttribute(x.attributes, 'jvm.memory.pool.name') === 'G1 Old Gen');
    assert.ok(oldUsed.length > 0);

    const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const instance = escaped(String(getAttribute(rm.resource.attributes, 'service.instance.id')));
    const scraped = await until('the JVM on the Prometheus endpoint', async () => {
      const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
      return new RegExp(`^jvm_gc_duration_seconds_count\\{(?=[^}]*instance="${instance}")(?=[^}]*jvm_gc_name="G1 Old Generation")[^}]*\\} ${oldGcs}$`, 'm').test(text) ? text : undefined;
    });
    assert.match(scraped, /^# TYPE jvm_gc_duration_seconds histogram$/m);
    assert.match(scraped, new RegExp(`^jvm_gc_duration_seconds_bucket\\{(?=[^}]*instance="${instance}")(?=[^}]*jvm_gc_name="G1 Old Generation")(?=[^}]*le="0.1")[^}]*\\} \\d+$`, 'm'));
    assert.match(scraped, new RegExp(`^jvm_memory_used_bytes\\{(?=[^}]*instance="${instance}")(?=[^}]*jvm_memory_pool_name="G1 Old Gen")(?=[^}]*jvm_memory_type="heap")[^}]*\\} \\d+$`, 'm'));
    assert.match(scraped, new RegExp(`^jvm_thread_count\\{(?=[^}]*instance="${instance}")(?=[^}]*jvm_thread_daemon="true")[^}]*\\} ${state.threads.daemon}$`, 'm'));
    assert.match(scraped, /^# TYPE jvm_class_loaded_total counter$/m);
    assert.match(scraped, new RegExp(`^target_info\\{(?=[^}]*instance="${instance}")(?=[^}]*jvm_main_class="Workload")[^}]*\\} 1$`, 'm'));

    const records = await until('the System.gc() record in the logs file', () => {
      const l = readLogs(logsFile).filter((x) => getAttribute(x.resource.attributes, 'process.pid') === BigInt(pid) && getAttribute(x.log.attributes, 'jvm.gc.cause') === 'System.gc()');
      return l.length ? l : undefined;
    });
    const rec = records.at(-1)!.log;
    assert.equal(getAttribute(rec.attributes, 'jvm.gc.name'), 'G1 Old Generation');
    assert.ok(Number(getAttribute(rec.attributes, 'jvm.gc.memory.freed')) > 0);

    await jvm.stop();
    await bpfcol.waitForOutput(new RegExp(`JVM gone: detached.*pid=${pid} `));
    assert.equal(await bpfcol.stop(), 0);
    bpfcol = undefined;
  });
});
