/**
 * Cohere chat (`cohere/command-…`) over Cohere's v2 chat API, `POST {api_base}/v2/chat`, bearer
 * `api_key` (or COHERE_API_KEY / CO_API_KEY). No client speaks Cohere's chat dialect, so every
 * chat surface is translated, streaming included. Rerank is Cohere's own wire (LiteLLM's `/rerank`
 * takes it as it is): the client's bytes go to `/v2/rerank` with the model rewritten, and the
 * answer comes back as Cohere sent it, metered on `meta.billed_units.search_units`.
 */
import { errors } from '../../core/errors.js';
import { asObject, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import { tokenCount } from '../../core/usage.js';
import { jsonPayload } from '../shared/endpoint-body.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { parseJsonBody } from '../shared/json-body.js';
import { sseEvents } from '../shared/sse-stream.js';
import { joinUrl, postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { Dialect, PassthroughOptions, PassthroughResponse, ProviderAdapter, UpstreamCall } from '../types.js';
import { toCohereBody } from './convert-request.js';
import { CohereStreamDecoder, parseCohereChat, parseCohereError } from './parse-response.js';

export const COHERE_DEFAULT_BASE = 'https://api.cohere.com';

export class CohereAdapter implements ProviderAdapter {
  readonly name = 'cohere';
  readonly dialects: readonly Dialect[] = ['rerank'];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toCohereBody({ ...request, stream: false, maxTokens: request.maxTokens ?? call.deployment.defaultMaxTokens }, call.upstreamModel);
    const { response, url } = await this.post(call, JSON.stringify(body), false);
    const parsed = parseCohereChat(parseJsonBody(await readBody(response.body, this.name, url), 'Cohere'));
    return { ...parsed, model: call.upstreamModel };
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = toCohereBody({ ...request, stream: true, maxTokens: request.maxTokens ?? call.deployment.defaultMaxTokens }, call.upstreamModel);
    const { response, url } = await this.post(call, JSON.stringify(body), true);
    return decodeStream(response.body, this.name, url, call.upstreamModel);
  }

  /** Rerank (the only dialect Cohere takes verbatim). */
  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    if (options.dialect !== 'rerank') throw errors.internal(`Cohere takes no ${options.dialect ?? 'chat'} body verbatim`);
    const { response, url } = await this.post(call, jsonPayload(body, call.upstreamModel, options.rawBody).body, false, cohereRerankUrl);
    const bytes = await readBody(response.body, this.name, url);
    const meta = asObject(parseJsonBody(bytes, 'Cohere').meta);
    const searchUnits = tokenCount(asObject(meta?.billed_units)?.search_units);
    // Cohere's rerank reports search units, not tokens: the tokens stay unknown.
    return { kind: 'json', status: response.status, headers: {}, body: bytes, usage: { raw: meta }, units: searchUnits === undefined ? undefined : { searchUnits } };
  }

  private async post(call: UpstreamCall, body: string | Buffer, stream: boolean, urlOf: (base: string) => string = cohereChatUrl): Promise<{ response: UpstreamResponse; url: string }> {
    const url = urlOf(call.deployment.apiBase ?? this.env.COHERE_API_BASE ?? COHERE_DEFAULT_BASE);
    const key = call.deployment.apiKey ?? this.env.COHERE_API_KEY ?? this.env.CO_API_KEY;
    if (key === undefined || key === '') {
      throw errors.misconfigured(`Deployment ${call.deployment.id} (cohere) has no api_key: set api_key or COHERE_API_KEY`);
    }
    const headers = { authorization: `bearer ${key}`, accept: stream ? 'text/event-stream' : 'application/json' };
    const response = await postUpstream(url, headers, body, call, { provider: this.name, stream, parseError: parseCohereError });
    return { response, url };
  }
}

/** `api_base` may be the host (`https://api.cohere.com`) or the full chat URL, as LiteLLM takes it. */
export function cohereChatUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (/\/chat$/.test(trimmed)) return trimmed;
  return joinUrl(trimmed.replace(/\/v[12]$/, ''), '/v2/chat');
}

/** LiteLLM's CohereRerankV2Config URL: `{api_base}/v2/rerank`, the host alone or already the full URL. */
export function cohereRerankUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (/\/rerank$/.test(trimmed)) return trimmed;
  return joinUrl(trimmed.replace(/\/v[12]$/, ''), '/v2/rerank');
}

async function* decodeStream(body: ResponseBody, provider: string, url: string, model: string): AsyncGenerator<StreamEvent> {
  const decoder = new CohereStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '' || parsed.data === '[DONE]') continue;
    const event = tryParseJson(parsed.data);
    if (!isObject(event)) continue;
    for (const out of decoder.decode(event)) yield out.type === 'start' ? { ...out, model } : out;
  }
}
