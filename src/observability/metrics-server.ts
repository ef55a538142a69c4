/**
 * The optional separate metrics listener (`--metrics-port`): a bare node:http server so Prometheus
 * scrapes never queue behind traffic on the main port. Unauthenticated, as LiteLLM's is.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Metrics } from './metrics/index.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  metrics: Metrics,
  port: number,
  host: string,
  /** Throws when the request may not read metrics (litellm_settings.require_auth_for_metrics_port). */
  authorize?: (headers: IncomingHttpHeaders) => unknown,
  /** The exposition to serve instead of this process's own (`--workers N`: every worker's, summed). */
  renderAll?: () => Promise<string>,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    // `/metrics/` is what LiteLLM's users scrape (its exporter is an ASGI mount at /metrics).
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/metrics/' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here\n');
      return;
    }
    try {
      authorize?.(req.headers);
    } catch {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('A key is required to read metrics on this port\n');
      return;
    }
    const fail = (err: unknown): void => void res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${String(err)}\n`);
    const send = (body: Buffer): void => void res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': body.length }).end(body);
    if (renderAll !== undefined) {
      renderAll().then((text) => send(Buffer.from(text, 'utf8')), fail);
      return;
    }
    try {
      // Bytes, not a string: a large exposition is sent without being turned into one first.
      send(metrics.renderBuffer());
    } catch (err) {
      fail(err);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
