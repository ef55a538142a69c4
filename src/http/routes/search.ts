/**
 * LiteLLM's search routes (litellm/proxy/search_endpoints/endpoints.py):
 *
 *   POST /v1/search/{search_tool_name}, /search/{search_tool_name}   the tool in the path
 *   POST /v1/search, /search                                         `search_tool_name` in the body
 *   GET  /v1/search/tools, /search/tools                             the configured tools
 *
 * The body is Perplexity's Search API request (`query`, `max_results`, `search_domain_filter`,
 * `max_tokens_per_page`, `country`, plus provider-specific fields passed through); the answer is
 * `{"object":"search","results":[{title, url, snippet, date, last_updated}]}` whatever the
 * provider. Each query runs the one pipeline: authenticated, checked against the key's and team's
 * `object_permission.search_tools`, admitted (budgets, rate limits; the key's model list does not
 * apply, as in LiteLLM), recorded with its per-query price as call type `asearch`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import type { SearchRequest } from '../../core/search.js';
import { searchCost } from '../../accounting/search-pricing.js';
import { checkSearchToolAccess } from '../../policy/search-tool-access.js';
import { takeClientCredentials } from '../../routing/client-credentials.js';
import type { ParsedBody } from '../body.js';
import type { CallContext } from '../call/context.js';
import type { CallDeps } from '../call/deps.js';
import { surfaceErrors } from '../call/errors.js';
import { authenticate, requestIdFor, runCall } from '../call/pipeline.js';
import { sendJson } from '../response-writer.js';
import { openAIChatCodec } from '../surfaces.js';

const ERRORS = surfaceErrors(openAIChatCodec);

export function registerSearchRoutes(app: FastifyInstance, deps: CallDeps): void {
  const openai = { config: { surface: 'openai' as const } };
  for (const path of ['/v1/search/tools', '/search/tools']) app.get(path, openai, (request, reply) => listTools(deps, request, reply));
  for (const path of ['/v1/search/:search_tool_name', '/search/:search_tool_name', '/v1/search', '/search']) {
    app.post(path, openai, (request, reply) => handleSearch(deps, request, reply));
  }
}

function listTools(deps: CallDeps, request: FastifyRequest, reply: FastifyReply): void {
  void reply.hijack();
  const requestId = requestIdFor(request);
  if (authenticate(deps, request, reply.raw, ERRORS, requestId) === undefined) return;
  sendJson(reply.raw, 200, { 'x-litellm-call-id': requestId }, JSON.stringify({ object: 'list', data: deps.search?.list() ?? [] }));
}

/** Body fields that are LiteLLM's own, never a provider parameter. */
const NOT_PASSED = new Set(['search_tool_name', 'query', 'model', 'metadata', 'litellm_metadata', 'user', 'tags']);
const UNIFIED = ['max_results', 'search_domain_filter', 'max_tokens_per_page', 'country'] as const;

const positiveInt = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** The search in LiteLLM's terms, or a 400 naming the field. */
export function searchRequestOf(body: JsonObject): SearchRequest {
  const query = body.query;
  if (typeof query === 'string') {
    if (query.trim() === '') throw errors.invalidRequest('query: must not be empty', 'query');
  } else if (Array.isArray(query)) {
    if (query.length === 0) throw errors.invalidRequest('query: a list of queries must not be empty', 'query');
    query.forEach((q, i) => {
      if (typeof q !== 'string' || q.trim() === '') throw errors.invalidRequest(`query[${i}]: every query in the list must be a non-empty string`, `query[${i}]`);
    });
  } else {
    throw errors.invalidRequest(query === undefined ? 'query: a search query is required (a string or a list of strings)' : 'query: must be a string or a list of strings', 'query');
  }
  const present = (name: string): boolean => body[name] !== undefined && body[name] !== null;
  if (present('max_results') && !positiveInt(body.max_results)) throw errors.invalidRequest('max_results: must be a positive integer', 'max_results');
  if (present('max_tokens_per_page') && !positiveInt(body.max_tokens_per_page)) throw errors.invalidRequest('max_tokens_per_page: must be a positive integer', 'max_tokens_per_page');
  if (present('country') && typeof body.country !== 'string') throw errors.invalidRequest('country: must be a country code string (e.g. "US")', 'country');
  if (present('search_domain_filter')) {
    const domains = body.search_domain_filter;
    if (!Array.isArray(domains)) throw errors.invalidRequest('search_domain_filter: must be a list of domains', 'search_domain_filter');
    domains.forEach((d, i) => {
      if (typeof d !== 'string') throw errors.invalidRequest(`search_domain_filter[${i}]: must be a domain string`, `search_domain_filter[${i}]`);
    });
  }
  // LiteLLM's optional_params: the unified ones first (its order), then whatever else the client sent.
  const params: JsonObject = {};
  for (const name of UNIFIED) if (present(name)) params[name] = body[name];
  for (const [name, value] of Object.entries(body)) {
    if (name in params || NOT_PASSED.has(name) || name.startsWith('litellm_') || (UNIFIED as readonly string[]).includes(name)) continue;
    params[name] = value;
  }
  return { query: query as string | string[], params };
}

function toolNameOf(request: FastifyRequest, body: JsonObject): string {
  // The path's name wins over the body's, as in LiteLLM.
  const fromPath = (request.params as { search_tool_name?: string } | undefined)?.search_tool_name;
  if (fromPath !== undefined && fromPath !== '') return fromPath;
  const fromBody = body.search_tool_name;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  throw errors.invalidRequest('search_tool_name: name the search tool in the path (/v1/search/{search_tool_name}) or the body', 'search_tool_name');
}

/** Reserve the dearest query price among the tool's entries against every budget and limit; the record settles it. */
async function admitSearch(deps: CallDeps, ctx: CallContext, name: string, body: JsonObject, request: SearchRequest): Promise<void> {
  const candidates = deps.search?.entries(name) ?? [];
  const admission = await deps.policy.admit({
    principal: ctx.principal,
    requestedModel: name,
    endUser: typeof body.user === 'string' && body.user !== '' ? body.user : undefined,
    estimatedInputTokens: 0,
    maxOutputTokens: 0,
    priceNano: () => Math.max(0, ...candidates.map((t) => searchCost(t, request).nanoUsd ?? 0)),
    checkModelAccess: false,
  });
  ctx.principal = admission.principal;
  ctx.extraHeaders = admission.headers;
  ctx.onFinish((record) => deps.policy.settle(admission, record));
}

function handleSearch(deps: CallDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  return runCall(deps, request, reply, {
    surface: 'search',
    route: '/v1/search/{search_tool_name}',
    stream: false,
    errors: ERRORS,
    run: async (ctx, signal) => {
      const body = (request.body as ParsedBody | undefined)?.json;
      if (!isObject(body)) throw errors.invalidRequest('The request body must be a JSON object');
      const name = toolNameOf(request, body);
      ctx.requestedModel = name;
      ctx.metadata = isObject(body.metadata) ? body.metadata : undefined;
      // LiteLLM authorises the tool name before it looks the tool up.
      const key = ctx.principal.keyHash === undefined ? undefined : deps.tenancy?.keys.get(ctx.principal.keyHash);
      const teamId = key?.team_id ?? ctx.principal.teamId;
      const team = teamId === undefined || teamId === null ? undefined : deps.tenancy?.teams.get(teamId);
      checkSearchToolAccess(name, { principal: ctx.principal, key, team }, deps.searchToolDenyByDefault === true);
      const router = deps.search;
      if (router?.has(name) !== true) {
        const known = router?.names() ?? [];
        throw errors.notFound(`Search tool '${name}' not found. Search tools available: ${known.length === 0 ? 'none configured' : known.join(', ')}`, 'search_tool_name');
      }
      // Endpoints and keys come from config only (routing/client-credentials.ts); LiteLLM's search reads them from the tool alone too.
      takeClientCredentials(body, false);
      const search = searchRequestOf(body);
      await admitSearch(deps, ctx, name, body, search);
      const response = await router.search({
        name,
        request: search,
        signal,
        log: ctx,
        onAttempt: (tool) => {
          ctx.useDeployment(tool.deployment, name, `${tool.provider}/search`, () => searchCost(tool, search));
          ctx.upstreamStarted();
        },
      });
      // native: the answer carries no id of its own; the spend log keys the call by its call id, as LiteLLM does.
      return { answer: { kind: 'json', status: 200, headers: {}, body: JSON.stringify(response), usage: {}, passthrough: false }, send: { body, native: true } };
    },
  });
}

