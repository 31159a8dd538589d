// Applies the configured actions to one attribute list, in place.
import { createHash } from 'node:crypto';
import { anyValueToString, type KeyValue, toAnyValue } from '../../src/pdata/common.ts';
import type { AttributeAction } from './config.ts';

export function applyActions(list: KeyValue[], actions: readonly AttributeAction[]): void {
  for (const action of actions) {
    const index = list.findIndex((kv) => kv.key === action.key);
    const present = index >= 0;
    switch (action.action) {
      case 'delete':
        if (present) list.splice(index, 1);
        break;
      case 'hash':
        if (present) {
          const kv = list[index]!;
          kv.value = { stringValue: createHash('sha256').update(anyValueToString(kv.value)).digest('hex') };
        }
        break;
      default: {
        if ((action.action === 'insert' && present) || (action.action === 'update' && !present)) break;
        let value;
        if (action.from_attribute !== undefined) {
          const source = list.find((kv) => kv.key === action.from_attribute);
          if (!source) break;
          value = structuredClone(source.value);
        } else {
          value = toAnyValue(action.value!);
        }
        if (present) list[index]!.value = value;
        else list.push({ key: action.key, value });
      }
    }
  }
}
