// Sends OTLP over HTTP with node's http/https, encoding with bpfcol's own OTLP codec: the
// @opentelemetry exporters serialize SDK span/metric/log objects, while a collector forwards
// OTLP data it already holds.
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CreateSettings } from '../../src/component/component.ts';
import { responseFromJson, toJson } from '../../src/pdata/otlp/json.ts';
import type { PartialSuccess } from '../../src/pdata/otlp/proto.ts';
import { isOtlpSignal } from '../../src/pdata/otlp/signal.ts';
import type { SignalData } from '../../src/pdata/signal.ts';
import { decodeExportResponse, encodeExportRequest, type ExportSignal, withProfilesHint } from '../otlp/export-signal.ts';
import type { OtlpTransport } from '../otlp/exporter.ts';
import type { OtlpHttpConfig } from './config.ts';
import { bodyMessage, httpStatusError, networkError } from './http-errors.ts';

const gzipAsync = promisify(gzip);
/** As the Collector: read at most this much of a response. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const CONTENT_TYPE = { proto: 'application/x-protobuf', json: 'application/json' } as const;

export interface Response {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A keep-alive agent for the URL's scheme, with the TLS settings for https (also used by the jaeger exporter's thrift_http). */
export async function agentFor(url: URL, config: Pick<OtlpHttpConfig, 'tls'>, configDir: string): Promise<http.Agent> {
  if (url.protocol === 'http:') return new http.Agent({ keepAlive: true });
  const read = (file: string | undefined) => (file === undefined ? undefined : readFile(resolve(configDir, file)));
  const [ca, cert, key] = await Promise.all([read(config.tls.ca_file), read(config.tls.cert_file), read(config.tls.key_file)]);
  return new https.Agent({
    keepAlive: true,
    rejectUnauthorized: !config.tls.insecure_skip_verify,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(config.tls.server_name_override ? { servername: config.tls.server_name_override } : {}),
  });
}

/** POSTs `body`; resolves with the status, headers and the start of the response body. */
export function post(url: URL, agent: http.Agent, headers: Record<string, string>, body: Buffer, timeoutMs: number, cancel?: AbortSignal): Promise<Response> {
  return new Promise((resolvePost, reject) => {
    const request = (url.protocol === 'https:' ? https.request : http.request)(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'Content-Length': String(body.length) },
      signal: cancel ? AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]) : AbortSignal.timeout(timeoutMs),
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        // Keep reading to the end (so the connection can be reused) but keep only the start.
        if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
        size += chunk.length;
      });
      response.on('error', reject);
      response.on('end', () =>
        resolvePost({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.end(body);
  });
}

export async function httpTransport<S extends ExportSignal>(
  signal: S,
  urlText: string,
  config: OtlpHttpConfig,
  settings: CreateSettings,
): Promise<OtlpTransport<S>> {
  const url = new URL(urlText);
  const agent = await agentFor(url, config, settings.configDir);
  const headers: Record<string, string> = {
    ...config.headers,
    'User-Agent': 'bpfcol',
    'Content-Type': CONTENT_TYPE[config.encoding],
    ...(config.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
  };

  const partialSuccess = (response: Response): PartialSuccess | undefined => {
    if (response.body.length === 0) return undefined;
    const type = response.headers['content-type'] ?? '';
    try {
      if (type.includes('application/json') && isOtlpSignal(signal)) return responseFromJson(signal, response.body.toString('utf8'));
      if (type.includes('application/x-protobuf')) return decodeExportResponse(signal, response.body);
    } catch (error) {
      // The data was accepted; an unreadable answer is worth a warning, not a failure.
      settings.logger.warn('could not read the export response', { url: urlText, error });
    }
    return undefined;
  };

  return {
    async send(data: SignalData[S], abort?: AbortSignal) {
      // Profiles are protobuf only (validation refuses encoding: json with profiles.enabled).
      const encoded =
        config.encoding === 'json' && isOtlpSignal(signal)
          ? Buffer.from(toJson(signal, data as SignalData[typeof signal]))
          : Buffer.from(encodeExportRequest(signal, data));
      const body = config.compression === 'gzip' ? await gzipAsync(encoded) : encoded;
      let response: Response;
      try {
        response = await post(url, agent, headers, body, config.timeout, abort);
      } catch (error) {
        throw networkError(urlText, error, config.timeout);
      }
      if (response.status >= 200 && response.status < 300) return partialSuccess(response);
      const retryAfter = response.headers['retry-after'];
      const error = httpStatusError(urlText, response.status, response.statusText, bodyMessage(response.headers['content-type'], response.body), retryAfter);
      throw withProfilesHint(signal, error, response.status === 404);
    },
    close: () => agent.destroy(),
  };
}
