// Stable text keys for attribute sets, resources and scopes, so equal sets (in any order) name
// the same series. Values carry their type, so the string "1" and the int 1 stay apart.
import { anyValueToString, type AnyValue, type InstrumentationScope, type KeyValue } from '../../src/pdata/common.ts';

function typed(value: AnyValue): string {
  const type = Object.keys(value)[0] ?? 'empty';
  return `${type}:${anyValueToString(value)}`;
}

/** The same text for the same set of attributes, whatever their order. */
export function attributesKey(list: readonly KeyValue[] | undefined): string {
  if (!list || list.length === 0) return '';
  const pairs = list.map((kv) => [kv.key, typed(kv.value)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(pairs);
}

export function scopeKey(scope: InstrumentationScope | undefined): string {
  if (!scope) return '';
  return JSON.stringify([scope.name, scope.version ?? '', attributesKey(scope.attributes)]);
}
