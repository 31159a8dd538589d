// verbosity: detailed — every field of every item, in the layout of the Collector's otlptext
// marshalers. Timestamps are RFC 3339 with nanoseconds followed by the raw nanoseconds.
import type { InstrumentationScope, KeyValue, Resource } from '../../src/pdata/common.ts';
import type { LogsData } from '../../src/pdata/logs.ts';
import type { Exemplar, Metric, MetricsData } from '../../src/pdata/metrics.ts';
import type { ProfilesData } from '../../src/pdata/profiles.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import type { SpanEvent, SpanLink, TracesData } from '../../src/pdata/traces.ts';
import {
  enumName,
  f6,
  formatTimestamp,
  SEVERITY,
  SPAN_KIND,
  STATUS_CODE,
  TEMPORALITY,
  typedValue,
} from './text.ts';

class Text {
  readonly lines: string[] = [];

  entry(line: string): void {
    this.lines.push(line);
  }

  /** `    Name           : value` (Go's `%-15s`). */
  field(name: string, value: string | number | bigint): void {
    this.entry(`    ${name.padEnd(15)}: ${value}`);
  }

  attributes(header: string, list: readonly KeyValue[] | undefined): void {
    if (!list || list.length === 0) return;
    this.entry(`${header}:`);
    // A nested header ("     -> Attributes:") indents its attributes one level further.
    const parts = header.split('->');
    const prefix = (parts.length > 1 ? parts[0] : '') + '     ->';
    for (const kv of list) this.entry(`${prefix} ${kv.key}: ${typedValue(kv.value)}`);
  }

  resource(label: string, index: number, resource: Resource, schemaUrl: string | undefined): void {
    this.entry(`${label} #${index}`);
    this.entry(`Resource SchemaURL: ${schemaUrl ?? ''}`);
    this.attributes('Resource attributes', resource.attributes);
  }

  scope(label: string, index: number, scope: InstrumentationScope | undefined, schemaUrl: string | undefined): void {
    this.entry(`${label} #${index}`);
    this.entry(`${label} SchemaURL: ${schemaUrl ?? ''}`);
    this.entry(`InstrumentationScope ${scope?.name ?? ''} ${scope?.version ?? ''}`);
    this.attributes('InstrumentationScope attributes', scope?.attributes);
  }

  events(events: readonly SpanEvent[]): void {
    if (events.length === 0) return;
    this.entry('Events:');
    events.forEach((e, i) => {
      this.entry(`SpanEvent #${i}`);
      this.entry(`     -> Name: ${e.name}`);
      this.entry(`     -> Timestamp: ${formatTimestamp(e.timeUnixNano)}`);
      this.entry(`     -> DroppedAttributesCount: ${e.droppedAttributesCount ?? 0}`);
      this.attributes('     -> Attributes:', e.attributes);
    });
  }

  links(links: readonly SpanLink[]): void {
    if (links.length === 0) return;
    this.entry('Links:');
    links.forEach((l, i) => {
      this.entry(`SpanLink #${i}`);
      this.entry(`     -> Trace ID: ${l.traceId}`);
      this.entry(`     -> ID: ${l.spanId}`);
      this.entry(`     -> TraceState: ${l.traceState ?? ''}`);
      this.entry(`     -> DroppedAttributesCount: ${l.droppedAttributesCount ?? 0}`);
      this.attributes('     -> Attributes:', l.attributes);
    });
  }

  exemplars(exemplars: readonly Exemplar[] | undefined): void {
    if (!exemplars || exemplars.length === 0) return;
    this.entry('Exemplars:');
    exemplars.forEach((e, i) => {
      this.entry(`Exemplar #${i}`);
      this.entry(`     -> Trace ID: ${e.traceId ?? ''}`);
      this.entry(`     -> Span ID: ${e.spanId ?? ''}`);
      this.entry(`     -> Timestamp: ${formatTimestamp(e.timeUnixNano)}`);
      if (e.asInt !== undefined) this.entry(`     -> Value: ${e.asInt}`);
      else if (e.asDouble !== undefined) this.entry(`     -> Value: ${f6(e.asDouble)}`);
      this.attributes('     -> FilteredAttributes', e.filteredAttributes);
    });
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

function traces(data: TracesData): string {
  const t = new Text();
  data.resourceSpans.forEach((rs, i) => {
    t.resource('ResourceSpans', i, rs.resource, rs.schemaUrl);
    rs.scopeSpans.forEach((ss, j) => {
      t.scope('ScopeSpans', j, ss.scope, ss.schemaUrl);
      ss.spans.forEach((span, k) => {
        t.entry(`Span #${k}`);
        t.field('Trace ID', span.traceId);
        t.field('Parent ID', span.parentSpanId ?? '');
        t.field('ID', span.spanId);
        t.field('Name', span.name);
        t.field('Kind', enumName(SPAN_KIND, span.kind));
        if (span.traceState) t.field('TraceState', span.traceState);
        if (span.flags !== undefined) t.field('Flags', span.flags);
        t.field('Start time', formatTimestamp(span.startTimeUnixNano));
        t.field('End time', formatTimestamp(span.endTimeUnixNano));
        t.field('Status code', enumName(STATUS_CODE, span.status.code));
        t.field('Status message', span.status.message ?? '');
        t.entry(`    DroppedAttributesCount: ${span.droppedAttributesCount ?? 0}`);
        t.attributes('Attributes', span.attributes);
        t.events(span.events);
        t.entry(`    DroppedEventsCount: ${span.droppedEventsCount ?? 0}`);
        t.links(span.links);
        t.entry(`    DroppedLinksCount: ${span.droppedLinksCount ?? 0}`);
      });
    });
  });
  return t.toString();
}

function pointHeader(t: Text, kind: string, i: number, p: { attributes: KeyValue[]; startTimeUnixNano?: bigint; timeUnixNano: bigint }): void {
  t.entry(`${kind} #${i}`);
  t.attributes('Data point attributes', p.attributes);
  t.entry(`StartTimestamp: ${formatTimestamp(p.startTimeUnixNano)}`);
  t.entry(`Timestamp: ${formatTimestamp(p.timeUnixNano)}`);
}

function metricPoints(t: Text, m: Metric): void {
  const d = m.data;
  switch (d.type) {
    case 'gauge':
    case 'sum':
      if (d.type === 'sum') {
        t.entry(`     -> IsMonotonic: ${d.isMonotonic}`);
        t.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, d.aggregationTemporality)}`);
      }
      d.dataPoints.forEach((p, i) => {
        pointHeader(t, 'NumberDataPoints', i, p);
        if (p.asInt !== undefined) t.entry(`Value: ${p.asInt}`);
        else if (p.asDouble !== undefined) t.entry(`Value: ${f6(p.asDouble)}`);
        t.exemplars(p.exemplars);
      });
      return;
    case 'histogram':
      t.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, d.aggregationTemporality)}`);
      d.dataPoints.forEach((p, i) => {
        pointHeader(t, 'HistogramDataPoints', i, p);
        t.entry(`Count: ${p.count}`);
        if (p.sum !== undefined) t.entry(`Sum: ${f6(p.sum)}`);
        if (p.min !== undefined) t.entry(`Min: ${f6(p.min)}`);
        if (p.max !== undefined) t.entry(`Max: ${f6(p.max)}`);
        p.explicitBounds.forEach((b, j) => t.entry(`ExplicitBounds #${j}: ${f6(b)}`));
        p.bucketCounts.forEach((c, j) => t.entry(`Buckets #${j}, Count: ${c}`));
        t.exemplars(p.exemplars);
      });
      return;
    case 'exponentialHistogram':
      t.entry(`     -> AggregationTemporality: ${enumName(TEMPORALITY, d.aggregationTemporality)}`);
      d.dataPoints.forEach((p, i) => {
        pointHeader(t, 'ExponentialHistogramDataPoints', i, p);
        t.entry(`Count: ${p.count}`);
        if (p.sum !== undefined) t.entry(`Sum: ${f6(p.sum)}`);
        if (p.min !== undefined) t.entry(`Min: ${f6(p.min)}`);
        if (p.max !== undefined) t.entry(`Max: ${f6(p.max)}`);
        const factor = Math.LN2 * 2 ** -p.scale;
        const neg = p.negative.bucketCounts;
        for (let k = 0; k < neg.length; k++) {
          const pos = neg.length - k - 1;
          const index = p.negative.offset + pos;
          t.entry(`Bucket [${f6(-Math.exp((index + 1) * factor))}, ${f6(-Math.exp(index * factor))}), Count: ${neg[pos]}`);
        }
        if (p.zeroCount !== 0) t.entry(`Bucket [0, 0], Count: ${p.zeroCount}`);
        p.positive.bucketCounts.forEach((c, pos) => {
          const index = p.positive.offset + pos;
          t.entry(`Bucket (${f6(Math.exp(index * factor))}, ${f6(Math.exp((index + 1) * factor))}], Count: ${c}`);
        });
        t.exemplars(p.exemplars);
      });
      return;
    case 'summary':
      d.dataPoints.forEach((p, i) => {
        pointHeader(t, 'SummaryDataPoints', i, p);
        t.entry(`Count: ${p.count}`);
        t.entry(`Sum: ${f6(p.sum)}`);
        p.quantileValues.forEach((q, j) => t.entry(`QuantileValue #${j}: Quantile ${f6(q.quantile)}, Value ${f6(q.value)}`));
      });
      return;
  }
}

const DATA_TYPE = {
  gauge: 'Gauge',
  sum: 'Sum',
  histogram: 'Histogram',
  exponentialHistogram: 'ExponentialHistogram',
  summary: 'Summary',
} as const;

function metrics(data: MetricsData): string {
  const t = new Text();
  data.resourceMetrics.forEach((rm, i) => {
    t.resource('ResourceMetrics', i, rm.resource, rm.schemaUrl);
    rm.scopeMetrics.forEach((sm, j) => {
      t.scope('ScopeMetrics', j, sm.scope, sm.schemaUrl);
      sm.metrics.forEach((m, k) => {
        t.entry(`Metric #${k}`);
        t.entry('Descriptor:');
        t.entry(`     -> Name: ${m.name}`);
        t.entry(`     -> Description: ${m.description ?? ''}`);
        t.entry(`     -> Unit: ${m.unit ?? ''}`);
        t.entry(`     -> DataType: ${DATA_TYPE[m.data.type]}`);
        t.attributes('     -> Metadata', m.metadata);
        metricPoints(t, m);
      });
    });
  });
  return t.toString();
}

function logs(data: LogsData): string {
  const t = new Text();
  data.resourceLogs.forEach((rl, i) => {
    t.resource('ResourceLog', i, rl.resource, rl.schemaUrl);
    rl.scopeLogs.forEach((sl, j) => {
      t.scope('ScopeLogs', j, sl.scope, sl.schemaUrl);
      sl.logRecords.forEach((lr, k) => {
        t.entry(`LogRecord #${k}`);
        t.entry(`ObservedTimestamp: ${formatTimestamp(lr.observedTimeUnixNano)}`);
        t.entry(`Timestamp: ${formatTimestamp(lr.timeUnixNano)}`);
        t.entry(`SeverityText: ${lr.severityText ?? ''}`);
        t.entry(`SeverityNumber: ${enumName(SEVERITY, lr.severityNumber)}(${lr.severityNumber ?? 0})`);
        if (lr.eventName) t.entry(`EventName: ${lr.eventName}`);
        t.entry(`Body: ${typedValue(lr.body)}`);
        t.attributes('Attributes', lr.attributes);
        t.entry(`Trace ID: ${lr.traceId ?? ''}`);
        t.entry(`Span ID: ${lr.spanId ?? ''}`);
        t.entry(`Flags: ${lr.flags ?? 0}`);
      });
    });
  });
  return t.toString();
}

function profiles(data: ProfilesData): string {
  const t = new Text();
  data.resourceProfiles.forEach((rp, i) => {
    t.resource('ResourceProfiles', i, rp.resource, rp.schemaUrl);
    rp.scopeProfiles.forEach((sp, j) => {
      t.scope('ScopeProfiles', j, sp.scope, sp.schemaUrl);
      sp.profiles.forEach((p, k) => {
        t.entry(`Profile #${k}`);
        t.field('Profile ID', p.profileId ?? '');
        t.field('Start time', formatTimestamp(p.timeUnixNano));
        t.field('Duration', `${p.durationNano}ns`);
        t.field('Sample types', p.sampleTypes.map((s) => `${s.type}/${s.unit}`).join(', '));
        t.field('Period', `${p.period.value} ${p.period.type}/${p.period.unit}`);
        t.attributes('Attributes', p.attributes);
        p.samples.forEach((s, n) => {
          t.entry(`    Sample #${n}`);
          t.entry(`        Values: ${s.values.join(', ')}`);
          t.attributes('        -> Attributes', s.attributes);
          t.entry('        Frames:');
          s.frames.forEach((f, m) => {
            const where = [
              f.module ? `module=${f.module}` : '',
              f.address !== undefined ? `address=0x${f.address.toString(16)}` : '',
              f.buildId ? `build_id=${f.buildId}` : '',
            ]
              .filter(Boolean)
              .join(' ');
            t.entry(`            #${m} ${f.function} [${f.kind}]${where ? ' ' + where : ''}`);
          });
        });
      });
    });
  });
  return t.toString();
}

const DETAILED: { [S in Signal]: (data: SignalData[S]) => string } = { traces, metrics, logs, profiles };

export function detailedText<S extends Signal>(signal: S, data: SignalData[S]): string {
  return DETAILED[signal](data);
}
