// The perf_sampling, pprof and flamegraph configs: documented defaults, clear errors, the read
// schedule. Plain unit tests (no root needed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flamegraphConfigSchema } from '../../exporters/flamegraph/config.ts';
import { pprofConfigSchema } from '../../exporters/pprof/config.ts';
import { perfSamplingConfigSchema, readSchedule } from './config.ts';
import { perfSamplingFactory } from './factory.ts';

function errors(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('perf_sampling config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(perfSamplingConfigSchema.parse({}), {
      frequency: 99,
      window: 30_000,
      read_interval: 5_000,
      group_by: 'process',
      include_idle: false,
      kernel_stacks: true,
      user_stacks: true,
      process_frames: true,
      thread_frames: false,
      filters: { pids: [] },
      kernel_map_entries: 16384,
      stack_map_entries: 16384,
      symbolizer: { max_cached_files: 512, max_cached_processes: 4096, perf_maps: true, jvm_perf_maps: false, jvm_perf_map_interval: 60_000 },
      metrics: { max_series: 2000, series_expiration: 300_000 },
    });
  });

  it('says what was expected', () => {
    assert.deepEqual(errors(perfSamplingConfigSchema, { frequency: 0 }), ['frequency: expected at least 1 sample per second']);
    assert.deepEqual(errors(perfSamplingConfigSchema, { frequency: 99.5 }), ['frequency: expected a whole number of samples per second']);
    assert.deepEqual(errors(perfSamplingConfigSchema, { window: 'soon' }), ['window: expected a duration like 10s, got "soon"']);
    assert.deepEqual(errors(perfSamplingConfigSchema, { group_by: 'pod' }), ['group_by: expected process or container']);
    assert.deepEqual(errors(perfSamplingConfigSchema, { filters: { pids: Array.from({ length: 17 }, (_, i) => i + 1) } }), [
      "filters.pids: at most 16 pids (the kernel filter's size)",
    ]);
    assert.deepEqual(errors(perfSamplingConfigSchema, { sampling: true }), [': Unrecognized key: "sampling"']);
  });

  it('splits a window evenly into reads no longer than read_interval', () => {
    assert.deepEqual(readSchedule({ window: 30_000, read_interval: 5_000 }), { readsPerWindow: 6, everyMs: 5_000 });
    assert.deepEqual(readSchedule({ window: 30_000, read_interval: 7_000 }), { readsPerWindow: 5, everyMs: 6_000 });
    assert.deepEqual(readSchedule({ window: 2_000, read_interval: 5_000 }), { readsPerWindow: 1, everyMs: 2_000 });
  });

  it('serves profiles and metrics and lists the tracepoints it needs', () => {
    assert.deepEqual(Object.keys(perfSamplingFactory.create).sort(), ['metrics', 'profiles']);
    assert.deepEqual(perfSamplingFactory.kernelTracepoints?.(perfSamplingConfigSchema.parse({})), ['sched/sched_process_exec', 'sched/sched_process_exit']);
  });
});

describe('pprof and flamegraph configs', () => {
  it('have the documented defaults and say what was expected', () => {
    assert.deepEqual(pprofConfigSchema.parse({}), { directory: './bpfcol-data/pprof', file_per_process: true, max_files: 1000, endpoint: '127.0.0.1:6060' });
    assert.equal(pprofConfigSchema.parse({ endpoint: '' }).endpoint, '');
    assert.deepEqual(errors(pprofConfigSchema, { endpoint: 'localhost' }), ['endpoint: expected host:port, got "localhost"']);
    assert.deepEqual(flamegraphConfigSchema.parse({}), {
      directory: './bpfcol-data/flamegraphs',
      file_per_process: false,
      max_files: 120,
      title: 'CPU flame graph',
      width: 1200,
      min_width: 0.5,
    });
    assert.deepEqual(errors(flamegraphConfigSchema, { width: 50 }), ['width: expected at least 200 pixels']);
  });
});
