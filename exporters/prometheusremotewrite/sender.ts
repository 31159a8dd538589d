// Sends time series as remote write 1.0 requests: protobuf WriteRequest, snappy block
// compression, split so no request exceeds max_batch_size_bytes. HTTP outcomes as the Collector's
// prometheusremotewrite exporter reads them: 5xx and 429 are retryable (with Retry-After), other
// statuses permanent, no answer retryable.
import type http from 'node:http';
import { compress } from 'snappy';
import type { CreateSettings } from '../../src/component/component.ts';
import { ConsumerError, retryableError } from '../../src/component/errors.ts';
import type { Sender } from '../../src/exporterhelper/exporter.ts';
import type { MetricsData } from '../../src/pdata/metrics.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import { bodyMessage, networkError, parseRetryAfter } from '../otlp_http/http-errors.ts';
import { agentFor, post } from '../otlp_http/http-transport.ts';
import type { PrwConfig } from './config.ts';
import { encodeWriteRequest, seriesSize, type TimeSeries } from './proto.ts';
import { toTimeSeries } from './translate.ts';

/** Consecutive series grouped so each group's encoding stays under maxBytes (a lone larger series goes alone). */
export function splitSeries(series: TimeSeries[], maxBytes: number): TimeSeries[][] {
  const groups: TimeSeries[][] = [];
  let current: TimeSeries[] = [];
  let size = 0;
  for (const s of series) {
    const n = seriesSize(s);
    if (current.length > 0 && size + n > maxBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(s);
    size += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export function statusError(url: string, status: number, statusText: string, message: string, retryAfter: string | undefined): ConsumerError {
  const text = `remote write to ${url} failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}${message ? `: ${message}` : ''}`;
  if (status !== 429 && (status < 500 || status > 599)) return new ConsumerError(text, false);
  const delay = parseRetryAfter(retryAfter);
  return delay === undefined ? retryableError(text) : retryableError(`${text} (the server asks to retry after ${delay} ms)`, undefined, delay);
}

export class RemoteWriteSender implements Sender<'metrics'> {
  private readonly settings: CreateSettings;
  private readonly config: PrwConfig;
  private readonly url: URL;
  private readonly untranslatable: Counter;
  private agent?: http.Agent;
  private lastDropLog = 0;
  private readonly translated = new WeakMap<MetricsData, TimeSeries[]>();

  constructor(settings: CreateSettings, config: PrwConfig) {
    this.settings = settings;
    this.config = config;
    this.url = new URL(config.endpoint!);
    this.untranslatable = settings.telemetry.counter(
      'exporter_prometheusremotewrite_dropped_metric_points',
      'Metric points with no remote-write form (delta sums and histograms), dropped before sending.',
      '{metric_points}',
    );
  }

  async start(): Promise<void> {
    this.agent ??= await agentFor(this.url, this.config, this.settings.configDir);
  }

  /** The batch's series, translated (and its drops counted) once however often it is retried. */
  private seriesOf(data: MetricsData): TimeSeries[] {
    let series = this.translated.get(data);
    if (!series) {
      const t = toTimeSeries(data, {
        namespace: this.config.namespace,
        externalLabels: this.config.external_labels,
        resourceToTelemetry: this.config.resource_to_telemetry_conversion.enabled,
        targetInfo: this.config.target_info.enabled,
        addMetricSuffixes: this.config.add_metric_suffixes,
      });
      if (t.dropped.points > 0) this.reportDropped(t.dropped.points, t.dropped.metrics);
      series = t.series;
      this.translated.set(data, series);
    }
    return series;
  }

  async send(data: MetricsData, abort: AbortSignal): Promise<void> {
    if (!this.agent) throw new Error(`the ${this.settings.id.text} exporter is not started`);
    const series = this.seriesOf(data);
    const headers = {
      ...this.config.headers,
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'User-Agent': 'bpfcol',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    };
    const url = this.url.toString();
    for (const group of splitSeries(series, this.config.max_batch_size_bytes)) {
      const body = await compress(Buffer.from(encodeWriteRequest(group)));
      let response;
      try {
        response = await post(this.url, this.agent, headers, body, this.config.timeout, abort);
      } catch (error) {
        throw networkError(url, error, this.config.timeout);
      }
      if (response.status < 200 || response.status >= 300) {
        throw statusError(url, response.status, response.statusText, bodyMessage(response.headers['content-type'], response.body), response.headers['retry-after']);
      }
    }
  }

  private reportDropped(points: number, metrics: string[]): void {
    this.untranslatable.add(points);
    if (Date.now() - this.lastDropLog < 60_000) return;
    this.lastDropLog = Date.now();
    this.settings.logger.warn('dropping delta metric points: remote write takes cumulative data only (convert them upstream)', {
      dropped_metric_points: points,
      metrics: [...new Set(metrics)].join(','),
    });
  }

  async shutdown(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
