// bpfcol's own endpoint: /metrics (its own series in Prometheus format, from the OpenTelemetry
// metrics SDK) and /health (200 while every pipeline runs, 503 otherwise).
import { createServer, type Server } from 'node:http';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { splitHostPort } from '../config/types.ts';

export interface TelemetryServerOptions {
  address: string;
  exporter: PrometheusExporter;
  /** Whether the collector is healthy now, and a word on its state. */
  health: () => { healthy: boolean; status: string };
}

export async function startTelemetryServer(options: TelemetryServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.exporter.getMetricsRequestHandler(req, res);
      return;
    }
    if (path === '/health' || path === '/') {
      const { healthy, status } = options.health();
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status, healthy }) + '\n');
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
