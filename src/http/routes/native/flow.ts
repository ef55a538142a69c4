/**
 * One native-shaped call (Bedrock or Vertex ingress) from arrival to its call record. The same
 * contract as the proxy flow of the two client surfaces: authenticated with a Tollgate key (a bad
 * key is answered but is not a call), routed to a deployment, the attempt carried up to the first
 * event of the answer so "200 then throttled" is still a failed attempt, then the upstream's bytes
 * forwarded while tapped, and exactly one CallRecord — success, upstream error, broken stream or
 * client gone alike. Only the wire shapes differ (dialects.ts).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, toGatewayError } from '../../../core/errors.js';
import type { Deployment } from '../../../core/deployment.js';
import { isObject, type JsonObject } from '../../../core/json.js';
import type { Usage } from '../../../core/usage.js';
import type { StreamTap } from '../../../providers/types.js';
import { idleGuarded, idleTimeout } from '../../../routing/attempts.js';
import { type ModelTable, type ResolvedGroup } from '../../../routing/router.js';
import type { ParsedBody } from '../../body.js';
import { CallContext } from '../../call-context.js';
import { admitCall, callHeaders, requestIdFor, type ProxyDeps } from '../../proxy-flow.js';
import { AdmissionError } from '../../../policy/admission.js';
import { sendJson, writeChunk } from '../../response-writer.js';
import type { NativeDialect } from './dialects.js';

export type NativeDeps = Pick<ProxyDeps, 'auth' | 'models' | 'providers' | 'sink' | 'pricing' | 'metrics' | 'maxRetries' | 'policy' | 'router'>;

/** What a provider's native client returns (bedrock/native.ts, vertex/native.ts have this shape). */
export type NativeAnswer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer; usage: Usage }
  | { kind: 'stream'; status: number; headers: Record<string, string>; chunks: AsyncIterable<Buffer | string>; tap: StreamTap };

export interface NativeCall {
  dialect: NativeDialect;
  /** The route template (metrics label it; the model id in the path would explode cardinality). */
  route: string;
  /** The model id from the path. */
  modelId: string;
  stream: boolean;
  /** Which deployments can serve this kind of request. */
  accept: (deployment: Deployment) => boolean;
  /** A deployment's model id as the platform's clients name it. */
  idOf: (deployment: Deployment) => string;
  send: (deployment: Deployment, upstreamModel: string, raw: Buffer, body: JsonObject, signal: AbortSignal) => Promise<NativeAnswer>;
}

type Prepared =
  | Extract<NativeAnswer, { kind: 'json' }>
  | { kind: 'stream'; status: number; headers: Record<string, string>; head: (Buffer | string)[]; iterator: AsyncIterator<Buffer | string>; tap: StreamTap };

export function sendNativeError(res: ServerResponse, dialect: NativeDialect, error: GatewayError, requestId: string, extra: Record<string, string> = {}): void {
  const rendered = dialect.errorResponse(error, requestId);
  sendJson(res, rendered.status, { ...extra, ...rendered.headers, 'x-litellm-call-id': requestId }, rendered.body);
}

export async function handleNative(deps: NativeDeps, request: FastifyRequest, reply: FastifyReply, call: NativeCall): Promise<void> {
  void reply.hijack();
  const res = reply.raw;
  const requestId = requestIdFor(request);
  let principal;
  try {
    principal = deps.auth.authenticate(request.headers);
  } catch (err) {
    sendNativeError(res, call.dialect, toGatewayError(err), requestId);
    return;
  }
  const ua = request.headers['user-agent'];
  const startedAt = Date.now() - (performance.now() - request.receivedAt);
  const ctx = new CallContext(requestId, call.dialect.surface, call.route, call.stream, startedAt, request.receivedAt, typeof ua === 'string' ? ua : undefined, deps.sink);
  ctx.principal = principal;
  ctx.requestedModel = call.modelId;
  ctx.passthrough = true;
  deps.metrics.inFlight.inc();
  ctx.onFinish(() => deps.metrics.inFlight.dec());
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) {
      ctx.clientDisconnected = true;
      abort.abort();
    }
  });
  try {
    const parsed = request.body as ParsedBody | undefined;
    if (parsed === undefined || !isObject(parsed.json)) throw new GatewayError({ code: 'invalid_request', status: 400, message: 'The request body must be a JSON object' });
    const body = parsed.json;
    ctx.metadata = isObject(body.metadata) ? body.metadata : undefined;
    const group = resolveNative(deps.models, call);
    // Budgets, limits and model access apply to the group the path resolved to, as on every route.
    ctx.requestedModel = group.name;
    await admitCall(deps, ctx, group, body, parsed.raw);
    ctx.requestedModel = call.modelId;
    // Through the router like every generation: retries across the group's deployments, cooldowns,
    // per-deployment limits and the strategy. The group is the provider-filtered one, so the router
    // does not fall back to other groups (their deployments might not take this body).
    const { value: prepared, lease, target } = await deps.router.route({
      model: call.modelId,
      group,
      stream: call.stream,
      log: ctx,
      signal: abort.signal,
      estimatedInputTokens: Math.ceil(parsed.raw.length / 4),
      attempt: async ({ deployment: d, upstreamModel }, signal) => {
        ctx.useDeployment(d, group.name, upstreamModel, (usage) => deps.pricing.cost(usage, d, upstreamModel));
        ctx.upstreamStarted();
        return prepare(await call.send(d, upstreamModel, parsed.raw, body, signal));
      },
    });
    ctx.onFinish((record) => lease.end(record));
    const d = target.deployment;
    // After the first event, stream_timeout bounds each wait for the next chunk.
    const answer: Prepared = prepared.kind === 'json' ? prepared : { ...prepared, iterator: idleGuarded(prepared.iterator, d.streamTimeoutMs, () => lease.abort(), () => idleTimeout(d)) };
    if (answer.kind === 'json') {
      ctx.usage = answer.usage;
      ctx.upstreamEnded();
      const headers = { ...answer.headers, ...routingHeaders(ctx, deps, ctx.elapsedMs()) };
      ctx.firstByteSent();
      sendJson(res, answer.status, headers, answer.body);
      ctx.finish(answer.status);
      return;
    }
    await pipe(ctx, deps, call.dialect, answer, res, abort);
  } catch (err) {
    const error = ctx.clientDisconnected ? disconnected(err) : toGatewayError(err);
    const extra = err instanceof AdmissionError ? err.headers : {};
    if (!res.headersSent) sendNativeError(res, call.dialect, error, requestId, { ...extra, ...routingHeaders(ctx, deps) });
    ctx.finish(error.status, error);
  }
}

/**
 * The model id of the path → a group of deployments that can serve it: a model group of that exact
 * name, else the deployments whose own model id it is, else a wildcard group. Deployments of other
 * providers are left out (a Bedrock body cannot go to Vertex as it is).
 */
export function resolveNative(models: ModelTable, call: Pick<NativeCall, 'modelId' | 'accept' | 'idOf' | 'dialect'>): ResolvedGroup {
  const resolved = models.resolve(call.modelId);
  const pick = (group: ResolvedGroup | undefined): ResolvedGroup | undefined => {
    const deployments = group?.deployments.filter(call.accept) ?? [];
    return group === undefined || deployments.length === 0 ? undefined : { ...group, deployments };
  };
  const exact = resolved?.wildcardMatch === undefined ? pick(resolved) : undefined;
  if (exact !== undefined) return exact;
  const byId = models.all().filter((d) => call.accept(d) && !d.model.includes('*') && call.idOf(d) === call.modelId);
  const first = byId[0];
  if (first !== undefined) return { name: first.modelGroup, deployments: byId.filter((d) => d.modelGroup === first.modelGroup) };
  const wildcard = resolved?.wildcardMatch !== undefined ? pick(resolved) : undefined;
  if (wildcard !== undefined) return wildcard;
  const other = resolved === undefined ? '' : ` ("${resolved.name}" is served by ${[...new Set(resolved.deployments.map((d) => d.provider))].join(', ')}, not ${call.dialect.platform})`;
  throw new GatewayError({
    code: 'not_found',
    status: 404,
    message: `No ${call.dialect.platform} deployment serves model "${call.modelId}"${other}. Configure a deployment with that model id or a model group of that name.`,
  });
}

/** Read a stream up to the first event of the answer: an error before it fails the attempt. */
async function prepare(answer: NativeAnswer): Promise<Prepared> {
  if (answer.kind === 'json') return answer;
  const iterator = answer.chunks[Symbol.asyncIterator]();
  const head: (Buffer | string)[] = [];
  const { tap } = answer;
  while (!tap.answerStarted && tap.error === undefined) {
    const next = await iterator.next();
    if (next.done === true) break;
    head.push(next.value);
  }
  if (tap.error !== undefined && !tap.answerStarted) {
    await iterator.return?.();
    throw tap.error;
  }
  return { kind: 'stream', status: answer.status, headers: answer.headers, head, iterator, tap };
}

async function pipe(ctx: CallContext, deps: NativeDeps, dialect: NativeDialect, answer: Extract<Prepared, { kind: 'stream' }>, res: ServerResponse, abort: AbortController): Promise<void> {
  res.writeHead(answer.status, { ...answer.headers, ...routingHeaders(ctx, deps), 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  ctx.firstByteSent();
  const { iterator, tap } = answer;
  let error: GatewayError | undefined;
  try {
    for (const chunk of answer.head) if (!(await writeChunk(res, chunk))) return await clientGone(ctx, abort, iterator, tap.usage);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      if (!(await writeChunk(res, next.value))) return await clientGone(ctx, abort, iterator, tap.usage);
    }
    error = tap.error ?? (tap.completed ? undefined : truncated());
  } catch (err) {
    if (ctx.clientDisconnected) return await clientGone(ctx, abort, iterator, tap.usage);
    error = tap.error ?? toGatewayError(err);
  }
  ctx.usage = tap.usage;
  ctx.upstreamEnded();
  // The platform's own error frame/event already reached the client; other failures get one from us.
  if (error !== undefined && tap.error === undefined) await writeChunk(res, dialect.streamError(error));
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

/** The x-litellm-* headers; cost and durations only for complete (non-streamed) answers. */
function routingHeaders(ctx: CallContext, deps: NativeDeps, durationMs?: number): Record<string, string> {
  return callHeaders(ctx, deps.maxRetries, durationMs);
}

function truncated(): GatewayError {
  return new GatewayError({ code: 'upstream_error', status: 502, message: 'The upstream stream ended before the answer was complete', retryable: true });
}

function disconnected(cause: unknown): GatewayError {
  return new GatewayError({ code: 'client_disconnected', status: 499, message: 'Client closed the connection before the answer was complete', cause });
}
