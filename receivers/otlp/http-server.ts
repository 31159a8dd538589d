// OTLP/HTTP (protobuf and JSON) on node:http, answering as the Collector's otlpreceiver:
// POST only (405), application/x-protobuf or application/json (415), bodies bounded before and
// after decompression (413), malformed payloads 400 with a google.rpc.Status in the request's
// encoding, refusals 503 + Retry-After (retryable) or 400 (permanent), success 200 with an
// Export*ServiceResponse.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../../src/config/types.ts';
import { fromJson } from '../../src/pdata/otlp/json.ts';
import { decodeRequest, encodeResponse } from '../../src/pdata/otlp/proto.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { HttpConfig } from './config.ts';
import { type Cors, createCors } from './cors.ts';
import { BadBodyError, BodyTooLargeError, decompress, parseContentEncoding, readBody } from './http-body.ts';
import { listenErrorMessage, type TlsMaterial } from './listen.ts';
import { InFlight, OTLP_SIGNALS, type OtlpSignal, pushToPipeline, type SignalConsumers } from './pipeline.ts';
import { type Encoding, encodeStatus, grpcCodeForHttp } from './rpc-status.ts';

const CONTENT_TYPE: Record<Encoding, string> = { proto: 'application/x-protobuf', json: 'application/json' };
/** What a JSON client gets on success: the Collector's empty ExportXServiceResponse. */
const JSON_SUCCESS = Buffer.from('{"partialSuccess":{}}');
/** Seconds a refused sender is asked to wait; the Collector's memory_limiter refusals clear that fast. */
const RETRY_AFTER_SECONDS = '1';

export interface OtlpHttpServerOptions {
  config: HttpConfig;
  tls: TlsMaterial | undefined;
  consumers: SignalConsumers;
  logger: Logger;
  /** Counts a request whose body could not be turned into data. */
  onMalformed: () => void;
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/x-protobuf') return 'proto';
  if (mime === 'application/json') return 'json';
  return undefined;
}

function send(res: ServerResponse, status: number, contentType: string, body: Uint8Array | string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendStatus(res: ServerResponse, encoding: Encoding, status: number, message: string): void {
  send(res, status, CONTENT_TYPE[encoding], encodeStatus(encoding, grpcCodeForHttp(status), message));
}

export class OtlpHttpServer {
  private readonly options: OtlpHttpServerOptions;
  private readonly server: http.Server;
  private readonly routes = new Map<string, OtlpSignal>();
  private readonly cors: Cors | undefined;
  private readonly inFlight = new InFlight();
  private closing = false;

  constructor(options: OtlpHttpServerOptions) {
    this.options = options;
    const { config, tls } = options;
    const paths: Record<OtlpSignal, string> = {
      traces: config.traces_url_path,
      metrics: config.metrics_url_path,
      logs: config.logs_url_path,
    };
    for (const signal of OTLP_SIGNALS) this.routes.set(paths[signal], signal);
    this.cors = createCors(config.cors);
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, false);
    this.server = tls
      ? https.createServer({
          cert: tls.cert,
          key: tls.key,
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        })
      : http.createServer();
    this.server.on('request', onRequest);
    // Decide on Expect: 100-continue before the client uploads: a body declared too large
    // is refused without being sent at all.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, true));
  }

  /** Listens on the configured endpoint; rejects with "cannot listen on ...: address in use". */
  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.options.config.endpoint);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(new Error(listenErrorMessage(this.options.config.endpoint, error), { cause: error }));
      this.server.once('error', onError);
      this.server.listen({ port, host: host === '' ? undefined : host }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (error) => this.options.logger.error('OTLP/HTTP server error', { error }));
  }

  /** The bound port (useful when the endpoint asked for port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops accepting, lets requests in flight finish for up to `timeoutMs`, then closes every connection. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (!this.server.listening) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = await this.inFlight.idle(timeoutMs);
    if (!drained) this.options.logger.warn('OTLP/HTTP requests still in flight at shutdown were cut off', { timeoutMs });
    this.server.closeAllConnections();
    await closed;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const leave = this.inFlight.enter();
    res.once('close', leave);
    if (this.closing) res.setHeader('Connection', 'close');
    this.serve(req, res, expectsContinue).catch((error: unknown) => {
      this.options.logger.error('OTLP/HTTP request failed', { error });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    if (this.cors?.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = this.routes.get(path);
    if (signal === undefined || !this.options.consumers.has(signal)) {
      send(res, 404, 'text/plain; charset=utf-8', '404 page not found');
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      send(res, 405, 'text/plain; charset=utf-8', '405 method not allowed, supported: [POST]');
      return;
    }
    const encoding = encodingOf(req.headers['content-type']);
    if (encoding === undefined) {
      this.options.onMalformed();
      send(res, 415, 'text/plain; charset=utf-8', '415 unsupported media type, supported: [application/json, application/x-protobuf]');
      return;
    }
    const contentEncoding = parseContentEncoding(req.headers['content-encoding']);
    if (contentEncoding instanceof BadBodyError) {
      this.options.onMalformed();
      sendStatus(res, encoding, 400, contentEncoding.message);
      return;
    }

    const limit = this.options.config.max_request_body_size;
    let body: Buffer;
    try {
      if (expectsContinue && !(Number(req.headers['content-length']) > limit)) res.writeContinue();
      body = await decompress(await readBody(req, limit), contentEncoding, limit);
    } catch (error) {
      this.options.onMalformed();
      if (error instanceof BodyTooLargeError) return sendStatus(res, encoding, 413, error.message);
      if (error instanceof BadBodyError) return sendStatus(res, encoding, 400, error.message);
      throw error;
    }

    let data;
    try {
      data = encoding === 'proto' ? decodeRequest(signal, body) : fromJson(signal, body.toString('utf8'));
    } catch (error) {
      // The codec throws OtlpDecodeError for what it recognises as malformed; anything else
      // it throws on these bytes is still the payload's fault, not the pipeline's.
      this.options.onMalformed();
      this.options.logger.debug('malformed OTLP/HTTP request', { signal, error });
      return sendStatus(res, encoding, 400, error instanceof Error ? error.message : String(error));
    }

    const consumer = this.options.consumers.get(signal)!;
    const outcome = await pushToPipeline(consumer, data);
    if (outcome.ok) {
      send(res, 200, CONTENT_TYPE[encoding], encoding === 'proto' ? encodeResponse(signal) : JSON_SUCCESS);
    } else if (outcome.retryable) {
      res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      sendStatus(res, encoding, 503, outcome.message);
    } else {
      sendStatus(res, encoding, 400, outcome.message);
    }
  }
}
