/**
 * Claude on Vertex AI: `rawPredict` / `streamRawPredict` take an Anthropic Messages body with
 * `anthropic_version: "vertex-2023-10-16"` and no `model` (the model is in the URL), and answer in
 * plain Anthropic format (JSON, SSE). So the Anthropic surface passes through — only `model` and
 * `anthropic_version` are rewritten — and is tapped exactly like the Anthropic provider; other
 * surfaces go through the Anthropic converters.
 */
import { GatewayError } from '../../core/errors.js';
import { isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { forwardedHeaders } from '../anthropic/adapter.js';
import { toAnthropicBody } from '../anthropic/convert-request.js';
import { AnthropicStreamDecoder, parseAnthropicError, parseAnthropicMessage } from '../anthropic/parse-response.js';
import { AnthropicTapInspector } from '../anthropic/tap.js';
import { parseAnthropicUsage } from '../anthropic/usage.js';
import { refineGoogleError } from '../gemini/errors.js';
import { sseEvents } from '../shared/sse-stream.js';
import { tapSseStream } from '../shared/stream-tap.js';
import { postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { PassthroughOptions, PassthroughResponse, ProviderAdapter, StreamTap, UpstreamCall } from '../types.js';
import { noteRejectedToken, vertexModelUrl, vertexTarget } from './endpoint.js';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

type Method = 'rawPredict' | 'streamRawPredict' | 'count-tokens';

export class VertexAnthropicAdapter implements ProviderAdapter {
  readonly name = 'vertex_ai';
  readonly dialect = 'anthropic-messages' as const;

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toAnthropicBody({ ...request, stream: false }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const { response, url } = await this.post(call, 'rawPredict', vertexBody(body), false);
    return parseAnthropicMessage(parseJsonBody(await readBody(response.body, this.name, url)));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = toAnthropicBody({ ...request, stream: true }, call.upstreamModel, call.deployment.defaultMaxTokens);
    const { response, url } = await this.post(call, 'streamRawPredict', vertexBody(body), true);
    return decodeStream(response.body, this.name, url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    const method = options.stream ? 'streamRawPredict' : 'rawPredict';
    const { response, url } = await this.post(call, method, vertexBody(body), options.stream);
    const headers = forwardedHeaders(response.headers);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      const bytes = await readBody(response.body, this.name, url);
      const message = parseJsonBody(bytes);
      return {
        kind: 'json',
        status: response.status,
        headers,
        body: bytes,
        usage: parseAnthropicUsage(message.usage),
        model: typeof message.model === 'string' ? message.model : undefined,
      };
    }
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const inspector = new AnthropicTapInspector(options.annotateFinalUsage);
    return { kind: 'stream', status: response.status, headers, tap, chunks: tapSseStream(response.body, inspector, tap, this.name, url) };
  }

  async countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    return this.passthroughCountTokens(toAnthropicBody(request, call.upstreamModel, call.deployment.defaultMaxTokens), call);
  }

  /** Vertex counts at a fixed `count-tokens` model path; the model goes in the body there. */
  async passthroughCountTokens(body: JsonObject, call: UpstreamCall): Promise<number> {
    const { max_tokens: _max, stream: _stream, ...rest } = body;
    const payload = { ...vertexBody(rest), model: call.upstreamModel };
    const { response, url } = await this.post(call, 'count-tokens', payload, false);
    const parsed = parseJsonBody(await readBody(response.body, this.name, url));
    return typeof parsed.input_tokens === 'number' ? parsed.input_tokens : 0;
  }

  private async post(call: UpstreamCall, method: Method, body: JsonObject, stream: boolean): Promise<{ response: UpstreamResponse; url: string }> {
    const target = await vertexTarget(call.deployment);
    const url =
      method === 'count-tokens'
        ? vertexModelUrl(target, 'anthropic', 'count-tokens', 'rawPredict')
        : vertexModelUrl(target, 'anthropic', call.upstreamModel, method);
    const headers: Record<string, string> = { authorization: `Bearer ${target.token}` };
    // Vertex takes Anthropic betas as the header, like the first-party API.
    const beta = call.clientHeaders['anthropic-beta'];
    if (beta !== undefined) headers['anthropic-beta'] = Array.isArray(beta) ? beta.join(',') : beta;
    try {
      const response = await postUpstream(url, headers, JSON.stringify(body), call, { provider: this.name, stream, parseError: parseAnthropicError });
      return { response, url };
    } catch (err) {
      // Quota and auth errors come from Google's front end in Google's envelope.
      throw noteRejectedToken(refineGoogleError(err, this.name), target);
    }
  }
}

/** The Vertex form of an Anthropic body: no `model`, an `anthropic_version` (the client's if it sent one). */
export function vertexBody(body: JsonObject): JsonObject {
  const { model: _model, anthropic_version: version, ...rest } = body;
  return { anthropic_version: typeof version === 'string' ? version : VERTEX_ANTHROPIC_VERSION, ...rest };
}

async function* decodeStream(body: ResponseBody, provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new AnthropicStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '') continue;
    const data = tryParseJson(parsed.data);
    if (data !== undefined) yield* decoder.decode(parsed.event, data);
  }
}

function parseJsonBody(bytes: Buffer): JsonObject {
  const parsed = tryParseJson(bytes.toString('utf8'));
  if (!isObject(parsed)) {
    throw new GatewayError({ code: 'upstream_error', status: 502, message: 'Vertex AI returned a body that is not JSON', retryable: true });
  }
  return parsed;
}
