import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import { SinkConsumer, testSettings } from '../../test/support/component-harness.ts';
import { configSchema } from './config.ts';
import { resourceFactory } from './factory.ts';

describe('resource processor', () => {
  it('applies insert, update, upsert, delete, hash and from_attribute to every resource, not to points', async () => {
    const config = configSchema.parse({
      attributes: [
        { key: 'k8s.cluster.name', action: 'insert', value: 'lab' },
        { key: 'host.name', action: 'insert', value: 'ignored' },
        { key: 'missing', action: 'update', value: 'ignored' },
        { key: 'deployment.environment.name', action: 'upsert', value: 'test' },
        { key: 'process.command_line', action: 'delete' },
        { key: 'user', action: 'hash' },
        { key: 'node', action: 'upsert', from_attribute: 'host.name' },
      ],
    });
    const sink = new SinkConsumer<'metrics'>();
    const p = resourceFactory.create.metrics!(testSettings('resource', 'processor', 'metrics'), config, sink);
    assert.equal(p.capabilities?.mutatesData, true);
    const data: MetricsData = {
      resourceMetrics: [1, 2].map((i) => ({
        resource: { attributes: attributes({ 'host.name': `n${i}`, 'process.command_line': 'x --secret', user: 'alice' }) },
        scopeMetrics: [{ metrics: [{ name: 'm', data: { type: 'gauge', dataPoints: [{ attributes: attributes({ user: 'bob' }), timeUnixNano: 1n, asInt: 1n }] } }] }],
      })),
    };
    await p.consume(data);
    for (const [i, rm] of sink.received[0]!.resourceMetrics.entries()) {
      const a = rm.resource.attributes;
      assert.equal(getAttribute(a, 'k8s.cluster.name'), 'lab');
      assert.equal(getAttribute(a, 'host.name'), `n${i + 1}`);
      assert.equal(getAttribute(a, 'missing'), undefined);
      assert.equal(getAttribute(a, 'deployment.environment.name'), 'test');
      assert.equal(getAttribute(a, 'process.command_line'), undefined);
      assert.equal(getAttribute(a, 'user'), '2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90');
      assert.equal(getAttribute(a, 'node'), `n${i + 1}`);
      const point = rm.scopeMetrics[0]!.metrics[0]!.data.dataPoints[0]!;
      assert.equal(getAttribute(point.attributes, 'user'), 'bob', 'point attributes are not touched');
    }
  });

  it('works on logs too', async () => {
    const sink = new SinkConsumer<'logs'>();
    const p = resourceFactory.create.logs!(testSettings('resource', 'processor', 'logs'), configSchema.parse({ attributes: [{ key: 'a', action: 'upsert', value: 1 }] }), sink);
    const data: LogsData = { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [] }] };
    await p.consume(data);
    assert.equal(getAttribute(sink.received[0]!.resourceLogs[0]!.resource.attributes, 'a'), 1n);
  });

  it('needs at least one action, each valid', () => {
    assert.deepEqual(resourceFactory.validate!(configSchema.parse({})), ['attributes: expected at least one action']);
    const r2 = configSchema.safeParse({ attributes: [{ key: 'a', action: 'upsert' }] });
    assert.match(r2.error!.issues[0]!.message, /needs value or from_attribute/);
  });
});
