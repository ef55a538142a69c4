/**
 * GET /metrics: the Prometheus exposition. Open by default (as LiteLLM before v1.85);
 * `litellm_settings.require_auth_for_metrics_endpoint: true` makes it need a key. The separate
 * `--metrics-port` server (see metrics-server.ts) is never authenticated.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { toGatewayError } from '../../core/errors.js';
import type { Metrics } from '../../observability/metrics/index.js';
import { sendError } from '../proxy-flow.js';
import { openAIChatCodec } from '../surfaces.js';

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, authenticate?: (headers: IncomingHttpHeaders) => unknown): void {
  app.get('/metrics', async (request, reply) => {
    if (authenticate !== undefined) {
      try {
        authenticate(request.headers);
      } catch (err) {
        void reply.hijack();
        sendError(reply.raw, openAIChatCodec, toGatewayError(err), {});
        return;
      }
    }
    const body = await metrics.render();
    return reply.header('content-type', metrics.contentType).send(body);
  });
}
