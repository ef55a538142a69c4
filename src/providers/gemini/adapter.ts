/**
 * Gemini `generateContent` / `streamGenerateContent?alt=sse` / `countTokens`, behind an endpoint that
 * says where and with which credentials: the Gemini API (an API key, below) or Vertex AI (a bearer
 * token, src/providers/vertex). Gemini speaks neither client dialect, so every call is translated
 * through the canonical model; there is no passthrough.
 */
import { parseJsonBody } from '../shared/json-body.js';
import { errors } from '../../core/errors.js';
import { asNumber, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { sseEvents } from '../shared/sse-stream.js';
import { joinUrl, postUpstream, readBody, type ResponseBody, type UpstreamResponse } from '../shared/upstream-http.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';
import { toGeminiBody } from './convert-request.js';
import { googleEmbedBody, parseGoogleEmbeddings, sumUsage, type GoogleEmbedWire } from './embeddings.js';
import { parseGoogleError, refineGoogleError } from './errors.js';
import { GeminiStreamDecoder, parseGeminiResponse } from './parse-response.js';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens' | GoogleEmbedWire;

export interface GeminiTarget {
  url: string;
  headers: Record<string, string>;
  /** Sees the call's upstream error first (Vertex drops a token it answered 401 to). */
  onError?: ((error: unknown) => void) | undefined;
}

/** Where a Gemini model is reached, and how `countTokens` wants its body. */
export interface GeminiEndpoint {
  /** URL (without the `alt=sse` query, added here) and auth headers for one method of the call's model. */
  resolve(call: UpstreamCall, method: GeminiMethod): Promise<GeminiTarget>;
  countTokensBody(body: JsonObject, model: string): JsonObject;
  /** Which embedding wire the host serves (gemini-embeddings.ts). */
  embedWire: GoogleEmbedWire;
}

export class GeminiAdapter implements ProviderAdapter {
  constructor(
    readonly name: string,
    private readonly endpoint: GeminiEndpoint,
  ) {}

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const { response, url } = await this.post(call, 'generateContent', toGeminiBody(request, { model: modelId(call) }), false);
    return parseGeminiResponse(parseJsonBody(await readBody(response.body, this.name, url), this.name), this.name);
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const { response, url } = await this.post(call, 'streamGenerateContent', toGeminiBody(request, { model: modelId(call) }), true);
    return decodeStream(response.body, this.name, url);
  }

  async countTokens(request: CanonicalRequest, call: UpstreamCall): Promise<number> {
    const model = modelId(call);
    const body = this.endpoint.countTokensBody(toGeminiBody(request, { model }), model);
    const { response, url } = await this.post(call, 'countTokens', body, false);
    const parsed = parseJsonBody(await readBody(response.body, this.name, url), this.name);
    return asNumber(parsed.totalTokens) ?? 0;
  }

  async embed(request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse> {
    const wire = this.endpoint.embedWire;
    const one = async (part: EmbeddingRequest): Promise<EmbeddingResponse> => {
      const { response, url } = await this.post(call, wire, googleEmbedBody(wire, part, modelId(call), this.name), false);
      return parseGoogleEmbeddings(wire, parseJsonBody(await readBody(response.body, this.name, url), this.name), part, this.name);
    };
    if (wire !== 'predict' || !modelId(call).startsWith('gemini-embedding') || request.input.kind !== 'text') return one(request);
    const parts = await Promise.all(request.input.texts.map((text) => one({ ...request, input: { kind: 'text', texts: [text] } })));
    return { model: '', vectors: parts.flatMap((p) => p.vectors), usage: sumUsage(parts.map((p) => p.usage)) };
  }

  private async post(call: UpstreamCall, method: GeminiMethod, body: JsonObject, stream: boolean): Promise<{ response: UpstreamResponse; url: string }> {
    const target = await this.endpoint.resolve(call, method);
    const url = stream ? `${target.url}?alt=sse` : target.url;
    try {
      const response = await postUpstream(url, target.headers, JSON.stringify(body), call, { provider: this.name, stream, parseError: parseGoogleError });
      return { response, url };
    } catch (err) {
      const refined = refineGoogleError(err, this.name);
      target.onError?.(refined);
      throw refined;
    }
  }
}

/** The model id as the URL wants it (`models/gemini-…` is accepted from configs too). */
export function modelId(call: UpstreamCall): string {
  return call.upstreamModel.replace(/^models\//, '');
}

async function* decodeStream(body: ResponseBody, provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new GeminiStreamDecoder(provider);
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '') continue;
    const chunk = tryParseJson(parsed.data);
    if (isObject(chunk)) yield* decoder.decode(chunk);
  }
  yield* decoder.end();
}


const GEMINI_API_BASE = 'https://generativelanguage.googleapis.com';

/** The Gemini API (AI Studio): `x-goog-api-key`, from `api_key` or GEMINI_API_KEY / GOOGLE_API_KEY. */
export const geminiApiEndpoint: GeminiEndpoint = {
  resolve(call, method) {
    const key = call.deployment.apiKey ?? process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
    if (key === undefined || key === '') {
      return Promise.reject(
        errors.misconfigured(`Deployment ${call.deployment.id} (gemini) has no API key: set api_key or GEMINI_API_KEY`),
      );
    }
    const url = joinUrl(call.deployment.apiBase ?? GEMINI_API_BASE, `/v1beta/models/${modelId(call)}:${method}`);
    return Promise.resolve({ url, headers: { 'x-goog-api-key': key } });
  },
  // The Gemini API counts a full request (system instruction, tools) only in this wrapped form.
  countTokensBody(body, model) {
    const { generationConfig: _config, toolConfig: _toolConfig, ...rest } = body;
    return { generateContentRequest: { model: `models/${model}`, ...rest } };
  },
  embedWire: 'batchEmbedContents',
};
