// bpfcol's own endpoint: /metrics (its own series in Prometheus format, from the OpenTelemetry
// metrics SDK) and /health (200 while every pipeline runs, 503 otherwise).
import { createServer, type Server } from 'node:http';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { splitHostPort } from '../config/types.ts';

export interface TelemetryServerOptions {
  address: string;
  exporter: PrometheusExporter;
  /** Whether the collector is healthy now, a word on its state, and anything else to show. */
  health: () => { healthy: boolean; status: string } & Record<string, unknown>;
}

export async function startTelemetryServer(options: TelemetryServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.exporter.getMetricsRequestHandler(req, res);
      return;
    }
    if (path === '/health' || path === '/') {
      const body = options.health();
      res.writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics or /health\n');
  });
  const { host, port } = splitHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`service.telemetry.metrics.address: cannot listen on ${options.address}: ${error.code === 'EADDRINUSE' ? 'address in use' : error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
