/**
 * Anthropic Messages provider: api.anthropic.com or any Anthropic-compatible `api_base`.
 * Same-dialect requests are passed through with only the model rewritten and tapped for usage.
 */

import { tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { deploymentHeaders, joinUrl, postUpstream, readBody } from '../shared/upstream-http.js';
import { sseEvents } from '../shared/sse-stream.js';
import { tapSseStream } from '../shared/stream-tap.js';
import { parseJsonBody } from '../shared/json-body.js';
import { anthropicJsonAnswer, anthropicStreamAnswer } from './passthrough-answer.js';
import { prependMember, replaceModel } from '../shared/body-rewrite.js';
import type { PassthroughOptions, PassthroughResponse, ProviderAdapter, UpstreamCall } from '../types.js';
import { toAnthropicBody } from './convert-request.js';
import { AnthropicStreamDecoder, parseAnthropicError, parseAnthropicMessage } from './parse-response.js';



const DEFAULT_BASE = 'https://api.anthropic.com';
const DEFAULT_VERSION = '2023-06-01';

export class AnthropicAdapter implements ProviderAdapter {
  readonly name = 'anthropic';
  readonly dialects = ['anthropic-messages'] as const;

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toAnthropicBody({ ...request, stream: false }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const url = this.url(call, '/v1/messages');
    const response = await postUpstream(url, this.headers(call), JSON.stringify(body), call, this.postOptions(false));
    return parseAnthropicMessage(parseJsonBody(await readBody(response.body, this.name, url), 'Anthropic'));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = toAnthropicBody({ ...request, stream: true }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const url = this.url(call, '/v1/messages');
    const response = await postUpstream(url, this.headers(call), JSON.stringify(body), call, this.postOptions(true));
    return decodeStream(response.body, url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    const url = this.url(call, '/v1/messages');
    // litellm_params.max_tokens fills in for a client that sent none (Anthropic requires one).
    const defaultMax = body.max_tokens === undefined ? call.deployment.defaultMaxTokens : undefined;
    const raw = options.rawBody;
    let edited = raw === undefined || body.model === call.upstreamModel ? raw : replaceModel(raw, String(body.model), call.upstreamModel);
    if (edited !== undefined && defaultMax !== undefined) edited = prependMember(edited, 'max_tokens', defaultMax);
    const payload = edited ?? JSON.stringify({ ...body, model: call.upstreamModel, ...(defaultMax === undefined ? {} : { max_tokens: defaultMax }) });
    const response = await postUpstream(url, this.headers(call), payload, call, this.postOptions(options.stream));
    const headers = forwardedHeaders(response.headers);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      return anthropicJsonAnswer(response.status, headers, await readBody(response.body, this.name, url), 'Anthropic');
    }
    return anthropicStreamAnswer(response.status, headers, options.annotateFinalUsage, (inspector, tap) => tapSseStream(response.body, inspector, tap, this.name, url));
  }

  async countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    const body = toAnthropicBody(request, call.upstreamModel, call.deployment.defaultMaxTokens);
    delete body.max_tokens;
    delete body.stream;
    const url = this.url(call, '/v1/messages/count_tokens');
    const response = await postUpstream(url, this.headers(call), JSON.stringify(body), call, this.postOptions(false));
    const parsed = parseJsonBody(await readBody(response.body, this.name, url), 'Anthropic');
    return typeof parsed.input_tokens === 'number' ? parsed.input_tokens : 0;
  }

  async passthroughCountTokens(body: JsonObject, call: UpstreamCall): Promise<number> {
    const { max_tokens: _max, stream: _stream, ...rest } = body;
    const url = this.url(call, '/v1/messages/count_tokens');
    const payload = JSON.stringify({ ...rest, model: call.upstreamModel });
    const response = await postUpstream(url, this.headers(call), payload, call, this.postOptions(false));
    const parsed = parseJsonBody(await readBody(response.body, this.name, url), 'Anthropic');
    return typeof parsed.input_tokens === 'number' ? parsed.input_tokens : 0;
  }

  private url(call: UpstreamCall, path: string): string {
    return joinUrl(call.deployment.apiBase ?? DEFAULT_BASE, path);
  }

  /** Per deployment and per (anthropic-version, anthropic-beta) the client sent: built once, reused. */
  private headers(call: UpstreamCall): Record<string, string> {
    const client = call.clientHeaders;
    const version = typeof client['anthropic-version'] === 'string' ? client['anthropic-version'] : DEFAULT_VERSION;
    const given = client['anthropic-beta'];
    const beta = Array.isArray(given) ? given.join(',') : given;
    const key = call.deployment.apiKey;
    return deploymentHeaders(call.deployment, beta === undefined ? version : `${version}\u0000${beta}`, () => {
      const headers: Record<string, string> = { 'anthropic-version': version };
      if (beta !== undefined) headers['anthropic-beta'] = beta;
      if (key !== undefined) headers['x-api-key'] = key;
      return headers;
    });
  }

  private postOptions(stream: boolean) {
    return { provider: this.name, stream, parseError: parseAnthropicError };
  }
}

async function* decodeStream(body: Parameters<typeof sseEvents>[0], url: string): AsyncGenerator<StreamEvent> {
  const decoder = new AnthropicStreamDecoder();
  for await (const { parsed } of sseEvents(body, 'anthropic', url)) {
    if (parsed === undefined || parsed.data === '') continue;
    const data = tryParseJson(parsed.data);
    if (data === undefined) continue;
    yield* decoder.decode(parsed.event, data);
  }
}


/** Upstream headers worth passing to the client (request ids, Anthropic's own rate-limit view). */
export function forwardedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'request-id' || name.startsWith('anthropic-ratelimit-')) out[`llm_provider-${name}`] = value;
  }
  return out;
}
