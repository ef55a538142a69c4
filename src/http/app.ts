/**
 * The HTTP server: fastify with the two client surfaces, models, health, and errors rendered in the
 * envelope of the surface the request was for.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errors, GatewayError, toGatewayError } from '../core/errors.js';
import { registerJsonBodyParser } from './body.js';
import type { CallDeps } from './call/deps.js';
import { sendError, surfaceErrors } from './call/errors.js';
import { handleGeneration } from './call/generation.js';
import { requestIdFor } from './call/pipeline.js';
import { handleCountTokens } from './routes/count-tokens.js';
import { registerInfoRoutes, type InfoDeps } from './routes/info.js';
import { anthropicMessagesCodec, openAIChatCodec, type SurfaceCodec } from './surfaces.js';
import { registerSpendRoutes, type OwnSpend } from './routes/spend.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerHealthRoute } from './routes/health.js';
import { registerAdminRoutes, type AdminDeps } from './routes/admin/index.js';
import { registerNativeRoutes } from './routes/native/index.js';
import { registerCompletionsRoutes } from './routes/completions.js';
import { registerEmbeddingsRoutes } from './routes/embeddings.js';
import { registerModerationsRoutes } from './routes/moderations.js';
import { registerImagesRoutes } from './routes/images.js';
import { registerAudioRoutes } from './routes/audio.js';
import { registerRerankRoutes } from './routes/rerank.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerResponsesRoutes } from './routes/responses.js';
import { requestLogSerializers } from './routes/admin/redact.js';
import type { HealthChecker } from '../routing/health.js';
import type { Metrics } from '../observability/metrics/index.js';
import type { SpendLogStore } from '../accounting/spend-types.js';
import type { IncomingHttpHeaders } from 'node:http';

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the request arrived, before its body was read. */
    receivedAt: number;
  }
  interface FastifyContextConfig {
    surface?: 'openai' | 'anthropic';
  }
}

export interface AppOptions {
  maxRequestBytes: number;
  /** `general_settings.max_json_depth`: deeper bodies get a 400 (default 64). */
  maxJsonDepth?: number | undefined;
  logger: boolean;
}

export type AppDeps = CallDeps & InfoDeps & { spendLogs: SpendLogStore; metrics: Metrics; metricsAuth: boolean; health: HealthChecker; admin?: AdminDeps | undefined };

export function buildApp(deps: AppDeps, options: AppOptions): FastifyInstance {
  // Request logs mask any key in the URL (`/key/info?key=sk-…`): plaintext keys are never logged.
  const logger = options.logger ? { serializers: requestLogSerializers } : false;
  // Managed Responses API ids (LiteLLM's base64 of provider, deployment and upstream id) run to ~200 characters.
  const app = Fastify({ logger, bodyLimit: options.maxRequestBytes, return503OnClosing: false, routerOptions: { maxParamLength: 1000 } });
  app.decorateRequest('receivedAt', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.receivedAt = performance.now();
    done();
  });
  registerJsonBodyParser(app, options.maxJsonDepth);
  app.setErrorHandler((error: FastifyError, request, reply) => renderError(error, request, reply, options));
  app.setNotFoundHandler((request, reply) => {
    const error = errors.notFound(`No route for ${request.method} ${request.url.split('?')[0] ?? ''}`);
    sendError(reply.raw, surfaceErrors(codecFor(request)), error, requestIdFor(request));
    void reply.hijack();
  });

  const openai = { config: { surface: 'openai' as const } };
  const anthropic = { config: { surface: 'anthropic' as const } };
  for (const path of ['/v1/chat/completions', '/chat/completions', '/openai/deployments/:deployment/chat/completions']) {
    app.post(path, openai, (request, reply) => handleGeneration(openAIChatCodec, deps, request, reply));
  }
  registerCompletionsRoutes(app, deps);
  registerResponsesRoutes(app, deps);
  registerEmbeddingsRoutes(app, deps);
  registerModerationsRoutes(app, deps);
  registerImagesRoutes(app, deps);
  registerAudioRoutes(app, deps);
  registerRerankRoutes(app, deps);
  registerSearchRoutes(app, deps);
  app.post('/v1/messages', anthropic, (request, reply) => handleGeneration(anthropicMessagesCodec, deps, request, reply));
  app.post('/v1/messages/count_tokens', anthropic, (request, reply) => handleCountTokens(deps, request, reply));
  registerInfoRoutes(app, deps);
  const tenancy = deps.admin?.tenancy;
  registerSpendRoutes(app, {
    store: deps.spendLogs,
    authorizeAdmin: (headers) => authorizeAdmin(deps, headers),
    spendScope: (headers) => spendScope(deps, headers),
    teamAlias: (id) => tenancy?.teams.get(id)?.team_alias ?? undefined,
    keyFacts: (hash) => {
      const key = tenancy?.keys.get(hash);
      return key === undefined ? undefined : { key_alias: key.key_alias, team_id: key.team_id };
    },
  });
  registerMetricsRoute(app, deps.metrics, deps.metricsAuth ? (headers) => deps.auth.authenticate(headers) : undefined);
  registerHealthRoute(app, { health: deps.health, background: deps.calls.router.settings.healthChecks.background, authorize: (headers) => authorizeAdmin(deps, headers) });
  if (deps.admin !== undefined) registerAdminRoutes(app, deps.admin);
  registerNativeRoutes(app, deps);
  return app;
}

/** Read-only management endpoints (spend, health): the master key, admin and admin-viewer keys. */
function authorizeAdmin(deps: AppDeps, headers: IncomingHttpHeaders): void {
  const principal = deps.auth.authenticate(headers);
  const access = deps.admin?.auth.adminAccess(principal) ?? (principal.isMaster || deps.auth.open ? 'write' : 'none');
  if (access === 'none') {
    throw errors.permissionDenied('Admin-only endpoint. Not allowed to access this.');
  }
}

/** Admins list everyone's spend; any other key its user's rows, or its own when it has no user. */
function spendScope(deps: AppDeps, headers: IncomingHttpHeaders): 'all' | OwnSpend {
  const principal = deps.auth.authenticate(headers);
  const access = deps.admin?.auth.adminAccess(principal) ?? (principal.isMaster || deps.auth.open ? 'write' : 'none');
  if (access !== 'none') return 'all';
  if (principal.userId !== undefined) return { userId: principal.userId };
  if (principal.keyHash !== undefined) return { apiKey: principal.keyHash };
  throw errors.permissionDenied('Admin-only endpoint. Not allowed to access this.');
}

function codecFor(request: FastifyRequest): SurfaceCodec {
  const surface = request.routeOptions.config?.surface;
  if (surface === 'anthropic') return anthropicMessagesCodec;
  if (surface === 'openai') return openAIChatCodec;
  return request.url.startsWith('/v1/messages') ? anthropicMessagesCodec : openAIChatCodec;
}

function renderError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, options: AppOptions): void {
  let gatewayError: GatewayError;
  if (error instanceof GatewayError) gatewayError = error;
  else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    gatewayError = errors.requestTooLarge(
      `Request body is larger than the limit of ${Number((options.maxRequestBytes / 1048576).toFixed(2))} MB (general_settings.max_request_size_mb)`,
    );
  } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    gatewayError = errors.clientError(error.statusCode, error.message);
  } else {
    request.log.error({ err: error }, 'unhandled error');
    gatewayError = toGatewayError(error);
  }
  void reply.hijack();
  // The rest of an oversized body is never read: close the connection instead of keeping it alive.
  const extra: Record<string, string> = gatewayError.status === 413 ? { connection: 'close' } : {};
  sendError(reply.raw, surfaceErrors(codecFor(request)), gatewayError, requestIdFor(request), extra);
}
