/**
 * GET /metrics and GET /metrics/: the Prometheus exposition. LiteLLM mounts its exporter as an ASGI
 * sub-app at `/metrics` (proxy_server.py, `app.mount("/metrics", …)`), so `/metrics/` is the path its
 * users, its docs and the public LiteLLM Grafana dashboard scrape; both answer here. Open by default (as LiteLLM before v1.85);
 * `litellm_settings.require_auth_for_metrics_endpoint: true` makes it need a key. The separate
 * `--metrics-port` server (see metrics-server.ts) is never authenticated.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toGatewayError } from '../../core/errors.js';
import type { Metrics } from '../../observability/metrics/index.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { openAIChatCodec } from '../surfaces.js';

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, authenticate?: (headers: IncomingHttpHeaders) => unknown): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (authenticate !== undefined) {
      try {
        authenticate(request.headers);
      } catch (err) {
        void reply.hijack();
        sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
        return;
      }
    }
    const body = await metrics.render();
    return reply.header('content-type', metrics.contentType).send(body);
  };
  for (const path of METRICS_PATHS) app.get(path, handler);
}

/** Both spellings, on the main port and on the separate metrics listener. */
export const METRICS_PATHS = ['/metrics', '/metrics/'] as const;
