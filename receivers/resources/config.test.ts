import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDefaultConfig } from '../../src/component/component.ts';
import { runBpfcol, tempDir, writeConfig } from '../../test/support/cli.ts';
import { resourcesFactory } from './factory.ts';

describe('resources config', () => {
  it('every key has its documented default', () => {
    const c = createDefaultConfig(resourcesFactory);
    assert.equal(c.collection_interval, 10_000);
    assert.equal(c.root_path, '/');
    assert.equal(c.node.enabled, true);
    assert.equal(c.node.per_cpu, false);
    assert.deepEqual(c.node.exclude_devices, ['^(loop|ram|zram|fd|sr)\\d+$']);
    assert.equal(c.node.filesystem_timeout, 2000);
    assert.equal(c.cgroups.enabled, true);
    assert.deepEqual(c.cgroups.include, []);
    assert.equal(c.cgroups.network, true);
    assert.deepEqual(c.cgroups.exclude_interfaces, ['^lo$']);
    assert.equal(c.cgroups.max_cgroups, 5000);
    assert.equal(c.processes.enabled, false);
    assert.deepEqual(c.processes.include, { names: [], pids: [] });
    assert.equal(c.processes.max_processes, 1000);
    assert.deepEqual(c.block_io, { enabled: false, max_inflight: 16384, max_series: 4096 });
  });

  it('a partly written section keeps the defaults of the rest', () => {
    const c = resourcesFactory.configSchema.parse({ processes: { enabled: true, include: { names: ['nginx'] } }, node: { per_cpu: true } });
    assert.deepEqual(c.processes.include, { names: ['nginx'], pids: [] });
    assert.equal(c.node.enabled, true);
    assert.ok(c.node.exclude_fs_types.length === 1);
  });

  const bad: [string, object, RegExp][] = [
    ['unknown key', { cgroup: {} }, /cgroup/],
    ['interval too short', { collection_interval: '10ms' }, /at least 100ms/],
    ['not a duration', { collection_interval: 'often' }, /duration like 10s/],
    ['relative root_path', { root_path: 'hostfs' }, /absolute/],
    ['bad regex', { node: { exclude_devices: ['(loop'] } }, /regular expression, got "\(loop"/],
    ['relative cgroup pattern', { cgroups: { include: ['system.slice/*'] } }, /starting with \//],
    ['pid not a number', { processes: { include: { pids: ['nginx'] } } }, /process id/],
    ['max_cgroups 0', { cgroups: { max_cgroups: 0 } }, /above 0/],
  ];
  for (const [name, input, message] of bad) {
    it(`refuses ${name}, saying what it expected`, () => {
      const r = resourcesFactory.configSchema.safeParse(input);
      assert.equal(r.success, false);
      assert.match(r.error!.issues.map((i) => i.message).join('; '), message);
    });
  }

  it('bpfcol validate names the path of a bad key', () => {
    const dir = tempDir();
    try {
      const config = writeConfig(dir.path, `
receivers:
  resources:
    cgroups: { include: ["kubepods/*"] }
exporters:
  debug: {}
service:
  pipelines:
    metrics: { receivers: [resources], exporters: [debug] }
`);
      const r = runBpfcol(['validate', '--config', config]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /receivers\.resources\.cgroups\.include\[0\]: expected a cgroup path pattern starting with \//);
    } finally {
      dir.cleanup();
    }
  });
});
