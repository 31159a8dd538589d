// The parts every signal shares, shaped like OTLP's common.proto and resource.proto.
// Timestamps are bigint nanoseconds so they stay exact end to end; trace and span ids
// are lowercase hex strings (as in OTLP/JSON); int64 attribute values are bigint.

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: bigint }
  | { doubleValue: number }
  | { bytesValue: Uint8Array }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface InstrumentationScope {
  name: string;
  version?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

/** A plain JavaScript value that converts to an AnyValue. */
export type PlainValue = string | number | bigint | boolean | Uint8Array | PlainValue[] | { [key: string]: PlainValue };

/** Converts a plain value to an AnyValue: integers that are safe become intValue, other numbers doubleValue. */
export function toAnyValue(value: PlainValue): AnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'bigint') return { intValue: value };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { intValue: BigInt(value) } : { doubleValue: value };
  if (value instanceof Uint8Array) return { bytesValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(toAnyValue) } };
  return { kvlistValue: { values: Object.entries(value).map(([key, v]) => ({ key, value: toAnyValue(v) })) } };
}

/** Builds an attribute list from a plain object, skipping undefined values. */
export function attributes(values: Record<string, PlainValue | undefined>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) out.push({ key, value: toAnyValue(value) });
  }
  return out;
}

/** The value of an attribute as a plain value (bigint for ints), or undefined when absent. */
export function getAttribute(list: readonly KeyValue[] | undefined, key: string): PlainValue | undefined {
  const kv = list?.find((a) => a.key === key);
  return kv ? fromAnyValue(kv.value) : undefined;
}

/** Sets (replacing) an attribute in place. */
export function setAttribute(list: KeyValue[], key: string, value: PlainValue): void {
  const existing = list.find((a) => a.key === key);
  if (existing) existing.value = toAnyValue(value);
  else list.push({ key, value: toAnyValue(value) });
}

export function fromAnyValue(value: AnyValue): PlainValue | undefined {
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return value.intValue;
  if ('doubleValue' in value) return value.doubleValue;
  if ('bytesValue' in value) return value.bytesValue;
  if ('arrayValue' in value) return value.arrayValue.values.map((v) => fromAnyValue(v) ?? '');
  if ('kvlistValue' in value) {
    const obj: { [key: string]: PlainValue } = {};
    for (const kv of value.kvlistValue.values) obj[kv.key] = fromAnyValue(kv.value) ?? '';
    return obj;
  }
  return undefined;
}

/** A value rendered as text, for logs, labels and the debug exporter. */
export function anyValueToString(value: AnyValue): string {
  const plain = fromAnyValue(value);
  if (plain === undefined) return '';
  if (typeof plain === 'string') return plain;
  if (typeof plain === 'bigint' || typeof plain === 'number' || typeof plain === 'boolean') return String(plain);
  if (plain instanceof Uint8Array) return Buffer.from(plain).toString('base64');
  return JSON.stringify(plain, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );
}

/** Nanoseconds since the epoch for a Date or millisecond count; exact for process.hrtime-based clocks. */
export function nowUnixNano(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}
