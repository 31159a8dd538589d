// The pull endpoint: GET /metrics answers the text format, gzip when the scraper accepts it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { splitHostPort } from '../../src/config/types.ts';

export const METRICS_PATH = '/metrics';
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class MetricsServer {
  private readonly endpoint: string;
  private readonly render: () => string;
  private server: Server | undefined;

  constructor(endpoint: string, render: () => string) {
    this.endpoint = endpoint;
    this.render = render;
  }

  /** The bound port (useful with port 0), or undefined before start. */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** The bound address as host:port, or undefined before start. */
  get address(): string | undefined {
    const address = this.server?.address();
    if (typeof address !== 'object' || !address) return undefined;
    return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { host, port } = splitHostPort(this.endpoint);
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
        reject(new Error(`prometheus exporter cannot listen on ${this.endpoint}: ${why}`, { cause: err }));
      });
      server.listen(port, host === '' ? undefined : host, () => resolve());
    });
    this.server = server;
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: the metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    let body: Buffer;
    try {
      body = Buffer.from(this.render(), 'utf8');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${(err as Error).message}\n`);
      return;
    }
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPE };
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
