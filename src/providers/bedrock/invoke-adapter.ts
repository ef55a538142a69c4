/**
 * Claude on Bedrock through InvokeModel / InvokeModelWithResponseStream. The body is the Anthropic
 * Messages body (see invoke-body.ts), so the Anthropic surface is a passthrough: the client's JSON
 * goes up with only what Bedrock demands changed, and the answer comes back as Anthropic JSON or
 * Anthropic SSE re-framed from the AWS event stream, tapped for usage, never re-encoded. Other
 * surfaces go through the canonical model with the Anthropic converters.
 */
import { errors, GatewayError } from '../../core/errors.js';
import { type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { toAnthropicBody } from '../anthropic/convert-request.js';
import type { CompatTarget } from '../anthropic/platform-compat.js';
import { parseAnthropicMessage } from '../anthropic/parse-response.js';

import { anthropicJsonAnswer, anthropicStreamAnswer } from '../anthropic/passthrough-answer.js';
import { parseJsonBody as parseJson } from '../shared/json-body.js';

/** Bedrock's successful bodies are JSON objects. */
export function parseJsonBody(bytes: Buffer): JsonObject {
  return parseJson(bytes, 'Bedrock');
}

import { estimateRequestTokens, tokenizerReady } from '../shared/token-estimate.js';
import { rewriteTopLevel } from '../shared/body-rewrite.js';
import { readBody } from '../shared/upstream-http.js';
import type { PassthroughOptions, PassthroughResponse, ProviderAdapter, UpstreamCall } from '../types.js';
import { toBedrockAnthropicBody } from './invoke-body.js';
import { decodeInvokeStream, tapInvokeStream } from './invoke-stream.js';
import { bedrockModelId, foundationModelId } from './model-id.js';
import { BEDROCK_PROVIDER, modelPath, type BedrockTransport } from './transport.js';

/** Anthropic requires max_tokens, and so does count-tokens' InvokeModel body. */
const DEFAULT_MAX_TOKENS = 4096;

export class BedrockInvokeAdapter implements ProviderAdapter {
  readonly name = BEDROCK_PROVIDER;
  readonly dialects = ['anthropic-messages'] as const;

  constructor(private readonly transport: BedrockTransport) {}

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = this.canonicalBody({ ...request, stream: false }, call);
    const response = await this.transport.post(modelPath(bedrockModelId(call.upstreamModel), 'invoke'), JSON.stringify(body), call, false);
    return parseAnthropicMessage(parseJsonBody(await readBody(response.body, BEDROCK_PROVIDER, response.url)));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = this.canonicalBody({ ...request, stream: true }, call);
    const path = modelPath(bedrockModelId(call.upstreamModel), 'invoke-with-response-stream');
    const response = await this.transport.post(path, JSON.stringify(body), call, true);
    return decodeInvokeStream(response.body, response.url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    const modelId = bedrockModelId(call.upstreamModel);
    const adapted = toBedrockAnthropicBody(body, call.clientHeaders, compatTarget(call));
    // Byte edits of the top-level members Bedrock demands (model and stream out, anthropic_version in,
    // compat drops); the client's `messages` bytes go up as they came.
    const raw = options.rawBody;
    const payload = (raw === undefined ? undefined : rewriteTopLevel(raw, body, adapted)) ?? JSON.stringify(adapted);
    const path = modelPath(modelId, options.stream ? 'invoke-with-response-stream' : 'invoke');
    const response = await this.transport.post(path, payload, call, options.stream);
    const headers = forwardedHeaders(response.headers);
    if (!options.stream) {
      return anthropicJsonAnswer(response.status, headers, await readBody(response.body, BEDROCK_PROVIDER, response.url), 'Bedrock');
    }
    return anthropicStreamAnswer(response.status, headers, options.annotateFinalUsage, (inspector, tap) => tapInvokeStream(response.body, inspector, tap, response.url));
  }

  async countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    const body = this.canonicalBody({ ...request, stream: false }, call);
    try {
      return await this.count(body, call);
    } catch (err) {
      // Not every model or region offers count-tokens; an estimate beats failing the caller.
      if (err instanceof GatewayError && !err.retryable && err.code !== 'authentication') return tokenizerReady().then(() => estimateRequestTokens(request));
      throw err;
    }
  }

  async passthroughCountTokens(body: JsonObject, call: UpstreamCall): Promise<number> {
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : (call.deployment.defaultMaxTokens ?? DEFAULT_MAX_TOKENS);
    return this.count(toBedrockAnthropicBody({ ...body, max_tokens: maxTokens }, call.clientHeaders, compatTarget(call)), call);
  }

  /** CountTokens takes the InvokeModel body as a JSON string and answers `{"inputTokens": n}`. */
  private async count(invokeBody: JsonObject, call: UpstreamCall): Promise<number> {
    const path = modelPath(foundationModelId(bedrockModelId(call.upstreamModel)), 'count-tokens');
    const payload = JSON.stringify({ input: { invokeModel: { body: JSON.stringify(invokeBody) } } });
    const response = await this.transport.post(path, payload, call, false);
    const parsed = parseJsonBody(await readBody(response.body, BEDROCK_PROVIDER, response.url));
    if (typeof parsed.inputTokens !== 'number') {
      throw errors.badUpstreamAnswer('Bedrock count-tokens answered without inputTokens');
    }
    return parsed.inputTokens;
  }

  private canonicalBody(request: CanonicalRequest, call: UpstreamCall): JsonObject {
    const anthropic = toAnthropicBody(request, call.upstreamModel, call.deployment.defaultMaxTokens);
    return toBedrockAnthropicBody(anthropic, call.clientHeaders, compatTarget(call));
  }
}

/** Which model (and so which features) the compat rules judge the body against. */
export function compatTarget(call: UpstreamCall): CompatTarget {
  return { modelId: bedrockModelId(call.upstreamModel), deploymentId: call.deployment.id };
}


/** AWS request ids and Bedrock's own token counts, passed to the client as `llm_provider-*`. */
export function forwardedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'x-amzn-requestid' || name.startsWith('x-amzn-bedrock-')) out[`llm_provider-${name}`] = value;
  }
  return out;
}
