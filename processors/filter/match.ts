// Compiled match properties: every property given must match (AND); within one list, any entry
// may match (OR); attribute lists need every entry (AND), as in the Collector's filterset.
import { anyValueToString, type InstrumentationScope, type KeyValue } from '../../src/pdata/common.ts';
import type { LogRecord } from '../../src/pdata/logs.ts';
import type { Span } from '../../src/pdata/traces.ts';
import type { KeyValueMatch, LogProperties, MetricProperties, SpanProperties } from './config.ts';

type Text = (value: string) => boolean;

/** A matcher for one list of strings (strict: equal to one; regexp: one matches somewhere). */
function anyOf(list: readonly string[], regexp: boolean): Text {
  if (regexp) {
    const res = list.map((p) => new RegExp(p));
    return (v) => res.some((r) => r.test(v));
  }
  const set = new Set(list);
  return (v) => set.has(v);
}

function attributeMatcher(list: readonly KeyValueMatch[], regexp: boolean): (attrs: readonly KeyValue[] | undefined) => boolean {
  const checks = list.map((kv) => {
    const value = kv.value === undefined ? undefined : regexp && typeof kv.value === 'string' ? anyOf([kv.value], true) : (t: string) => t === String(kv.value);
    return { key: kv.key, value };
  });
  return (attrs) =>
    checks.every((c) => {
      const found = attrs?.find((a) => a.key === c.key);
      return found !== undefined && (c.value === undefined || c.value(anyValueToString(found.value)));
    });
}

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

export interface SpanContext {
  span: Span;
  resource: readonly KeyValue[];
  scope: InstrumentationScope | undefined;
}

export function spanMatcher(p: SpanProperties): (c: SpanContext) => boolean {
  const re = p.match_type === 'regexp';
  const tests: ((c: SpanContext) => boolean)[] = [];
  if (p.services) {
    const m = anyOf(p.services, re);
    tests.push((c) => m(anyValueToString(c.resource.find((a) => a.key === 'service.name')?.value ?? {})));
  }
  if (p.span_names) {
    const m = anyOf(p.span_names, re);
    tests.push((c) => m(c.span.name));
  }
  if (p.span_kinds) {
    const m = anyOf(p.span_kinds.map((k) => k.toUpperCase().replace(/^SPAN_KIND_/, '')), re);
    tests.push((c) => m(SPAN_KINDS[c.span.kind] ?? 'UNSPECIFIED'));
  }
  if (p.attributes) {
    const m = attributeMatcher(p.attributes, re);
    tests.push((c) => m(c.span.attributes));
  }
  if (p.resources) {
    const m = attributeMatcher(p.resources, re);
    tests.push((c) => m(c.resource));
  }
  if (p.libraries) {
    const libs = p.libraries.map((l) => ({ name: anyOf([l.name], re), version: l.version === undefined ? undefined : anyOf([l.version], re) }));
    tests.push((c) => libs.some((l) => l.name(c.scope?.name ?? '') && (l.version === undefined || l.version(c.scope?.version ?? ''))));
  }
  return (c) => tests.every((t) => t(c));
}

export interface PointContext {
  metricName: string;
  resource: readonly KeyValue[];
  attributes: readonly KeyValue[];
}

export function pointMatcher(p: MetricProperties): (c: PointContext) => boolean {
  const re = p.match_type === 'regexp';
  const tests: ((c: PointContext) => boolean)[] = [];
  if (p.metric_names) {
    const m = anyOf(p.metric_names, re);
    tests.push((c) => m(c.metricName));
  }
  if (p.resource_attributes) {
    const m = attributeMatcher(p.resource_attributes, re);
    tests.push((c) => m(c.resource));
  }
  if (p.attributes) {
    const m = attributeMatcher(p.attributes, re);
    tests.push((c) => m(c.attributes));
  }
  return (c) => tests.every((t) => t(c));
}

const SEVERITY_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** A severity name (INFO, INFO2, warn...) or number as its OTLP number (INFO = 9). */
export function severityNumber(value: number | string): number | undefined {
  if (typeof value === 'number') return value;
  const m = /^([A-Z]+)([1-4])?$/.exec(value.toUpperCase());
  const base = m ? SEVERITY_NAMES.indexOf(m[1]!) : -1;
  return base < 0 ? undefined : base * 4 + Number(m![2] ?? 1);
}

export interface LogContext {
  record: LogRecord;
  resource: readonly KeyValue[];
}

export function logMatcher(p: LogProperties): (c: LogContext) => boolean {
  const re = p.match_type === 'regexp';
  const tests: ((c: LogContext) => boolean)[] = [];
  if (p.resource_attributes) {
    const m = attributeMatcher(p.resource_attributes, re);
    tests.push((c) => m(c.resource));
  }
  if (p.record_attributes) {
    const m = attributeMatcher(p.record_attributes, re);
    tests.push((c) => m(c.record.attributes));
  }
  if (p.severity_texts) {
    const m = anyOf(p.severity_texts, re);
    tests.push((c) => m(c.record.severityText ?? ''));
  }
  if (p.severity_number) {
    const min = severityNumber(p.severity_number.min) ?? 1;
    const undef = p.severity_number.match_undefined;
    tests.push((c) => (c.record.severityNumber ? c.record.severityNumber >= min : undef));
  }
  if (p.bodies) {
    const m = anyOf(p.bodies, re);
    tests.push((c) => m(c.record.body ? anyValueToString(c.record.body) : ''));
  }
  return (c) => tests.every((t) => t(c));
}
