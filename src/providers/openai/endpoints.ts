/**
 * OpenAI's single-answer endpoints beside chat — moderations, image generation, audio transcription
 * and speech — and the rerank of OpenAI-compatible servers (vLLM, Together), on their wire: which
 * path each dialect goes to, and what of each answer is metered. The bytes pass through; only a
 * server's rerank answer is put in LiteLLM's (Cohere's) shape, as LiteLLM's hosted_vllm config does.
 */
import { randomUUID } from 'node:crypto';
import { asArray, asNumber, asObject, asString, isObject, type JsonObject } from '../../core/json.js';
import type { EndpointUnits } from '../../core/endpoint-units.js';
import { tokenCount, type Usage } from '../../core/usage.js';
import { parseJsonBody } from '../shared/json-body.js';
import { scanTailUsage } from '../shared/json-scan.js';
import type { Dialect } from '../types.js';

/** The endpoints of an OpenAI-family upstream. */
export type OpenAIEndpoint = 'chat' | 'responses' | 'embeddings' | 'moderations' | 'images' | 'audio-transcriptions' | 'audio-speech' | 'rerank';

/** The endpoint each single-answer dialect is forwarded to. */
export const ENDPOINT_OF: Partial<Record<Dialect, OpenAIEndpoint>> = {
  'openai-moderations': 'moderations',
  'openai-images': 'images',
  'openai-audio-transcriptions': 'audio-transcriptions',
  'openai-audio-speech': 'audio-speech',
  rerank: 'rerank',
};

/** The path below `api_base` (OpenAI's, vLLM's: `/v1` is part of the base). */
export const ENDPOINT_PATHS: Record<OpenAIEndpoint, string> = {
  chat: '/chat/completions',
  responses: '/responses',
  embeddings: '/embeddings',
  moderations: '/moderations',
  images: '/images/generations',
  'audio-transcriptions': '/audio/transcriptions',
  'audio-speech': '/audio/speech',
  // LiteLLM's hosted_vllm rerank: `{api_base}/rerank`.
  rerank: '/rerank',
};

/** Every OpenAI-shaped server: the endpoints it is asked for as OpenAI would be (a server without one answers 404 itself). */
export const OPENAI_ENDPOINT_DIALECTS: readonly Dialect[] = ['openai-moderations', 'openai-images', 'openai-audio-transcriptions', 'openai-audio-speech'];

/** Providers whose servers answer Cohere-shaped `/rerank` (LiteLLM's hosted_vllm and together_ai rerank configs). */
export const RERANK_SERVERS: ReadonlySet<string> = new Set(['hosted_vllm', 'vllm', 'openai_like', 'custom_openai', 'together_ai']);

export interface MeteredAnswer {
  body: Buffer;
  usage: Usage;
  units?: EndpointUnits | undefined;
}

/** What a JSON answer of `endpoint` is metered on; the bytes stay the upstream's but for a server's rerank. */
export function meterAnswer(endpoint: OpenAIEndpoint, bytes: Buffer): MeteredAnswer {
  switch (endpoint) {
    case 'moderations':
      // A moderation has no tokens: zero by definition (its price, if any, is per request).
      return { body: bytes, usage: { inputUncached: 0, output: 0 } };
    case 'images':
      // gpt-image-1 reports tokens after the images (megabytes of base64): read from the tail. DALL·E reports none.
      return { body: bytes, usage: tokenUsage(scanTailUsage(bytes) ?? (bytes.includes('"usage"') ? parseJsonBody(bytes, 'Upstream').usage : undefined)) };
    case 'audio-transcriptions':
      return transcriptionUsage(bytes);
    case 'rerank':
      return litellmRerank(parseJsonBody(bytes, 'Upstream'));
    default:
      return { body: bytes, usage: {} };
  }
}

/** `{input_tokens, output_tokens}` (gpt-image-1, gpt-4o-transcribe); unknown when absent. */
function tokenUsage(wire: unknown): Usage {
  const usage = asObject(wire);
  const input = tokenCount(usage?.input_tokens);
  if (usage === undefined || input === undefined) return {};
  return { inputUncached: input, output: tokenCount(usage.output_tokens), raw: wire };
}

/**
 * gpt-4o-transcribe: `usage: {type: "tokens", input_tokens, output_tokens}`; whisper-1:
 * `usage: {type: "duration", seconds}`, or `duration` in a verbose_json answer. A transcript is
 * text, small enough to parse whole.
 */
function transcriptionUsage(bytes: Buffer): MeteredAnswer {
  const answer = parseJsonBody(bytes, 'Upstream');
  const usage = asObject(answer.usage);
  const seconds = asString(usage?.type) === 'duration' ? asNumber(usage?.seconds) : asNumber(answer.duration);
  return { body: bytes, usage: tokenUsage(usage), units: seconds === undefined ? undefined : { seconds } };
}

/**
 * LiteLLM's rerank answer from a server's (hosted_vllm `_transform_response`): `id`, `results`
 * (`index`, `relevance_score`, `document.text` when returned), and `meta` with the tokens from
 * the server's `meta` or `usage.total_tokens`.
 */
function litellmRerank(answer: JsonObject): MeteredAnswer {
  const meta = asObject(answer.meta);
  const billed = asObject(meta?.billed_units);
  const tokens = tokenCount(asObject(meta?.tokens)?.input_tokens) ?? tokenCount(billed?.total_tokens) ?? tokenCount(asObject(answer.usage)?.total_tokens);
  const results = (asArray(answer.results) ?? []).filter(isObject).map((r) => {
    const document = asObject(r.document);
    return { index: r.index, relevance_score: r.relevance_score, ...(document === undefined ? {} : { document: { text: typeof document.text === 'string' ? document.text : '' } }) };
  });
  const body = {
    id: typeof answer.id === 'string' && answer.id !== '' ? answer.id : randomUUID(),
    results,
    meta: { billed_units: { total_tokens: tokens ?? 0 }, tokens: { input_tokens: tokens ?? 0 } },
  };
  const searchUnits = tokenCount(billed?.search_units);
  return {
    body: Buffer.from(JSON.stringify(body)),
    // Rerank writes nothing: output is 0 by definition.
    usage: tokens === undefined ? {} : { inputUncached: tokens, output: 0, raw: answer.usage ?? answer.meta },
    units: searchUnits === undefined ? undefined : { searchUnits },
  };
}
