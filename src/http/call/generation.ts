/**
 * A generation on a client surface (OpenAI chat, completions, Anthropic messages) through the
 * pipeline: the body's router options and test hooks are taken out, the key's and team's aliases
 * and tags applied, the call admitted and handed to the router as data. `"model": "a,b"` is a
 * batch (batch.ts): each model a call of its own, through the same steps. Every path starts with
 * the surface's validator (surfaces.ts), once the caller is known and before admission.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RESPONSE_CACHE_HIT_COST } from '../../accounting/pricing.js';
import { errors } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import type { RequestLimits } from '../../protocols/shared/validate.js';
import type { Answer } from '../../routing/answer.js';
import { ClientGone, effectiveTimeoutMs, type ClientSignal } from '../../routing/attempts.js';
import { aliasedModel, callScope, type ScopeRecords } from '../../routing/call-scope.js';
import { batchModels, takeClientControls } from '../../routing/client-controls.js';
import type { CallBase } from '../../routing/calls.js';
import { takeClientCredentials, type ClientCredentials } from '../../routing/client-credentials.js';
import type { Routed } from '../../routing/engine.js';
import type { ResolvedGroup } from '../../routing/router.js';
import { takeTestHooks, type TestHooks } from '../../routing/test-hooks.js';
import type { ParsedBody } from '../body.js';
import type { SurfaceCodec } from '../surfaces.js';
import { admitCall } from './admit.js';
import { serveBatch } from './batch.js';
import type { CallContext } from './context.js';
import type { CallDeps } from './deps.js';
import { surfaceErrors } from './errors.js';
import { authenticate, openContext, requestIdFor, runCall } from './pipeline.js';
import { takeCacheControls, type CacheLookup, type ResponseCache } from './response-cache.js';
import type { RoutedCall } from './routed-call.js';
import { costField } from './send.js';

export async function handleGeneration(codec: SurfaceCodec, deps: CallDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const parsed = request.body as ParsedBody;
  const body = parsed.json;
  const route = request.url.split('?')[0] ?? request.url;
  const encoding = surfaceErrors(codec);
  const batch = isObject(body) && typeof body.model === 'string' ? batchModels(body.model, deps.models) : undefined;
  if (batch !== undefined && isObject(body)) {
    void reply.hijack();
    const requestId = requestIdFor(request);
    const principal = authenticate(deps, request, reply.raw, encoding, requestId);
    if (principal === undefined) return;
    const gone = new ClientGone();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const spec = { surface: codec.surface, route, stream: false };
    await serveBatch({
      codec,
      models: batch,
      body,
      res: reply.raw,
      requestId,
      limits: deps.requestLimits ?? {},
      contextFor: (id) => openContext(deps, request, spec, id, principal),
      route: (ctx, one, raw) => routeGeneration(codec, deps, ctx, one, raw, request, gone),
    });
    return;
  }
  await runCall(deps, request, reply, {
    surface: codec.surface,
    route,
    stream: isObject(body) && body.stream === true,
    errors: encoding,
    run: async (ctx, signal) => {
      const { answer, routed, body: sent, remember } = await routeGeneration(codec, deps, ctx, body, parsed.raw, request, signal);
      return { answer, routed, send: { body: sent, encoder: (model, edited) => codec.streamEncoder(model, edited), native: false, remember } };
    },
  });
}

/** What a route's call needs from its surface before admission: the shape check, and the deployment it must go to. */
export interface CallSurface {
  validate(body: unknown, limits: RequestLimits): JsonObject;
  affinity?(body: JsonObject): string | undefined;
}

/** The call as prepared for the router: everything a `CallRouter` method needs but what is particular to its kind. */
export interface PreparedCall {
  base: CallBase;
  /** The validated body, router options and test hooks taken out. */
  body: JsonObject;
  /** The client's bytes when they are still exactly `body`. */
  rawBody: Buffer | undefined;
  overrides: ReadonlyMap<string, JsonObject>;
  credentials: ClientCredentials | undefined;
  hooks: TestHooks | undefined;
}

/** Admit and route one generation up to the first event of its answer; the pipeline sends it. */
export function routeGeneration(
  codec: SurfaceCodec,
  deps: CallDeps,
  ctx: CallContext,
  input: unknown,
  rawBody: Buffer,
  request: FastifyRequest,
  signal: ClientSignal,
): Promise<RoutedCall> {
  return routeCall(codec, deps, ctx, input, rawBody, request, signal, (call) =>
    deps.calls.generate({
      ...call.base,
      surface: codec,
      body: call.body,
      rawBody: call.rawBody,
      overrides: call.overrides,
      credentials: call.credentials,
      hooks: call.hooks,
      // The answering deployment's price: ctx follows the attempt (onAttempt in routeCall).
      annotateFinalUsage: (usage) => costField(ctx.costOf?.(usage)),
    }),
  );
}

/**
 * The steps every routed call takes, whatever its kind (generation, embeddings): the surface's
 * check on the client's own body, the key's and team's aliases and tags, router options and test
 * hooks taken out, admission, then `dispatch` to the router with the call described as data.
 */
export async function routeCall(
  surface: CallSurface,
  deps: CallDeps,
  ctx: CallContext,
  input: unknown,
  rawBody: Buffer,
  request: FastifyRequest,
  signal: ClientSignal,
  dispatch: (call: PreparedCall) => Promise<Routed<Answer>>,
): Promise<RoutedCall> {
  // The surface's checks first, on the client's own body: before a test hook, router option or
  // alias is taken out of it, and before admission reserves anything. The output limit is that of
  // the group the (aliased) model resolves to, so the group is resolved once, here.
  const records = scopeRecords(deps, ctx.principal, input);
  const named = isObject(input) ? input.model : undefined;
  const group = typeof named === 'string' ? deps.models.resolve(aliasedModel(named, records)) : undefined;
  // Set before the check, so a rejected body's record still names the model it asked for.
  if (typeof named === 'string') ctx.requestedModel = named;
  const body = surface.validate(input, { ...deps.requestLimits, maxOutputTokens: maxOutputTokens(group) });
  // The validator required a non-empty string.
  const requested = typeof body.model === 'string' ? body.model : '';
  ctx.metadata = isObject(body.metadata) ? body.metadata : undefined;
  const credentials = takeClientCredentials(body, deps.allowClientSideCredentials === true);
  const hooks = takeTestHooks(body);
  const client = takeClientControls(body, request.headers);
  const scope = callScope(body, requested, request.headers['x-litellm-tags'], records);
  // Router options and test hooks were taken out of the body, so its bytes are no longer the client's.
  let bodyEdited = hooks !== undefined || client.edited || scope.edited || credentials !== undefined;
  checkFallbackAccess(deps, ctx, client.fallbackModels);
  // A team or key alias replaces the requested model for everything after it — model access, budgets,
  // the record — as LiteLLM rewrites the body's `model` before its auth checks see it.
  const routed = scope.model;
  ctx.requestedModel = routed;
  await admitCall(deps, ctx, group, body, rawBody);
  ctx.modelRegion = scope.allowedRegion;
  // The response cache, after admission: a replayed answer is still a call of this key, within its
  // model access and limits. LiteLLM's `cache` member is never the provider's.
  // Without a cache this stays synchronous: no await on the hot path for a feature that is off.
  const cache = deps.responseCache === undefined ? withoutCache(body) : await cacheLookup(deps.responseCache, ctx, routed, body);
  bodyEdited ||= cache.edited;
  const hit = cache.lookup?.hit;
  if (hit !== undefined) {
    ctx.modelGroup = group?.name ?? routed;
    ctx.upstreamModel = hit.model;
    ctx.costOf = () => RESPONSE_CACHE_HIT_COST;
    return { answer: hit.answer, routed: undefined, body, remember: undefined };
  }
  const controls = {
    ...client.controls,
    tags: scope.tags,
    allowedRegion: scope.allowedRegion,
    deploymentId: surface.affinity?.(body),
    mockFailure: hooks?.mockFailure,
    mockRateLimit: hooks?.mockRateLimit,
    // A key's `metadata.disable_fallbacks: true` turns fallbacks off for every request it makes (as
    // in LiteLLM, the key's setting overrides the request's).
    ...(deps.policy.keyDisablesFallbacks(ctx.principal) ? { disableFallbacks: true } : {}),
  };
  const base: CallBase = {
    model: routed,
    stream: ctx.stream,
    log: ctx,
    signal,
    controls,
    // A rough size for tpm limits; tokenizing on the hot path would cost more than it saves.
    estimatedInputTokens: Math.ceil(rawBody.length / 4),
    onGroup: (group) => {
      if (ctx.deployment === undefined) ctx.modelGroup = group.name;
    },
    onAttempt: (target) => {
      const d = target.deployment;
      ctx.useDeployment(d, target.group.name, target.upstreamModel, (usage) => deps.pricing.cost(usage, d, target.upstreamModel));
      ctx.timeoutSeconds = effectiveTimeoutMs(d, ctx.stream, controls.timeoutMs) / 1000;
      ctx.upstreamStarted();
    },
    clientHeaders: request.headers,
    traceparent: ctx.upstreamTraceparent,
  };
  const { value: answer, lease, target } = await dispatch({ base, body, rawBody: bodyEdited ? undefined : rawBody, overrides: client.overrides, credentials: credentials?.credentials, hooks });
  return { answer, routed: { lease, target }, body, remember: cache.lookup?.remember };
}

/** LiteLLM's `cache` member is never the provider's: taken out of the body when no cache is configured. */
function withoutCache(body: JsonObject): { lookup: undefined; edited: boolean } {
  const edited = 'cache' in body;
  if (edited) takeCacheControls(body);
  return { lookup: undefined, edited };
}

/** The cache's answer or its miss, on the call's context; `cache` taken out of the body either way. */
async function cacheLookup(cache: ResponseCache, ctx: CallContext, model: string, body: JsonObject): Promise<{ lookup: CacheLookup | undefined; edited: boolean }> {
  const found = await cache.lookup(ctx.surface, model, body);
  if (found.lookup !== undefined) {
    ctx.cacheKey = found.lookup.key;
    ctx.responseCache = found.lookup.hit === undefined ? 'miss' : 'hit';
  }
  return found;
}

/** The largest `model_info.max_output_tokens` among the group's deployments; undefined when none says. */
function maxOutputTokens(group: ResolvedGroup | undefined): RequestLimits['maxOutputTokens'] {
  let most: number | undefined;
  for (const d of group?.deployments ?? []) {
    const limit = d.modelInfo?.max_output_tokens;
    if (typeof limit === 'number' && (most === undefined || limit > most)) most = limit;
  }
  return most;
}

/** The tenancy facts that steer routing: the key's and team's tags and aliases, the end user's region. */
function scopeRecords(deps: CallDeps, principal: CallContext['principal'], body: unknown): ScopeRecords {
  const tenancy = deps.tenancy;
  if (tenancy === undefined || !isObject(body)) return {};
  const key = principal.isMaster || principal.keyHash === undefined ? undefined : tenancy.keys.get(principal.keyHash);
  const team = key?.team_id == null ? undefined : tenancy.teams.get(key.team_id);
  const endUser = typeof body.user === 'string' && body.user !== '' ? body.user : principal.endUser;
  const customer = endUser === undefined ? undefined : tenancy.customers.get(endUser);
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  return {
    keyTags: key === undefined ? undefined : [...key.tags, ...list(key.metadata.tags)],
    teamTags: team === undefined ? undefined : [...team.tags, ...list(team.metadata.tags)],
    keyAliases: key?.extra.aliases,
    teamAliases: team?.extra.model_aliases ?? team?.metadata.model_aliases,
    allowedRegion: customer?.allowed_model_region,
  };
}

/** A key may only fall back to models it may call itself (LiteLLM refuses the request otherwise). */
function checkFallbackAccess(deps: CallDeps, ctx: CallContext, models: readonly string[]): void {
  if (models.length === 0) return;
  const allowed = new Set(deps.policy.allowedModels(ctx.principal, models));
  const denied = models.find((m) => !allowed.has(m));
  if (denied === undefined) return;
  throw errors.permissionDenied(`key not allowed to access fallback model. Tried to use fallback model=${denied} for model=${ctx.requestedModel}`, { param: 'fallbacks' });
}
