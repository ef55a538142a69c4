/**
 * Models list (in Anthropic's shape for a request with `anthropic-version`), health probes, the route list and the root probe Claude Code sends before its first
 * request. `/v1/models?only_model_access_groups=True` lists the access groups (model_info.access_groups)
 * the key may use instead of models, as LiteLLM's model_list does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors, toGatewayError } from '../../core/errors.js';
import { GATEWAY_VERSION } from '../../observability/headers.js';
import type { Authenticator } from '../../policy/auth.js';
import type { Policy } from '../../policy/admission.js';
import type { Deployment } from '../../core/deployment.js';
import type { ModelTable } from '../../routing/router.js';
import { sendError, surfaceErrors } from '../call/errors.js';
import { anthropicMessagesCodec, openAIChatCodec } from '../surfaces.js';

/** What /health/readiness reports about where limits and budgets are counted. */
export interface StateHealth {
  backend: 'memory' | 'redis';
  /** False while Redis does not answer. */
  reachable: boolean;
  failureMode?: 'fail_closed' | 'fail_open' | undefined;
  error?: string | undefined;
}

export interface InfoDeps {
  auth: Authenticator;
  models: ModelTable;
  startedAt: number;
  database: { dialect: string };
  policy: Pick<Policy, 'allowedModels'>;
  /** Where limits and budgets are counted; unset = in memory. */
  stateHealth?: (() => StateHealth) | undefined;
}

export function registerInfoRoutes(app: FastifyInstance, deps: InfoDeps): void {
  const listModels = (request: FastifyRequest, reply: FastifyReply): unknown => {
    let principal;
    try {
      principal = deps.auth.authenticate(request.headers);
    } catch (err) {
      void reply.hijack();
      // An Anthropic client is refused in Anthropic's error shape, as its SDK expects.
      const codec = request.headers['anthropic-version'] === undefined ? openAIChatCodec : anthropicMessagesCodec;
      sendError(reply.raw, surfaceErrors(codec), toGatewayError(err), '');
      return;
    }
    const created = Math.floor(deps.startedAt / 1000);
    const flag = (request.query as Record<string, unknown> | undefined)?.only_model_access_groups;
    const groupsOnly = typeof flag === 'string' && /^true$/i.test(flag);
    const names = groupsOnly ? accessGroupNames(deps.models.all()) : deps.models.publicNames();
    // Only what the caller's key may use (LiteLLM filters /v1/models the same way).
    const ids = deps.policy.allowedModels(principal, names);
    // Anthropic clients (Claude Code, the Anthropic SDKs) send `anthropic-version` on every request
    // and read the list in the shape of Anthropic's Models API; everyone else gets OpenAI's.
    if (request.headers['anthropic-version'] !== undefined) {
      try {
        return anthropicModelList(ids, created, (request.query ?? {}) as Record<string, unknown>);
      } catch (err) {
        void reply.hijack();
        sendError(reply.raw, surfaceErrors(anthropicMessagesCodec), toGatewayError(err), '');
        return;
      }
    }
    return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'tollgate' })) };
  };
  app.get('/v1/models', listModels);
  app.get('/models', listModels);
  app.get('/health/liveliness', (_request, reply) => reply.send("I'm alive!"));
  app.get('/health/liveness', (_request, reply) => reply.send("I'm alive!"));
  const readiness = (): { status: number; body: Record<string, unknown> } => {
    const state = deps.stateHealth?.() ?? { backend: 'memory', reachable: true };
    // fail_closed refuses counted requests while Redis is away: this instance is not ready.
    const refusing = !state.reachable && state.failureMode !== 'fail_open';
    return {
      status: refusing ? 503 : 200,
      body: {
        status: refusing ? 'unhealthy' : 'connected',
        db: 'connected',
        db_dialect: deps.database.dialect,
        cache: state.backend === 'redis' ? 'redis' : null,
        ...(state.backend === 'redis'
          ? { redis: state.reachable ? 'connected' : 'unreachable', redis_failure_mode: state.failureMode, ...(state.error === undefined ? {} : { redis_error: state.error }) }
          : {}),
        litellm_version: GATEWAY_VERSION,
        success_callbacks: [],
        last_updated: new Date().toISOString(),
      },
    };
  };
  const sendReadiness = (reply: FastifyReply): FastifyReply => {
    const { status, body } = readiness();
    return reply.code(status).send(body);
  };
  app.get('/health/readiness', (_request, reply) => sendReadiness(reply));
  // LiteLLM's authenticated variant (any valid key), with the same diagnostics.
  app.get('/health/readiness/details', (request, reply) => {
    try {
      deps.auth.authenticate(request.headers);
    } catch (err) {
      void reply.hijack();
      sendError(reply.raw, surfaceErrors(openAIChatCodec), toGatewayError(err), '');
      return;
    }
    return sendReadiness(reply);
  });
  // Public, as LiteLLM's: every route with its methods.
  app.get('/routes', () => ({ routes: routeList(app.printRoutes({ commonPrefix: false })) }));
  app.head('/', (_request, reply) => reply.code(200).send());
  app.get('/', (_request, reply) => reply.send({ name: 'tollgate', version: GATEWAY_VERSION, endpoints: ['/v1/chat/completions', '/v1/responses', '/v1/messages', '/v1/messages/count_tokens', '/v1/models', '/health/liveliness', '/health/readiness'] }));
}

/**
 * Anthropic's `GET /v1/models` page: ModelInfo `{type, id, display_name, created_at}` (RFC 3339),
 * and the cursor fields; the ids are null for an empty page, as Anthropic's are. `limit` (1–1000),
 * `after_id` and `before_id` page as Anthropic's API does. Without `limit` the whole list is one
 * page (Anthropic's default is 20): a gateway's list is short, and a client that does not follow
 * `has_more` still sees every model.
 */
function anthropicModelList(ids: readonly string[], createdSeconds: number, query: Record<string, unknown>): Record<string, unknown> {
  const limitText = query.limit;
  let limit = ids.length;
  if (limitText !== undefined) {
    limit = typeof limitText === 'string' && /^\d+$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= 1000)) throw errors.invalidRequest('limit: must be an integer from 1 to 1000', 'limit');
  }
  const cursor = (name: 'after_id' | 'before_id'): number | undefined => {
    const id = query[name];
    if (id === undefined) return undefined;
    if (typeof id !== 'string') throw errors.invalidRequest(`${name}: must be a model id`, name);
    return ids.indexOf(id);
  };
  const after = cursor('after_id');
  const before = cursor('before_id');
  let page: readonly string[];
  let hasMore: boolean;
  if (before !== undefined) {
    // The `limit` entries just before the cursor; more exist when the page does not reach the start.
    const end = before < 0 ? 0 : before;
    const start = Math.max(0, end - limit);
    page = ids.slice(start, end);
    hasMore = start > 0;
  } else {
    const start = after === undefined ? 0 : after < 0 ? ids.length : after + 1;
    page = ids.slice(start, start + limit);
    hasMore = start + limit < ids.length;
  }
  const createdAt = new Date(createdSeconds * 1000).toISOString().replace('.000Z', 'Z');
  return {
    data: page.map((id) => ({ type: 'model', id, display_name: id, created_at: createdAt })),
    has_more: hasMore,
    first_id: page[0] ?? null,
    last_id: page.at(-1) ?? null,
  };
}

/** Access group names of the deployments, in order of first appearance. */
function accessGroupNames(deployments: readonly Deployment[]): string[] {
  const names = new Set<string>();
  for (const d of deployments) {
    const groups = d.modelInfo?.access_groups;
    if (Array.isArray(groups)) for (const g of groups) if (typeof g === 'string') names.add(g);
  }
  return [...names];
}

/**
 * fastify's route tree (`printRoutes({commonPrefix: false})`: four columns per level, each line a
 * path segment and its methods) → LiteLLM's `/routes` entries.
 */
export function routeList(tree: string): { path: string; methods: string[]; name: string; endpoint: string }[] {
  const stack: string[] = [];
  const out: { path: string; methods: string[]; name: string; endpoint: string }[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\s│]*)(?:[└├]── )(.+?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (match === null) continue;
    const depth = Math.round((match[1] ?? '').length / 4);
    const path = `${stack[depth - 1] ?? ''}${match[2] ?? ''}`;
    stack[depth] = path;
    stack.length = depth + 1;
    const methods = (match[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '' && m !== 'HEAD');
    if (methods.length > 0) out.push({ path, methods, name: path, endpoint: path });
  }
  return out;
}
