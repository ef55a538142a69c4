/**
 * Model Garden MaaS models (`vertex_ai/meta/llama-…-maas`, `vertex_ai/qwen/…-maas`,
 * `vertex_ai/deepseek-ai/…`, `vertex_ai/openai/gpt-oss-…`) on Vertex's OpenAI-compatible endpoint:
 * the OpenAI chat wire (so the OpenAI surface passes through and is tapped like OpenAI) at
 * `…/endpoints/openapi/chat/completions`, with the deployment's OAuth bearer instead of an API key.
 */
import { refineGoogleError, parseGoogleError } from '../gemini/errors.js';
import { OpenAIAdapter } from '../openai/adapter.js';
import { postUpstream, type UpstreamResponse } from '../shared/upstream-http.js';
import type { Dialect, UpstreamCall } from '../types.js';
import { noteRejectedToken, vertexTarget } from './endpoint.js';
import { vertexOpenApiUrl } from './partner-models.js';

export class VertexOpenAICompatibleAdapter extends OpenAIAdapter {
  /** Vertex's OpenAI-compatible endpoint is chat completions only. */
  override readonly dialects: readonly Dialect[] = ['openai-chat'];

  constructor() {
    super({ name: 'vertex_ai', defaultBase: undefined });
  }

  protected override async post(call: UpstreamCall, body: string | Buffer, stream: boolean): Promise<{ response: UpstreamResponse; url: string }> {
    const target = await vertexTarget(call.deployment);
    const url = vertexOpenApiUrl(target);
    try {
      const response = await postUpstream(url, { authorization: `Bearer ${target.token}` }, body, call, { provider: this.name, stream, parseError: parseGoogleError });
      return { response, url };
    } catch (err) {
      // Vertex answers in Google's envelope (often a one-element array), quota errors included.
      throw noteRejectedToken(refineGoogleError(err, this.name), target);
    }
  }
}
