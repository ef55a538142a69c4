/**
 * The router's face to the HTTP layer: a call described as data (the body, what the client's
 * protocol needs, the route's kind) goes in, an `Answer` up to its first event comes out. The
 * router picks deployments and runs the attempt loop (engine.ts); this file is where each attempt
 * reaches a provider, so control runs http → routing → providers and never back up through http.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Deployment } from '../core/deployment.js';
import { errors } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../core/embeddings.js';
import type { EndpointUnits } from '../core/endpoint-units.js';
import type { CanonicalRequest } from '../core/request.js';
import type { CanonicalResponse } from '../core/response.js';
import type { Usage } from '../core/usage.js';
import { CannedAdapter } from '../providers/mock/canned.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { estimateRequestTokens, tokenizerReady } from '../providers/shared/token-estimate.js';
import type { Dialect, ProviderAdapter, StoredResponseAnswer, StoredResponseRequest, UpstreamCall } from '../providers/types.js';
import { decodeResponseId } from '../core/response-id.js';
import { peekBytes, peekEvents, type Answer } from './answer.js';
import { AttemptSignal, type AttemptTarget, type ClientSignal } from './attempts.js';
import type { RouteRequest, Routed, Router } from './engine.js';
import { nativeSend, resolveNative, type NativeKind } from './native.js';
import { upstreamModelFor, type ResolvedGroup } from './router.js';
import { mockPlanFor, type TestHooks } from './test-hooks.js';
import type { ClientCredentials } from './client-credentials.js';

export type { Dialect, StoredResponseRequest } from '../providers/types.js';

/** What of the client's protocol an attempt needs: its dialect, and how to decode and encode it. */
export interface SurfaceNeeds {
  readonly dialect: Dialect;
  decode(body: JsonObject): CanonicalRequest;
  encodeResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown>;
  /** The client asked for usage in the stream (always true for Anthropic, where it is built in). */
  clientWantsUsage(body: JsonObject): boolean;
}

/** Everything of a call but how its attempts are made. */
export type CallBase = Omit<RouteRequest<Answer>, 'attempt'> & {
  /** Told each time an attempt starts, before the provider is called (the call record follows the deployment). */
  onAttempt?: ((target: AttemptTarget) => void) | undefined;
  clientHeaders: IncomingHttpHeaders;
  /** The W3C `traceparent` every upstream request of the call carries. */
  traceparent?: string | undefined;
};

/** A generation on one of the client surfaces (OpenAI chat, completions, Anthropic messages). */
export interface GenerationCall extends CallBase {
  surface: SurfaceNeeds;
  body: JsonObject;
  /** The client's bytes, when they are still exactly `body` (forwarded as they are on passthrough). */
  rawBody: Buffer | undefined;
  /** A custom-message fallback's own fields (`{"model": m, "messages": […]}`), by the model they are for. */
  overrides?: ReadonlyMap<string, JsonObject> | undefined;
  /** The client's own `api_base`/`api_key` (only with `allow_client_side_credentials`): used for every attempt. */
  credentials?: ClientCredentials | undefined;
  hooks?: TestHooks | undefined;
  /** Fields added to a stream's final usage object (the cost), when the upstream's bytes pass through. */
  annotateFinalUsage?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined;
}

/** `POST /v1/embeddings`: OpenAI-shaped upstreams get the client's bytes, the others the canonical request. */
export interface EmbeddingCall extends CallBase {
  body: JsonObject;
  rawBody: Buffer | undefined;
  decode(body: JsonObject): EmbeddingRequest;
  /** The OpenAI answer for a translated provider's embeddings, in the client's encoding. */
  encode(response: EmbeddingResponse, model: string, extraUsage: Record<string, unknown> | undefined): Record<string, unknown>;
  annotateUsage?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined;
}

/**
 * One request, one answer, on an endpoint that providers take in the client's own wire (moderations,
 * images, audio, rerank; embeddings through `embed`): a deployment whose adapter speaks `dialect`
 * gets the client's bytes, one with a `translate` of its own gets that, any other is a 400.
 */
export interface EndpointCall extends CallBase {
  dialect: Dialect;
  /** The endpoint as a 400 names it ("does not serve image generation"). */
  endpoint: string;
  body: JsonObject;
  rawBody: Buffer | undefined;
  /** Told what the answering attempt's answer reported beyond tokens (seconds, search units). */
  onUnits?: ((units: EndpointUnits | undefined) => void) | undefined;
  /** The call in a provider's own API, for an adapter that has one (undefined: it has none). */
  translate?: ((adapter: ProviderAdapter, upstream: UpstreamCall) => Promise<Answer> | undefined) | undefined;
}

/** A native-shaped call (Bedrock runtime, Vertex rawPredict) on a group resolved with `resolveNative`. */
export interface NativeCall extends CallBase {
  kind: NativeKind;
  group: ResolvedGroup;
  raw: Buffer;
  body: JsonObject;
}

export interface CountTokensCall {
  group: ResolvedGroup;
  requestedModel: string;
  surface: Pick<SurfaceNeeds, 'dialect' | 'decode'>;
  body: JsonObject;
  clientHeaders: IncomingHttpHeaders;
  signal: ClientSignal;
  onAttempt?: ((target: AttemptTarget) => void) | undefined;
}

export class CallRouter {
  constructor(
    readonly router: Router,
    private readonly providers: ProviderRegistry,
  ) {}

  generate(call: GenerationCall): Promise<Routed<Answer>> {
    let canonical: CanonicalRequest | undefined;
    // Decoded once, on first need: only translated calls need the canonical form.
    const decodeOnce = (): CanonicalRequest => (canonical ??= call.surface.decode(call.body));
    return this.router.route({
      ...call,
      attempt: (target, signal) => {
        call.onAttempt?.(target);
        const patch = call.overrides?.get(target.requestedModel);
        const body = patch === undefined ? call.body : { ...call.body, ...patch };
        const plan = mockPlanFor(target.deployment, call.hooks);
        const adapter = plan === undefined ? this.adapterFor(target.deployment, target.upstreamModel) : new CannedAdapter(plan);
        const deployment = withClientCredentials(target.deployment, call.credentials);
        const upstream: UpstreamCall = { deployment, upstreamModel: target.upstreamModel, signal, clientHeaders: call.clientHeaders, traceparent: call.traceparent };
        return attemptGeneration(adapter, upstream, call, body, patch === undefined ? call.rawBody : undefined, patch === undefined ? decodeOnce : () => call.surface.decode(body));
      },
    });
  }

  embed(call: EmbeddingCall): Promise<Routed<Answer>> {
    let canonical: EmbeddingRequest | undefined;
    return this.endpoint({
      ...call,
      dialect: 'openai-embeddings',
      endpoint: 'embeddings',
      // Bedrock, Vertex, Gemini: the canonical request (decoded once) in their own embedding API.
      translate: (adapter, upstream) => (adapter.embed === undefined ? undefined : translatedEmbedding(adapter, upstream, call, (canonical ??= call.decode(call.body)))),
    });
  }

  /** A single-answer endpoint call (`EndpointCall`): the client's bytes where the adapter speaks its dialect. */
  endpoint(call: EndpointCall): Promise<Routed<Answer>> {
    return this.router.route({
      ...call,
      attempt: async (target, signal) => {
        call.onAttempt?.(target);
        const adapter = this.adapterFor(target.deployment, target.upstreamModel);
        const upstream: UpstreamCall = { deployment: target.deployment, upstreamModel: target.upstreamModel, signal, clientHeaders: call.clientHeaders, traceparent: call.traceparent };
        if (adapter.passthrough !== undefined && speaks(adapter, call.dialect)) {
          const result = await adapter.passthrough(call.body, upstream, { dialect: call.dialect, stream: false, rawBody: call.rawBody });
          if (result.kind === 'stream') return peekBytes(result.status, result.headers, result.chunks, result.tap);
          call.onUnits?.(result.units);
          return { kind: 'json', status: result.status, headers: result.headers, body: result.body, usage: result.usage, passthrough: true };
        }
        const translated = call.translate?.(adapter, upstream);
        if (translated === undefined) {
          throw errors.invalidRequest(`Deployment ${target.deployment.id} (${target.deployment.provider}/${target.upstreamModel}) does not serve ${call.endpoint}`, 'model');
        }
        return translated;
      },
    });
  }

  native(call: NativeCall): Promise<Routed<Answer>> {
    return this.router.route({
      ...call,
      attempt: async (target, signal) => {
        call.onAttempt?.(target);
        const upstream: UpstreamCall = { deployment: target.deployment, upstreamModel: target.upstreamModel, signal, clientHeaders: call.clientHeaders, traceparent: call.traceparent };
        const answer = await nativeSend(call.kind, call.raw, call.body, upstream);
        return answer.kind === 'json' ? { ...answer, passthrough: true } : peekBytes(answer.status, answer.headers, answer.chunks, answer.tap);
      },
    });
  }

  /**
   * A stored Responses API response (GET, DELETE, input_items, cancel), on the deployment its
   * managed id names — or, for an id from elsewhere, on the only deployment that speaks the
   * Responses API. Not routed: only that deployment can know it.
   */
  async storedResponse(
    id: string,
    request: Omit<StoredResponseRequest, 'responseId'>,
    call: { clientHeaders: IncomingHttpHeaders; signal: ClientSignal; authorize: (deployment: Deployment) => void },
  ): Promise<StoredResponseAnswer & { deployment: Deployment }> {
    const decoded = decodeResponseId(id);
    const capable = this.router.models.all().filter((d) => {
      const adapter = this.providers.forDeployment(d);
      return adapter?.storedResponse !== undefined && speaks(adapter, 'openai-responses');
    });
    const deployment = decoded.deploymentId === undefined ? (capable.length === 1 ? capable[0] : undefined) : capable.find((d) => d.id === decoded.deploymentId);
    if (deployment === undefined) {
      throw errors.notFound(
        decoded.deploymentId === undefined
          ? `Response with id '${id}' not found: it names no deployment, and ${capable.length} deployments serve the Responses API`
          : `Response with id '${id}' not found: deployment ${decoded.deploymentId} is not configured here`,
        'response_id',
      );
    }
    // Before the upstream hears of it: a DELETE the key may not make must not happen.
    call.authorize(deployment);
    const adapter = this.adapterFor(deployment, deployment.model);
    const attempt = new AttemptSignal(call.signal);
    try {
      const upstream: UpstreamCall = { deployment, upstreamModel: deployment.model, signal: attempt.signal, clientHeaders: call.clientHeaders };
      // The adapter was chosen for having the method.
      const answer = await adapter.storedResponse!(upstream, { ...request, responseId: decoded.responseId });
      return { ...answer, deployment };
    } finally {
      attempt.release(false);
    }
  }

  /** The group of deployments that can serve a native call to `modelId` (404 when none). */
  resolveNative(kind: NativeKind, modelId: string): ResolvedGroup {
    return resolveNative(this.router.models, kind, modelId);
  }

  /**
   * `count_tokens`: not routed (no retries, nothing admitted on the deployment), but deployments
   * cooling down are skipped as the router would. Same-dialect upstreams count for real; others
   * with their own counter or the tokenizer estimate.
   */
  async countTokens(call: CountTokensCall): Promise<number> {
    const deployment = await this.router.pickAvailable(call.group);
    const upstreamModel = upstreamModelFor(deployment, call.requestedModel, call.group.wildcardMatch);
    call.onAttempt?.({ deployment, group: call.group, requestedModel: call.requestedModel, upstreamModel });
    const adapter = this.adapterFor(deployment, upstreamModel);
    const attempt = new AttemptSignal(call.signal);
    const upstream: UpstreamCall = { deployment, upstreamModel, signal: attempt.signal, clientHeaders: call.clientHeaders };
    try {
      if (adapter.passthroughCountTokens !== undefined && speaks(adapter, call.surface.dialect)) return await adapter.passthroughCountTokens(call.body, upstream);
      const canonical = call.surface.decode(call.body);
      if (adapter.countTokens !== undefined) return await adapter.countTokens(canonical, upstream);
      await tokenizerReady();
      return estimateRequestTokens(canonical);
    } finally {
      attempt.release(false);
    }
  }

  private adapterFor(deployment: Deployment, upstreamModel: string): ProviderAdapter {
    const adapter = this.providers.forDeployment(deployment, upstreamModel);
    if (adapter === undefined) throw errors.internal(`No adapter for provider ${deployment.provider}`);
    return adapter;
  }
}

/** One attempt of a generation: passthrough when the provider speaks the client's dialect, else translated. */
async function attemptGeneration(
  adapter: ProviderAdapter,
  upstream: UpstreamCall,
  call: GenerationCall,
  body: JsonObject,
  rawBody: Buffer | undefined,
  canonical: () => CanonicalRequest,
): Promise<Answer> {
  if (adapter.passthrough !== undefined && speaks(adapter, call.surface.dialect)) {
    const result = await adapter.passthrough(body, upstream, {
      dialect: call.surface.dialect,
      stream: call.stream,
      rawBody,
      clientWantsUsage: call.surface.clientWantsUsage(body),
      annotateFinalUsage: call.annotateFinalUsage,
    });
    if (result.kind === 'json') return { kind: 'json', status: result.status, headers: result.headers, body: result.body, usage: result.usage, passthrough: true };
    return peekBytes(result.status, result.headers, result.chunks, result.tap);
  }
  const request = { ...canonical(), stream: call.stream };
  if (!call.stream) {
    const response = await adapter.complete(request, upstream);
    const model = response.model === '' ? upstream.upstreamModel : response.model;
    const extra = call.annotateFinalUsage?.(response.usage);
    return { kind: 'json', status: 200, headers: {}, body: JSON.stringify(call.surface.encodeResponse(response, model, extra)), usage: response.usage, passthrough: false };
  }
  return peekEvents(await adapter.stream(request, upstream), upstream.upstreamModel);
}

async function translatedEmbedding(adapter: ProviderAdapter, upstream: UpstreamCall, call: EmbeddingCall, request: EmbeddingRequest): Promise<Answer> {
  // The caller checked that the adapter has `embed`.
  const response = await adapter.embed!(request, upstream);
  const model = response.model === '' ? upstream.upstreamModel : response.model;
  const body = JSON.stringify(call.encode(response, model, call.annotateUsage?.(response.usage)));
  return { kind: 'json', status: 200, headers: {}, body, usage: response.usage, passthrough: false };
}

function speaks(adapter: ProviderAdapter, dialect: Dialect): boolean {
  return adapter.dialects?.includes(dialect) === true;
}

/** The deployment as the client's own credentials change it (the record keeps the configured one). */
function withClientCredentials(deployment: Deployment, credentials: ClientCredentials | undefined): Deployment {
  if (credentials === undefined || (credentials.apiBase === undefined && credentials.apiKey === undefined)) return deployment;
  return { ...deployment, apiBase: credentials.apiBase ?? deployment.apiBase, apiKey: credentials.apiKey ?? deployment.apiKey };
}
