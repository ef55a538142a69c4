/**
 * Registration point of the bedrock provider (`bedrock`, `bedrock_converse`): the selector picks
 * the adapter for a deployment. Claude models go through InvokeModel with the Anthropic body (a
 * passthrough for the Anthropic surface); everything else, and `bedrock/converse/…`, through
 * Converse; embedding models (Titan, Cohere Embed) through InvokeModel with their own bodies
 * (embeddings.ts). For generation Tollgate speaks InvokeModel only with the Anthropic body, so `bedrock/invoke/<id>`
 * means "this is Claude" (useful for application inference profile ARNs that do not name it).
 *
 * Adapters are built once per deployment: each owns the deployment's credential memo and signer.
 */
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import type { Deployment } from '../../core/deployment.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import type { AdapterSelector } from '../types.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';
import { BedrockConverseAdapter } from './converse-adapter.js';
import { BedrockInvokeAdapter } from './invoke-adapter.js';
import { bedrockModelId, bedrockRoute, isAnthropicModel } from './model-id.js';
import { BedrockNativeClient } from './native.js';
import { BEDROCK_PROVIDER, BedrockTransport } from './transport.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * A wildcard deployment (`bedrock/*`) learns the model per call, so it cannot promise a dialect up
 * front: it translates every request and picks InvokeModel or Converse by the called model.
 */
class BedrockPerCallAdapter implements ProviderAdapter {
  readonly name = BEDROCK_PROVIDER;

  constructor(
    private readonly invoke: BedrockInvokeAdapter,
    private readonly converse: BedrockConverseAdapter,
  ) {}

  complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    return this.pick(call).complete(request, call);
  }

  stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    return this.pick(call).stream(request, call);
  }

  countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    return this.pick(call).countTokens(request, call);
  }

  embed(request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse> {
    return this.converse.embed(request, call);
  }

  private pick(call: UpstreamCall): BedrockInvokeAdapter | BedrockConverseAdapter {
    return isAnthropicModel(bedrockModelId(call.upstreamModel)) ? this.invoke : this.converse;
  }
}

export function createBedrockAdapter(deployment: Deployment, env: Env = process.env, transport = new BedrockTransport(deployment, env)): ProviderAdapter {
  const { modelId, forced } = bedrockRoute(deployment.provider, deployment.model);
  if (forced === 'converse') return new BedrockConverseAdapter(transport);
  if (forced === 'invoke') return new BedrockInvokeAdapter(transport);
  if (modelId.includes('*') && !isAnthropicModel(modelId)) {
    return new BedrockPerCallAdapter(new BedrockInvokeAdapter(transport), new BedrockConverseAdapter(transport));
  }
  return isAnthropicModel(modelId) ? new BedrockInvokeAdapter(transport) : new BedrockConverseAdapter(transport);
}

// Keyed by the deployment object: a config reload builds new deployments and so new credentials.
// The adapter and the native client of one deployment share its transport (credentials, signer).
const transports = new WeakMap<Deployment, BedrockTransport>();
const adapters = new WeakMap<Deployment, ProviderAdapter>();
const natives = new WeakMap<Deployment, BedrockNativeClient>();

function transportFor(deployment: Deployment): BedrockTransport {
  let transport = transports.get(deployment);
  if (transport === undefined) {
    transport = new BedrockTransport(deployment);
    transports.set(deployment, transport);
  }
  return transport;
}

export const bedrockSelector: AdapterSelector = (deployment) => {
  let adapter = adapters.get(deployment);
  if (adapter === undefined) {
    adapter = createBedrockAdapter(deployment, process.env, transportFor(deployment));
    adapters.set(deployment, adapter);
  }
  return adapter;
};

/** The client for Bedrock-shaped requests (`/bedrock/model/{id}/…`) to this deployment. */
export function bedrockNativeFor(deployment: Deployment): BedrockNativeClient {
  let native = natives.get(deployment);
  if (native === undefined) {
    native = new BedrockNativeClient(transportFor(deployment));
    natives.set(deployment, native);
  }
  return native;
}
