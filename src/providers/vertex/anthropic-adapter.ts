/**
 * Claude on Vertex AI: `rawPredict` / `streamRawPredict` take an Anthropic Messages body with
 * `anthropic_version: "vertex-2023-10-16"` and no `model` (the model is in the URL), and answer in
 * plain Anthropic format (JSON, SSE). So the Anthropic surface passes through — only `model` and
 * `anthropic_version` are rewritten — and is tapped exactly like the Anthropic provider; other
 * surfaces go through the Anthropic converters.
 */

import { tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { forwardedHeaders } from '../anthropic/adapter.js';
import { toAnthropicBody } from '../anthropic/convert-request.js';
import { AnthropicStreamDecoder, parseAnthropicError, parseAnthropicMessage } from '../anthropic/parse-response.js';
import { adaptClaudeRequest, type ClaudePlatformRules } from '../anthropic/platform-compat.js';


import { refineGoogleError } from '../gemini/errors.js';
import { sseEvents } from '../shared/sse-stream.js';
import { tapSseStream } from '../shared/stream-tap.js';
import { parseJsonBody } from '../shared/json-body.js';
import { rewriteTopLevel } from '../shared/body-rewrite.js';
import { anthropicJsonAnswer, anthropicStreamAnswer } from '../anthropic/passthrough-answer.js';
import { postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { PassthroughOptions, PassthroughResponse, ProviderAdapter, UpstreamCall } from '../types.js';
import { VERTEX_COUNT_TOKENS_RULES, VERTEX_RAW_PREDICT_RULES } from './compat.js';
import { noteRejectedToken, vertexModelUrl, vertexTarget } from './endpoint.js';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
export const VERTEX_PROVIDER = 'vertex_ai';

type Method = 'rawPredict' | 'streamRawPredict' | 'count-tokens';

export class VertexAnthropicAdapter implements ProviderAdapter {
  readonly name = VERTEX_PROVIDER;
  readonly dialects = ['anthropic-messages'] as const;

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toAnthropicBody({ ...request, stream: false }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const { response, url } = await this.post(call, 'rawPredict', adaptVertexBody(body, call), false);
    return parseAnthropicMessage(parseJsonBody(await readBody(response.body, this.name, url), 'Vertex AI'));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = toAnthropicBody({ ...request, stream: true }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const { response, url } = await this.post(call, 'streamRawPredict', adaptVertexBody(body, call), true);
    return decodeStream(response.body, this.name, url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    const method = options.stream ? 'streamRawPredict' : 'rawPredict';
    const adapted = adaptVertexBody(body, call);
    // Byte edits of the top-level members Vertex demands (model out, anthropic_version in, compat
    // drops); the client's `messages` bytes go up as they came.
    const raw = options.rawBody;
    const payload = (raw === undefined ? undefined : rewriteTopLevel(raw, body, adapted.body)) ?? JSON.stringify(adapted.body);
    const { response, url } = await this.post(call, method, adapted, options.stream, payload);
    const headers = forwardedHeaders(response.headers);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      return anthropicJsonAnswer(response.status, headers, await readBody(response.body, this.name, url), 'Vertex AI');
    }
    return anthropicStreamAnswer(response.status, headers, options.annotateFinalUsage, (inspector, tap) => tapSseStream(response.body, inspector, tap, this.name, url));
  }

  async countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    return this.passthroughCountTokens(toAnthropicBody(request, call.upstreamModel, call.deployment.defaultMaxTokens), call);
  }

  /** Vertex counts at a fixed `count-tokens` model path; the model goes in the body there. */
  async passthroughCountTokens(body: JsonObject, call: UpstreamCall): Promise<number> {
    const { max_tokens: _max, stream: _stream, ...rest } = body;
    const adapted = adaptVertexBody(rest, call, VERTEX_COUNT_TOKENS_RULES);
    const { response, url } = await this.post(call, 'count-tokens', { ...adapted, body: { ...adapted.body, model: call.upstreamModel.replace(/^anthropic\//, '') } }, false);
    const parsed = parseJsonBody(await readBody(response.body, this.name, url), 'Vertex AI');
    return typeof parsed.input_tokens === 'number' ? parsed.input_tokens : 0;
  }

  private async post(call: UpstreamCall, method: Method, request: VertexRequest, stream: boolean, payload?: Buffer | string): Promise<{ response: UpstreamResponse; url: string }> {
    const model = method === 'count-tokens' ? 'count-tokens' : call.upstreamModel;
    const response = await postVertexAnthropic(call, model, method === 'count-tokens' ? 'rawPredict' : method, payload ?? JSON.stringify(request.body), request.betas, stream);
    return { response, url: response.url };
  }
}

/** A Vertex Anthropic body and the betas for its `anthropic-beta` header. */
export interface VertexRequest {
  body: JsonObject;
  betas: string[];
  /** The body differs from the one given. */
  bodyChanged: boolean;
}

/**
 * The Vertex form of an Anthropic body: no `model`, an `anthropic_version` (the client's if it sent
 * one), and only what Vertex accepts (compat.ts); betas come from the client's header.
 */
export function adaptVertexBody(body: JsonObject, call: Pick<UpstreamCall, 'clientHeaders' | 'upstreamModel' | 'deployment'>, rules: ClaudePlatformRules = VERTEX_RAW_PREDICT_RULES): VertexRequest {
  const { model: _model, anthropic_version: version, ...rest } = body;
  const betas = betasOf(call.clientHeaders['anthropic-beta']);
  const adapted = adaptClaudeRequest(rest, betas, { modelId: call.upstreamModel, deploymentId: call.deployment.id }, rules);
  const out = { anthropic_version: typeof version === 'string' ? version : VERTEX_ANTHROPIC_VERSION, ...adapted.body };
  return { body: out, betas: adapted.betas, bodyChanged: adapted.bodyChanged || 'model' in body || typeof version !== 'string' };
}

function betasOf(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return [...new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))];
}

/**
 * POST to `…/publishers/anthropic/models/{model}:{method}` with the deployment's bearer; the betas
 * go in the `anthropic-beta` header, as Vertex takes them. Shared with the native Vertex routes.
 */
export async function postVertexAnthropic(
  call: UpstreamCall,
  model: string,
  method: string,
  payload: string | Buffer,
  betas: readonly string[],
  stream: boolean,
): Promise<UpstreamResponse & { url: string }> {
  const target = await vertexTarget(call.deployment);
  // LiteLLM also accepts `vertex_ai/anthropic/claude-…`; the publisher is in the path already.
  const url = vertexModelUrl(target, 'anthropic', model.replace(/^anthropic\//, ''), method);
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}` };
  if (betas.length > 0) headers['anthropic-beta'] = betas.join(',');
  try {
    const response = await postUpstream(url, headers, payload, call, { provider: VERTEX_PROVIDER, stream, parseError: parseAnthropicError });
    return { ...response, url };
  } catch (err) {
    // Quota and auth errors come from Google's front end in Google's envelope.
    throw noteRejectedToken(refineGoogleError(err, VERTEX_PROVIDER), target);
  }
}

async function* decodeStream(body: ResponseBody, provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new AnthropicStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '') continue;
    const data = tryParseJson(parsed.data);
    if (data !== undefined) yield* decoder.decode(parsed.event, data);
  }
}

