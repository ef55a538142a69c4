/**
 * GET /health: LiteLLM's deployment health report (`healthy_endpoints`, `unhealthy_endpoints` and
 * their counts). With `background_health_checks` it returns the background loop's last report;
 * otherwise, or for one `?model=`, it probes now. Admin-only: a probe costs a call per deployment.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { toGatewayError } from '../../core/errors.js';
import type { HealthChecker } from '../../routing/health.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { openAIChatCodec } from '../surfaces.js';

export interface HealthRouteDeps {
  health: HealthChecker;
  background: boolean;
  authorize: (headers: IncomingHttpHeaders) => void;
}

export function registerHealthRoute(app: FastifyInstance, deps: HealthRouteDeps): void {
  app.get<{ Querystring: { model?: string } }>('/health', async (request, reply) => {
    try {
      deps.authorize(request.headers);
    } catch (err) {
      void reply.hijack();
      sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
      return;
    }
    const model = typeof request.query.model === 'string' && request.query.model !== '' ? request.query.model : undefined;
    if (deps.background && model === undefined) return deps.health.lastReport() ?? (await deps.health.check());
    return deps.health.check(model);
  });
}
