/** Models list, health probes and the root probe Claude Code sends before its first request. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toGatewayError } from '../../core/errors.js';
import { GATEWAY_VERSION } from '../../observability/headers.js';
import type { Authenticator } from '../../policy/auth.js';
import type { Policy } from '../../policy/admission.js';
import type { ModelTable } from '../../routing/router.js';
import { sendError } from '../proxy-flow.js';
import { openAIChatCodec } from '../surfaces.js';

export interface InfoDeps {
  auth: Authenticator;
  models: ModelTable;
  startedAt: number;
  database: { dialect: string };
  policy: Pick<Policy, 'allowedModels'>;
}

export function registerInfoRoutes(app: FastifyInstance, deps: InfoDeps): void {
  const listModels = (request: FastifyRequest, reply: FastifyReply): unknown => {
    let principal;
    try {
      principal = deps.auth.authenticate(request.headers);
    } catch (err) {
      void reply.hijack();
      sendError(reply.raw, openAIChatCodec, toGatewayError(err), {});
      return;
    }
    const created = Math.floor(deps.startedAt / 1000);
    return {
      object: 'list',
      // Only what the caller's key may use (LiteLLM filters /v1/models the same way).
      data: deps.policy.allowedModels(principal, deps.models.publicNames()).map((id) => ({ id, object: 'model', created, owned_by: 'tollgate' })),
    };
  };
  app.get('/v1/models', listModels);
  app.get('/models', listModels);
  app.get('/health/liveliness', (_request, reply) => reply.send("I'm alive!"));
  app.get('/health/liveness', (_request, reply) => reply.send("I'm alive!"));
  app.get('/health/readiness', (_request, reply) => reply.send({
    status: 'connected',
    db: 'connected',
    db_dialect: deps.database.dialect,
    cache: null,
    litellm_version: GATEWAY_VERSION,
    success_callbacks: [],
    last_updated: new Date().toISOString(),
  }));
  app.head('/', (_request, reply) => reply.code(200).send());
  app.get('/', (_request, reply) => reply.send({ name: 'tollgate', version: GATEWAY_VERSION, endpoints: ['/v1/chat/completions', '/v1/messages', '/v1/messages/count_tokens', '/v1/models', '/health/liveliness', '/health/readiness'] }));
}
