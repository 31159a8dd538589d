import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributes, getAttribute } from '../../src/pdata/common.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { applyActions } from './actions.ts';
import { configSchema } from './config.ts';
import { attributesFactory } from './factory.ts';

describe('attributes actions', () => {
  it('insert, update, upsert, delete, hash and from_attribute', () => {
    const list = attributes({ keep: 'a', user: 'alice', secret: 'x', count: 3 });
    applyActions(list, [
      { key: 'keep', action: 'insert', value: 'ignored' },
      { key: 'new', action: 'insert', value: 'n' },
      { key: 'missing', action: 'update', value: 'ignored' },
      { key: 'count', action: 'update', value: 4 },
      { key: 'env', action: 'upsert', value: 'prod' },
      { key: 'secret', action: 'delete' },
      { key: 'copy', action: 'upsert', from_attribute: 'keep' },
      { key: 'user', action: 'hash' },
    ]);
    assert.equal(getAttribute(list, 'keep'), 'a');
    assert.equal(getAttribute(list, 'new'), 'n');
    assert.equal(getAttribute(list, 'missing'), undefined);
    assert.equal(getAttribute(list, 'count'), 4n);
    assert.equal(getAttribute(list, 'env'), 'prod');
    assert.equal(getAttribute(list, 'secret'), undefined);
    assert.equal(getAttribute(list, 'copy'), 'a');
    assert.equal(getAttribute(list, 'user'), '2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90');
  });

  it('rejects an action that sets nothing', () => {
    const r = configSchema.safeParse({ actions: [{ key: 'a', action: 'upsert' }] });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /needs value or from_attribute/);
  });

  it('changes spans in place and passes them on', async () => {
    const got: TracesData[] = [];
    const config = configSchema.parse({ actions: [{ key: 'env', action: 'upsert', value: 'test' }] });
    const p = attributesFactory.create.traces!({} as never, config, { consume: async (d) => void got.push(d) });
    assert.equal(p.capabilities?.mutatesData, true);
    const data: TracesData = {
      resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [{ traceId: '0'.repeat(32), spanId: '1'.repeat(16), name: 's', kind: 1, startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: [], events: [], links: [], status: { code: 0 } }] }] }],
    };
    await p.consume(data);
    assert.equal(getAttribute(got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes, 'env'), 'test');
  });
});
