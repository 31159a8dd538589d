// The OpenTelemetry -> Prometheus name translation, as the Collector's translator
// (pkg/translator/prometheus, normalize_name.go / normalize_label.go) and the specification's
// "Prometheus and OpenMetrics compatibility" page do it. The SDK serializer only replaces
// invalid characters and adds `_total`; units and `_ratio` are added here.
import type { MetricData } from '../../src/pdata/metrics.ts';

/** OTel (UCUM) units to the Prometheus base-unit words appended to names. */
export const UNIT_WORDS: Readonly<Record<string, string>> = {
  // time
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  // bytes
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  // SI
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  // misc
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The unit after `/` (`By/s` -> `bytes_per_second`). */
export const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Splits on everything Prometheus does not allow in a name part (ASCII letters and digits). */
function tokens(text: string): string[] {
  return text.split(/[^a-zA-Z0-9]+/).filter((t) => t !== '');
}

/** The Prometheus word(s) for a unit, joined with `_`, or '' when it adds nothing. */
function unitWord(unit: string, words: Readonly<Record<string, string>>): string {
  const trimmed = unit.trim();
  // Annotations like `{requests}` say what is counted, not a unit: they add nothing.
  if (trimmed === '' || /[{}]/.test(trimmed)) return '';
  return tokens(words[trimmed] ?? trimmed).join('_');
}

/** What the name depends on: a Metric's name and unit, its data type and monotonicity. */
export interface MetricShape {
  name: string;
  unit?: string;
  type: MetricData['type'];
  isMonotonic?: boolean;
}


/**
 * The Prometheus metric family name for an OTel metric: invalid characters become `_` (runs
 * collapsed), the unit is appended unless the name already holds it, `_total` ends counters,
 * `_ratio` ends gauges of unit `1`, the namespace leads, and a leading digit gets `_`.
 */
export function prometheusMetricName(metric: MetricShape, namespace: string): string {
  const { unit, type } = metric;
  let parts = tokens(metric.name);
  const text = unit ?? '';
  const slash = text.indexOf('/');
  const mainWord = unitWord(slash < 0 ? text : text.slice(0, slash), UNIT_WORDS);
  // As the Collector: a unit word already among the name's parts is not added again.
  if (mainWord !== '' && !parts.includes(mainWord)) parts.push(mainWord);
  const perWord = slash < 0 ? '' : unitWord(text.slice(slash + 1), PER_UNIT_WORDS);
  if (perWord !== '' && !parts.includes(perWord)) parts.push('per', perWord);
  if (type === 'sum' && metric.isMonotonic) parts = [...parts.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && type === 'gauge') parts = [...parts.filter((t) => t !== 'ratio'), 'ratio'];
  if (namespace !== '') parts.unshift(namespace);
  let out = parts.join('_');
  if (/^[0-9]/.test(out)) out = '_' + out;
  return out;
}

/**
 * A Prometheus label name for an attribute key, as the Collector's NormalizeLabel: every
 * invalid character becomes `_`, a leading digit gets `key_`, a single leading `_` gets `key`
 * (a leading `__` is kept).
 */
export function prometheusLabelName(key: string): string {
  if (key === '') return key;
  let label = key.replace(/[^a-zA-Z0-9]/g, '_');
  if (/^[0-9]/.test(label)) label = 'key_' + label;
  else if (label.startsWith('_') && !label.startsWith('__')) label = 'key' + label;
  return label;
}

/** A namespace or other name prefix made valid: letters, digits and `_`, runs collapsed. */
export function sanitizeNamespace(text: string): string {
  return tokens(text).join('_');
}
