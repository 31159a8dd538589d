import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyValueToString, attributes, getAttribute, toAnyValue } from './common.ts';

describe('attribute values', () => {
  it('render as text the way labels and logs need them', () => {
    assert.equal(anyValueToString({ intValue: 200n }), '200');
    assert.equal(anyValueToString({ doubleValue: 0.5 }), '0.5');
    assert.equal(anyValueToString({ boolValue: true }), 'true');
    assert.equal(anyValueToString({ stringValue: 'x' }), 'x');
    assert.equal(anyValueToString({ bytesValue: new Uint8Array([1, 2]) }), 'AQI=');
    assert.equal(anyValueToString(toAnyValue(['a', 1n])), '["a","1"]');
    assert.equal(anyValueToString({}), '');
  });
  it('convert from plain values with safe integers as ints', () => {
    const list = attributes({ a: 1, b: 1.5, c: 'x', d: undefined, e: 2n ** 62n });
    assert.deepEqual(list.map((kv) => kv.key), ['a', 'b', 'c', 'e']);
    assert.deepEqual(list[0]!.value, { intValue: 1n });
    assert.deepEqual(list[1]!.value, { doubleValue: 1.5 });
    assert.equal(getAttribute(list, 'e'), 2n ** 62n);
  });
});
