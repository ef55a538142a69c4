/**
 * Mistral on Vertex AI (`vertex_ai/mistral-large-2411@001`, `vertex_ai/codestral-2501`): Mistral's
 * chat wire — OpenAI-shaped, with the model in the body — at `publishers/mistralai/models/{m}:rawPredict`
 * and `:streamRawPredict`. Mistral refuses OpenAI-only fields (`stream_options`, `user`,
 * `max_completion_tokens`), so every surface is translated, as LiteLLM's MistralConfig maps it
 * (`max_tokens`, `tool_choice: "required"` → `"any"`); a stream carries its usage on the final
 * chunk without being asked.
 */
import { isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { parseGoogleError, refineGoogleError } from '../gemini/errors.js';
import { toOpenAIBody } from '../openai/convert-request.js';
import { OpenAIStreamDecoder, parseOpenAICompletion } from '../openai/parse-response.js';
import { parseJsonBody } from '../shared/json-body.js';
import { sseEvents } from '../shared/sse-stream.js';
import { postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';
import { noteRejectedToken, vertexTarget } from './endpoint.js';
import { mistralModelId, vertexMistralUrl } from './partner-models.js';

export class VertexMistralAdapter implements ProviderAdapter {
  readonly name = 'vertex_ai';

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const { response, url } = await this.post(call, toMistralBody({ ...request, stream: false }, call), false);
    return parseOpenAICompletion(parseJsonBody(await readBody(response.body, this.name, url), 'Vertex AI'));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const { response, url } = await this.post(call, toMistralBody({ ...request, stream: true }, call), true);
    return decodeStream(response.body, this.name, url);
  }

  private async post(call: UpstreamCall, body: JsonObject, stream: boolean): Promise<{ response: UpstreamResponse; url: string }> {
    const target = await vertexTarget(call.deployment);
    const url = vertexMistralUrl(target, call.upstreamModel, stream);
    try {
      const response = await postUpstream(url, { authorization: `Bearer ${target.token}` }, JSON.stringify(body), call, { provider: this.name, stream, parseError: parseGoogleError });
      return { response, url };
    } catch (err) {
      throw noteRejectedToken(refineGoogleError(err, this.name), target);
    }
  }
}

export function toMistralBody(request: CanonicalRequest, call: Pick<UpstreamCall, 'upstreamModel' | 'deployment'>): JsonObject {
  const { max_completion_tokens: max, user: _user, ...body } = toOpenAIBody(request, mistralModelId(call.upstreamModel));
  const maxTokens = max ?? call.deployment.defaultMaxTokens;
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  if (body.tool_choice === 'required') body.tool_choice = 'any';
  return body;
}

async function* decodeStream(body: ResponseBody, provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new OpenAIStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '' || parsed.data === '[DONE]') continue;
    const chunk = tryParseJson(parsed.data);
    if (isObject(chunk)) yield* decoder.decode(chunk);
  }
  yield* decoder.end();
}
