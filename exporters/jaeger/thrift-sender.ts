// thrift_http: each resource's spans as one Thrift-encoded jaeger Batch, POSTed to Jaeger's
// /api/traces, with the otlp_http exporter's HTTP client and its reading of HTTP statuses
// (429/502/503/504 retryable with Retry-After, other 4xx/5xx permanent, no answer retryable).
import type http from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CreateSettings } from '../../src/component/component.ts';
import type { Sender } from '../../src/exporterhelper/exporter.ts';
import type { TracesData } from '../../src/pdata/traces.ts';
import { bodyMessage, httpStatusError, networkError } from '../otlp_http/http-errors.ts';
import { agentFor, post } from '../otlp_http/http-transport.ts';
import { endpointOf, type JaegerConfig } from './config.ts';
import { toJaegerBatches } from './model.ts';
import { encodeBatch } from './thrift.ts';

const gzipAsync = promisify(gzip);

export class ThriftHttpSender implements Sender<'traces'> {
  private readonly config: JaegerConfig;
  private readonly settings: CreateSettings;
  private readonly url: URL;
  private agent?: http.Agent;

  constructor(settings: CreateSettings, config: JaegerConfig) {
    this.settings = settings;
    this.config = config;
    this.url = new URL(endpointOf(config));
  }

  async start(): Promise<void> {
    this.agent ??= await agentFor(this.url, this.config, this.settings.configDir);
  }

  async send(data: TracesData, abort: AbortSignal): Promise<void> {
    if (!this.agent) throw new Error(`the ${this.settings.id.text} exporter is not started`);
    const headers: Record<string, string> = {
      ...this.config.headers,
      'User-Agent': 'bpfcol',
      'Content-Type': 'application/x-thrift',
      ...(this.config.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
    };
    const url = this.url.toString();
    // One request per resource: /api/traces takes one Batch (one process) at a time.
    for (const batch of toJaegerBatches(data)) {
      const encoded = encodeBatch(batch);
      const body = this.config.compression === 'gzip' ? await gzipAsync(encoded) : encoded;
      let response;
      try {
        response = await post(this.url, this.agent, headers, body, this.config.timeout, abort);
      } catch (error) {
        throw networkError(url, error, this.config.timeout);
      }
      if (response.status < 200 || response.status >= 300) {
        throw httpStatusError(url, response.status, response.statusText, bodyMessage(response.headers['content-type'], response.body), response.headers['retry-after']);
      }
    }
  }

  async shutdown(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
