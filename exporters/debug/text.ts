// Rendering helpers shared by the normal and detailed layouts, following the Collector's
// pdata String() forms (value types, enum names, %f numbers).
import type { AnyValue, KeyValue } from '../../src/pdata/common.ts';

/** RFC 3339 with all nine fraction digits, then the raw nanoseconds: `2020-02-11T20:26:12.000000321Z (1581452772000000321)`. */
export function formatTimestamp(ns: bigint | undefined): string {
  const v = ns ?? 0n;
  const seconds = v / 1_000_000_000n;
  let fraction = v % 1_000_000_000n;
  let whole = seconds;
  if (fraction < 0n) {
    fraction += 1_000_000_000n;
    whole -= 1n;
  }
  const iso = new Date(Number(whole) * 1000).toISOString().slice(0, 19);
  return `${iso}.${fraction.toString().padStart(9, '0')}Z (${v})`;
}

/** Go's `%f`: six decimals. */
export function f6(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(6);
}

/** Go's `%v` for a float64, close enough: shortest form, Inf/NaN as Go writes them. */
export function gv(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return String(x);
}

function toRaw(value: AnyValue): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return value.intValue;
  if ('doubleValue' in value) return value.doubleValue;
  if ('bytesValue' in value) return Buffer.from(value.bytesValue).toString('base64');
  if ('arrayValue' in value) return value.arrayValue.values.map(toRaw);
  if ('kvlistValue' in value) return Object.fromEntries(value.kvlistValue.values.map((kv) => [kv.key, toRaw(kv.value)]));
  return null;
}

/** JSON with bigints written as numbers, as Go marshals int64. */
function rawJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(rawJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${rawJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** pcommon Value.AsString: the value as text (maps and lists as JSON, bytes as base64). */
export function asString(value: AnyValue | undefined): string {
  if (!value) return '';
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return String(value.boolValue);
  if ('intValue' in value) return value.intValue.toString();
  if ('doubleValue' in value) return gv(value.doubleValue);
  if ('bytesValue' in value) return Buffer.from(value.bytesValue).toString('base64');
  if ('arrayValue' in value || 'kvlistValue' in value) return rawJson(toRaw(value));
  return '';
}

/** pcommon ValueType.String(). */
export function valueType(value: AnyValue | undefined): string {
  if (!value) return 'Empty';
  if ('stringValue' in value) return 'Str';
  if ('boolValue' in value) return 'Bool';
  if ('intValue' in value) return 'Int';
  if ('doubleValue' in value) return 'Double';
  if ('bytesValue' in value) return 'Bytes';
  if ('arrayValue' in value) return 'Slice';
  if ('kvlistValue' in value) return 'Map';
  return 'Empty';
}

/** The detailed form of a value: `Str(text)`, `Int(5)`, `Map({"a":1})`. */
export function typedValue(value: AnyValue | undefined): string {
  return `${valueType(value)}(${asString(value)})`;
}

/** `key=value` pairs, as the normal layout writes attributes. */
export function keyValues(list: readonly KeyValue[] | undefined): string[] {
  return (list ?? []).map((kv) => `${kv.key}=${asString(kv.value)}`);
}

export const SPAN_KIND = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
export const STATUS_CODE = ['Unset', 'Ok', 'Error'];
export const TEMPORALITY = ['Unspecified', 'Delta', 'Cumulative'];
export const SEVERITY = [
  'Unspecified',
  ...['Trace', 'Debug', 'Info', 'Warn', 'Error', 'Fatal'].flatMap((n) => [n, `${n}2`, `${n}3`, `${n}4`]),
];

export function enumName(names: readonly string[], n: number | undefined): string {
  return names[n ?? 0] ?? String(n);
}
