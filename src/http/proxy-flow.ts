/**
 * A generation request from arrival to its call record: authenticate, resolve the model group, run
 * the attempt loop up to the first event, then send the answer (JSON or stream) and record the call
 * exactly once — on success, upstream failure, mid-stream failure and client disconnect alike.
 */
import { responseIdOf } from '../accounting/spend-writer.js';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallRecordSink } from '../core/call-record.js';
import { GatewayError, invalidRequest, toGatewayError } from '../core/errors.js';
import { isObject, type JsonObject } from '../core/json.js';
import type { CanonicalRequest } from '../core/request.js';
import { StreamFolder } from '../core/collect.js';
import type { Usage } from '../core/usage.js';
import type { StreamEvent } from '../core/response.js';
import { litellmHeaders } from '../observability/headers.js';
import type { Authenticator } from '../policy/auth.js';
import type { CostResult, Pricing } from '../accounting/pricing.js';
import type { Metrics } from '../observability/metrics/index.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { effectiveTimeoutMs, idleGuarded, idleTimeout } from '../routing/attempts.js';
import type { Routed, Router } from '../routing/engine.js';
import { upstreamModelFor, type ModelTable, type ResolvedGroup } from '../routing/router.js';
import { batchModels, pythonFloat, takeClientControls } from '../routing/client-controls.js';
import { callScope, type ScopeRecords } from '../routing/call-scope.js';
import { mockPlanFor, takeTestHooks } from '../routing/test-hooks.js';
import { CannedAdapter } from '../providers/mock/canned.js';
import { AdmissionError, type Policy } from '../policy/admission.js';
import type { Tenancy } from '../policy/tenancy.js';
import { CallContext } from './call-context.js';
import { adapterFor, prepareAnswer, type PreparedAnswer } from './prepared-answer.js';
import { serveBatch } from './batch-flow.js';
import { sendJson, startEventStream, writeChunk } from './response-writer.js';
import type { SurfaceCodec } from './surfaces.js';
import type { ParsedBody } from './body.js';

export interface ProxyDeps {
  auth: Authenticator;
  models: ModelTable;
  providers: ProviderRegistry;
  sink: CallRecordSink;
  /** `x-litellm-max-retries` before the router has looked at a request. */
  maxRetries: number;
  router: Router;
  pricing: Pricing;
  metrics: Pick<Metrics, 'inFlight' | 'setKeyModelRemaining'>;
  /** Budgets, rate limits and model access, checked before routing and settled from the record. */
  policy: Pick<Policy, 'admit' | 'settle' | 'keyDisablesFallbacks' | 'allowedModels'>;
  /** Key, team and end-user records (tags, model aliases, allowed_model_region); absent = none apply. */
  tenancy?: Pick<Tenancy, 'keys' | 'teams' | 'customers'> | undefined;
}

export function requestIdFor(request: FastifyRequest): string {
  const supplied = request.headers['x-litellm-call-id'];
  return typeof supplied === 'string' && supplied !== '' && supplied.length <= 200 ? supplied : randomUUID();
}

export async function handleGeneration(codec: SurfaceCodec, deps: ProxyDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  const requestId = requestIdFor(request);
  const parsed = request.body as ParsedBody;
  const body = parsed.json;
  const stream = isObject(body) && body.stream === true;
  let principal;
  try {
    principal = deps.auth.authenticate(request.headers);
  } catch (err) {
    // Not admitted: answered, but not a call (LiteLLM leaves bad keys out of every metric too).
    sendError(res, codec, toGatewayError(err), { 'x-litellm-call-id': requestId });
    return;
  }
  const abort = new AbortController();
  const batch = isObject(body) && typeof body.model === 'string' ? batchModels(body.model, deps.models) : undefined;
  if (batch !== undefined && isObject(body)) {
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    await serveBatch({
      codec,
      models: batch,
      body,
      res,
      requestId,
      contextFor: (id) => newContext(codec, deps, request, id, false, principal),
      route: (ctx, one, raw) => routeCall(codec, deps, ctx, one, raw, request, abort),
    });
    return;
  }
  const ctx = newContext(codec, deps, request, requestId, stream, principal);
  res.on('close', () => {
    if (!res.writableFinished) {
      ctx.clientDisconnected = true;
      abort.abort();
    }
  });
  try {
    await serve(codec, deps, ctx, body, parsed.raw, request, res, abort);
  } catch (err) {
    const error = ctx.clientDisconnected ? disconnected(err) : toGatewayError(err);
    if (!res.headersSent) sendError(res, codec, error, { ...headersFor(ctx, deps), ...(err instanceof AdmissionError ? err.headers : {}) });
    ctx.finish(error.status, error);
  }
}

function newContext(codec: SurfaceCodec, deps: ProxyDeps, request: FastifyRequest, requestId: string, stream: boolean, principal: CallContext['principal']): CallContext {
  const ctx = new CallContext(requestId, codec.surface, request.url.split('?')[0] ?? request.url, stream, Date.now() - (performance.now() - request.receivedAt), request.receivedAt, userAgent(request), deps.sink);
  ctx.principal = principal;
  deps.metrics.inFlight.inc();
  ctx.onFinish(() => deps.metrics.inFlight.dec());
  return ctx;
}

async function serve(
  codec: SurfaceCodec,
  deps: ProxyDeps,
  ctx: CallContext,
  body: unknown,
  rawBody: Buffer,
  request: FastifyRequest,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  if (!isObject(body)) throw invalidRequest('The request body must be a JSON object');
  const { value: answer, lease, target } = await routeCall(codec, deps, ctx, body, rawBody, request, abort);
  ctx.onFinish((record) => lease.end(record));
  const d = target.deployment;
  await sendAnswer(codec, ctx, deps, guardIdle(answer, d.streamTimeoutMs, () => lease.abort(), () => idleTimeout(d)), body, res, abort);
}

/** Admit and route one call up to the first event of its answer; the caller sends it. */
async function routeCall(
  codec: SurfaceCodec,
  deps: ProxyDeps,
  ctx: CallContext,
  body: JsonObject,
  rawBody: Buffer,
  request: FastifyRequest,
  abort: AbortController,
): Promise<Routed<PreparedAnswer>> {
  if (typeof body.model !== 'string' || body.model === '') throw invalidRequest('model: a model name is required', 'model');
  ctx.requestedModel = body.model;
  ctx.metadata = isObject(body.metadata) ? body.metadata : undefined;
  const hooks = takeTestHooks(body);
  const client = takeClientControls(body, request.headers);
  const scope = callScope(body, body.model, request.headers['x-litellm-tags'], scopeRecords(deps, ctx.principal, body));
  // Router options and test hooks were taken out of the body, so its bytes are no longer the client's.
  const bodyEdited = hooks !== undefined || client.edited || scope.edited;
  let canonical: CanonicalRequest | undefined;
  const decodeOnce = (): CanonicalRequest => (canonical ??= codec.decode(body));
  checkFallbackAccess(deps, ctx, client.fallbackModels);
  // A team or key alias replaces the requested model for everything after it — model access, budgets,
  // the record — as LiteLLM rewrites the body's `model` before its auth checks see it.
  const routed = scope.model;
  ctx.requestedModel = routed;
  await admitCall(deps, ctx, deps.models.resolve(routed), body, rawBody);
  ctx.modelRegion = scope.allowedRegion;
  const controls = {
    ...client.controls,
    tags: scope.tags,
    allowedRegion: scope.allowedRegion,
    mockFailure: hooks?.mockFailure,
    mockRateLimit: hooks?.mockRateLimit,
    // A key's `metadata.disable_fallbacks: true` turns fallbacks off for every request it makes (as
    // in LiteLLM, the key's setting overrides the request's).
    ...(deps.policy.keyDisablesFallbacks(ctx.principal) ? { disableFallbacks: true } : {}),
  };
  return deps.router.route({
    model: routed,
    stream: ctx.stream,
    log: ctx,
    signal: abort.signal,
    controls,
    // A rough size for tpm limits; tokenizing on the hot path would cost more than it saves.
    estimatedInputTokens: Math.ceil(rawBody.length / 4),
    onGroup: (group) => {
      if (ctx.deployment === undefined) ctx.modelGroup = group.name;
    },
    attempt: (target, signal) => {
      const d = target.deployment;
      const costOf = (usage: Usage) => deps.pricing.cost(usage, d, target.upstreamModel);
      ctx.useDeployment(d, target.group.name, target.upstreamModel, costOf);
      ctx.timeoutSeconds = effectiveTimeoutMs(d, ctx.stream, controls.timeoutMs) / 1000;
      ctx.upstreamStarted();
      const plan = mockPlanFor(d, hooks);
      // A custom-message fallback (`{"model": m, "messages": […]}`) is sent with its own fields.
      const patch = client.overrides.get(target.requestedModel);
      const sent = patch === undefined ? body : { ...body, ...patch };
      return prepareAnswer(plan === undefined ? adapterFor(deps.providers, d, target.upstreamModel) : new CannedAdapter(plan), d, {
        codec,
        body: sent,
        rawBody: bodyEdited || patch !== undefined ? undefined : rawBody,
        stream: ctx.stream,
        requestedModel: target.requestedModel,
        upstreamModel: target.upstreamModel,
        clientHeaders: request.headers,
        signal,
        canonical: patch === undefined ? decodeOnce : () => codec.decode(sent),
        annotateFinalUsage: (usage) => costField(costOf(usage)),
      });
    },
  });
}

/** The tenancy facts that steer routing: the key's and team's tags and aliases, the end user's region. */
function scopeRecords(deps: ProxyDeps, principal: CallContext['principal'], body: JsonObject): ScopeRecords {
  const tenancy = deps.tenancy;
  if (tenancy === undefined) return {};
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
function checkFallbackAccess(deps: ProxyDeps, ctx: CallContext, models: readonly string[]): void {
  if (models.length === 0) return;
  const allowed = new Set(deps.policy.allowedModels(ctx.principal, models));
  const denied = models.find((m) => !allowed.has(m));
  if (denied === undefined) return;
  throw new GatewayError({
    code: 'permission_denied',
    status: 403,
    param: 'fallbacks',
    message: `key not allowed to access fallback model. Tried to use fallback model=${denied} for model=${ctx.requestedModel}`,
  });
}

/**
 * Reserve the request's worst case (input estimated from the body size, plus max_tokens, priced on
 * the most expensive deployment that may serve it) against every budget and limit; the record
 * settles it with the real cost, whatever way the request ends.
 */
export async function admitCall(
  deps: Pick<ProxyDeps, 'policy' | 'pricing' | 'metrics'>,
  ctx: CallContext,
  group: ResolvedGroup | undefined,
  body: JsonObject,
  rawBody: Buffer,
): Promise<void> {
  const requested = ctx.requestedModel;
  const admission = await deps.policy.admit({
    principal: ctx.principal,
    requestedModel: requested,
    endUser: typeof body.user === 'string' && body.user !== '' ? body.user : undefined,
    estimatedInputTokens: Math.ceil(rawBody.length / 4),
    maxOutputTokens: [body.max_tokens, body.max_completion_tokens].find((v): v is number => typeof v === 'number'),
    priceNano: (usage) => {
      let worst: number | null = null;
      for (const d of group?.deployments ?? []) {
        const nano = deps.pricing.cost(usage, d, upstreamModelFor(d, requested, group?.wildcardMatch)).nanoUsd;
        if (nano !== null && (worst === null || nano > worst)) worst = nano;
      }
      return worst;
    },
  });
  ctx.principal = admission.principal;
  ctx.extraHeaders = admission.headers;
  // LiteLLM's litellm_remaining_api_key_{requests,tokens}_for_model, from the key's own limits.
  const requests = admission.headers['x-ratelimit-remaining-requests'];
  const tokens = admission.headers['x-ratelimit-remaining-tokens'];
  const keyHash = admission.principal.keyHash;
  if (keyHash !== undefined && (requests !== undefined || tokens !== undefined)) {
    deps.metrics.setKeyModelRemaining({ keyHash, keyAlias: admission.principal.keyAlias }, group?.name ?? requested, undefined, {
      requests: requests === undefined ? undefined : Number(requests),
      tokens: tokens === undefined ? undefined : Number(tokens),
    });
  }
  ctx.onFinish((record) => deps.policy.settle(admission, record));
}

/** After the first event, stream_timeout bounds each wait for the next chunk. */
function guardIdle(answer: PreparedAnswer, ms: number, onIdle: () => void, idleError: () => GatewayError): PreparedAnswer {
  if (answer.kind === 'json') return answer;
  if (answer.kind === 'passthrough-stream') return { ...answer, iterator: idleGuarded(answer.iterator, ms, onIdle, idleError) };
  return { ...answer, iterator: idleGuarded(answer.iterator, ms, onIdle, idleError) };
}

async function sendAnswer(
  codec: SurfaceCodec,
  ctx: CallContext,
  deps: ProxyDeps,
  answer: PreparedAnswer,
  body: JsonObject,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  if (answer.kind === 'json') {
    ctx.passthrough = answer.passthrough;
    ctx.usage = answer.usage;
    ctx.upstreamEnded();
    const duration = ctx.elapsedMs();
    const headers = { ...answer.headers, ...headersFor(ctx, deps, duration) };
    ctx.firstByteSent();
    ctx.responseId = responseIdOf(answer.body);
    sendJson(res, answer.status, headers, answer.body);
    ctx.finish(answer.status);
    return;
  }
  startEventStream(res, { ...(answer.kind === 'passthrough-stream' ? answer.headers : {}), ...headersFor(ctx, deps) });
  ctx.firstByteSent();
  if (answer.kind === 'passthrough-stream') await pipePassthrough(codec, ctx, answer, body, res, abort);
  else await pipeCanonical(codec, ctx, answer, body, res, abort);
}

async function pipePassthrough(
  codec: SurfaceCodec,
  ctx: CallContext,
  answer: Extract<PreparedAnswer, { kind: 'passthrough-stream' }>,
  body: JsonObject,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  ctx.passthrough = true;
  const { iterator, tap } = answer;
  let error: GatewayError | undefined;
  try {
    ctx.responseId = responseIdOf(answer.head[0]);
    for (const chunk of answer.head) if (!(await writeChunk(res, chunk))) return clientGone(ctx, abort, iterator, tap.usage);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      if (!(await writeChunk(res, next.value))) return clientGone(ctx, abort, iterator, tap.usage);
    }
    error = tap.error ?? (tap.completed ? undefined : truncated());
  } catch (err) {
    if (ctx.clientDisconnected) return clientGone(ctx, abort, iterator, tap.usage);
    error = toGatewayError(err);
  }
  ctx.usage = tap.usage;
  ctx.upstreamEnded();
  // The upstream's own error event already reached the client; other failures get one from us.
  if (error !== undefined && tap.error === undefined) await writeChunk(res, codec.streamEncoder(ctx.requestedModel, body).error(error));
  res.end();
  ctx.finish(error === undefined ? 200 : error.status, error);
}

async function pipeCanonical(
  codec: SurfaceCodec,
  ctx: CallContext,
  answer: Extract<PreparedAnswer, { kind: 'canonical-stream' }>,
  body: JsonObject,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  const encoder = codec.streamEncoder(answer.model, body);
  // The folder tracks usage and notices an answer that never finished.
  const folder = new StreamFolder();
  const { iterator } = answer;
  let error: GatewayError | undefined;
  const send = async (event: StreamEvent): Promise<boolean> => {
    if (event.type === 'error') throw event.error;
    folder.add(event);
    const chunk = encoder.encode(event);
    ctx.responseId ??= responseIdOf(chunk);
    return writeChunk(res, chunk);
  };
  try {
    for (const event of answer.head) if (!(await send(event))) return clientGone(ctx, abort, iterator, folder.usageSoFar);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      if (!(await send(next.value))) return clientGone(ctx, abort, iterator, folder.usageSoFar);
    }
    if (!folder.finished) error = truncated();
  } catch (err) {
    if (ctx.clientDisconnected) return clientGone(ctx, abort, iterator, folder.usageSoFar);
    error = toGatewayError(err);
  }
  ctx.usage = folder.usageSoFar;
  ctx.upstreamEnded();
  await writeChunk(res, error === undefined ? encoder.end(costField(ctx.cost())) : encoder.error(error));
  res.end();
  ctx.finish(error === undefined ? 200 : error.status, error);
}

async function clientGone(ctx: CallContext, abort: AbortController, iterator: AsyncIterator<unknown>, usage: Usage): Promise<void> {
  ctx.clientDisconnected = true;
  ctx.usage = usage;
  abort.abort();
  ctx.upstreamEnded();
  await iterator.return?.(undefined).catch(() => undefined);
  ctx.finish(499, disconnected(undefined));
}

/** The `cost` (USD) added to a final usage object; absent when the price is unknown. */
function costField(cost: CostResult | undefined): Record<string, unknown> | undefined {
  return cost?.usd === null || cost === undefined ? undefined : { cost: cost.usd };
}

function truncated(): GatewayError {
  return new GatewayError({ code: 'upstream_error', status: 502, message: 'The upstream stream ended before the answer was complete', retryable: true });
}

function disconnected(cause: unknown): GatewayError {
  return new GatewayError({ code: 'client_disconnected', status: 499, message: 'Client closed the connection before the answer was complete', cause });
}

function headersFor(ctx: CallContext, deps: ProxyDeps, durationMs?: number): Record<string, string> {
  return callHeaders(ctx, deps.maxRetries, durationMs);
}

/**
 * The x-litellm-* headers of a call as far as it has got, plus what admission decided
 * (x-litellm-key-*, x-ratelimit-*). Duration, overhead and cost only for complete answers.
 */
export function callHeaders(ctx: CallContext, defaultMaxRetries: number, durationMs?: number): Record<string, string> {
  const upstream = ctx.upstreamMs();
  // Cost is known only for complete answers; a stream carries it in its final usage event.
  const cost = durationMs === undefined ? undefined : ctx.cost();
  const headers = litellmHeaders({
    costUsd: cost?.usd ?? undefined,
    requestId: ctx.requestId,
    deployment: ctx.deployment,
    modelGroup: ctx.modelGroup,
    attempts: ctx.attempts,
    retries: ctx.retries,
    fallbacks: ctx.fallbacks,
    maxRetries: ctx.maxRetries ?? defaultMaxRetries,
    durationMs,
    overheadMs: durationMs === undefined || upstream === undefined ? undefined : Math.max(0, durationMs - upstream),
  });
  if (ctx.modelRegion !== undefined) headers['x-litellm-model-region'] = ctx.modelRegion;
  if (ctx.timeoutSeconds !== undefined) headers['x-litellm-timeout'] = pythonFloat(ctx.timeoutSeconds);
  if (ctx.extraHeaders === undefined) return headers;
  const extra = { ...ctx.extraHeaders };
  // A complete answer's cost is known: the key's spend after this call, as LiteLLM documents it.
  const spendBefore = extra['x-litellm-key-spend'];
  if (spendBefore !== undefined && cost?.nanoUsd != null) extra['x-litellm-key-spend'] = String((Math.round(Number(spendBefore) * 1e9) + cost.nanoUsd) / 1e9);
  return { ...extra, ...headers };
}

export function sendError(res: ServerResponse, codec: SurfaceCodec, error: GatewayError, headers: Record<string, string>): void {
  const requestId = headers['x-litellm-call-id'] ?? '';
  const extra: Record<string, string> = { ...headers };
  if (error.retryAfterSeconds !== undefined) extra['retry-after'] = String(Math.ceil(error.retryAfterSeconds));
  const status = error.status === 499 ? 400 : error.status;
  sendJson(res, status, extra, JSON.stringify(codec.encodeError(error, requestId)));
}

function userAgent(request: FastifyRequest): string | undefined {
  const ua = request.headers['user-agent'];
  return typeof ua === 'string' ? ua : undefined;
}
