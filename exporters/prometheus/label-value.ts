// Attribute values as Prometheus label values, as the Collector's pcommon Value.AsString() writes them.
import type { AnyValue } from '../../src/pdata/common.ts';

/** An attribute value as JSON, ints as numbers (as the Collector's Value.AsString writes arrays and maps). */
function jsonOf(value: AnyValue): string {
  if ('stringValue' in value) return JSON.stringify(value.stringValue);
  if ('boolValue' in value) return String(value.boolValue);
  if ('intValue' in value) return value.intValue.toString();
  if ('doubleValue' in value) return Number.isFinite(value.doubleValue) ? String(value.doubleValue) : JSON.stringify(String(value.doubleValue));
  if ('bytesValue' in value) return JSON.stringify(Buffer.from(value.bytesValue).toString('base64'));
  if ('arrayValue' in value) return `[${value.arrayValue.values.map(jsonOf).join(',')}]`;
  if ('kvlistValue' in value) return `{${value.kvlistValue.values.map((kv) => `${JSON.stringify(kv.key)}:${jsonOf(kv.value)}`).join(',')}}`;
  return 'null';
}

/** An attribute value as label text: strings as they are, numbers and booleans printed, arrays and maps as JSON. */
export function labelValue(value: AnyValue): string {
  if ('stringValue' in value) return value.stringValue;
  if ('bytesValue' in value) return Buffer.from(value.bytesValue).toString('base64');
  if ('arrayValue' in value || 'kvlistValue' in value) return jsonOf(value);
  if ('doubleValue' in value) return String(value.doubleValue);
  if ('intValue' in value || 'boolValue' in value) return jsonOf(value);
  return '';
}
