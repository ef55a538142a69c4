/**
 * `text-completion-openai/…`: OpenAI's legacy `POST {api_base}/completions` (gpt-3.5-turbo-instruct,
 * davinci-002, and every OpenAI-compatible server that still serves it: vLLM, llama.cpp, TGI).
 * Clients of `/v1/completions` pass through (model swapped, `stream_options.include_usage` added for
 * metering and its chunk dropped again when the client did not ask); chat and Anthropic clients are
 * translated (the conversation becomes one prompt).
 */
import { errors } from '../../core/errors.js';
import { asObject, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { forwardedHeaders } from '../openai/adapter.js';
import { parseOpenAIError } from '../openai/parse-response.js';
import { parseOpenAIUsage } from '../openai/usage.js';
import { prependMember, replaceModel } from '../shared/body-rewrite.js';
import { parseJsonBody } from '../shared/json-body.js';
import { sseEvents } from '../shared/sse-stream.js';
import { tapSseStream } from '../shared/stream-tap.js';
import { joinUrl, postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { PassthroughOptions, PassthroughResponse, ProviderAdapter, StreamTap, UpstreamCall } from '../types.js';
import { parseTextCompletion, TextCompletionStreamDecoder, toCompletionsBody } from './convert.js';
import { TextCompletionTapInspector } from './tap.js';

export const TEXT_COMPLETION_PROVIDER = 'text-completion-openai';

export class TextCompletionAdapter implements ProviderAdapter {
  readonly name = TEXT_COMPLETION_PROVIDER;
  readonly dialects = ['openai-completions'] as const;

  constructor(private readonly defaultBase: string = 'https://api.openai.com/v1') {}

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toCompletionsBody({ ...request, stream: false }, call.upstreamModel);
    const { response, url } = await this.post(call, JSON.stringify(withDefaultMax(body, call)), false);
    return parseTextCompletion(parseJsonBody(await readBody(response.body, this.name, url), 'Upstream'));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = { ...withDefaultMax(toCompletionsBody({ ...request, stream: true }, call.upstreamModel), call), stream_options: { include_usage: true } };
    const { response, url } = await this.post(call, JSON.stringify(body), true);
    return decodeStream(response.body, this.name, url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    const needsUsage = options.stream && asObject(body.stream_options)?.include_usage !== true;
    const payload = passthroughPayload(body, call, needsUsage, options.rawBody);
    const { response, url } = await this.post(call, payload, options.stream);
    const headers = forwardedHeaders(response.headers);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      const bytes = await readBody(response.body, this.name, url);
      const completion = parseJsonBody(bytes, 'Upstream');
      return {
        kind: 'json',
        status: response.status,
        headers,
        body: bytes,
        usage: parseOpenAIUsage(completion.usage),
        model: typeof completion.model === 'string' ? completion.model : undefined,
      };
    }
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const inspector = new TextCompletionTapInspector(!needsUsage, options.annotateFinalUsage);
    return { kind: 'stream', status: response.status, headers, tap, chunks: tapSseStream(response.body, inspector, tap, this.name, url) };
  }

  private async post(call: UpstreamCall, body: string | Buffer, stream: boolean): Promise<{ response: UpstreamResponse; url: string }> {
    const base = call.deployment.apiBase ?? this.defaultBase;
    if (base === '') {
      throw errors.misconfigured(`Deployment ${call.deployment.id} (${this.name}) has no api_base configured`);
    }
    const url = joinUrl(base, '/completions');
    const headers: Record<string, string> = call.deployment.apiKey === undefined ? {} : { authorization: `Bearer ${call.deployment.apiKey}` };
    const response = await postUpstream(url, headers, body, call, { provider: this.name, stream, parseError: parseOpenAIError });
    return { response, url };
  }
}

/** litellm_params.max_tokens applies when the client set no limit of its own. */
function withDefaultMax(body: JsonObject, call: UpstreamCall): JsonObject {
  const max = call.deployment.defaultMaxTokens;
  return body.max_tokens === undefined && max !== undefined ? { ...body, max_tokens: max } : body;
}

/** The client's bytes with the model swapped (and include_usage added), edited in place when safe. */
function passthroughPayload(body: JsonObject, call: UpstreamCall, needsUsage: boolean, raw: Buffer | undefined): Buffer | string {
  const model = call.upstreamModel;
  const defaultMax = body.max_tokens === undefined ? call.deployment.defaultMaxTokens : undefined;
  let bytes = raw;
  if (bytes !== undefined && body.model !== model) bytes = typeof body.model === 'string' ? replaceModel(bytes, body.model, model) : undefined;
  if (bytes !== undefined && needsUsage) bytes = body.stream_options === undefined ? prependMember(bytes, 'stream_options', { include_usage: true }) : undefined;
  if (bytes !== undefined && defaultMax !== undefined) bytes = prependMember(bytes, 'max_tokens', defaultMax);
  if (bytes !== undefined) return bytes;
  return JSON.stringify({
    ...body,
    model,
    ...(needsUsage ? { stream_options: { ...asObject(body.stream_options), include_usage: true } } : {}),
    ...(defaultMax === undefined ? {} : { max_tokens: defaultMax }),
  });
}

async function* decodeStream(body: ResponseBody, provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new TextCompletionStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '' || parsed.data === '[DONE]') continue;
    const chunk = tryParseJson(parsed.data);
    if (!isObject(chunk)) continue;
    if (isObject(chunk.error)) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'Upstream stream error';
      yield { type: 'error', error: errors.streamError(message) };
      return;
    }
    yield* decoder.decode(chunk);
  }
  yield* decoder.end();
}
