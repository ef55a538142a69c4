/**
 * Google's two embedding wires. The Gemini API: `:batchEmbedContents` with one request per text
 * (`{model: "models/{m}", content: {parts: [{text}]}, taskType?, outputDimensionality?}`), answered
 * `{embeddings: [{values}]}` and no usage at all — so the tokens are the tokenizer's estimate (an
 * estimate, not the provider's count: there is none to read). Vertex AI: `:predict` with
 * `{instances: [{content, task_type?, title?}], parameters: {outputDimensionality?}}`, answered
 * `{predictions: [{embeddings: {values, statistics: {token_count}}}]}`, counted by Vertex.
 * `task_type` passes through as the task type. Vertex's gemini-embedding models take one instance
 * per request, so those are sent one text at a time, together.
 */
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import { errors } from '../../core/errors.js';
import { asObject, isObject, type JsonObject } from '../../core/json.js';
import { textsOf } from '../shared/embedding-input.js';
import { estimateTokens, tokenizerReady } from '../shared/token-estimate.js';

export type GoogleEmbedWire = 'batchEmbedContents' | 'predict';

function taskType(request: EmbeddingRequest): string | undefined {
  // Google's own task types only (RETRIEVAL_QUERY, …): Cohere's `input_type` values mean nothing to it.
  const value = request.extra.task_type ?? request.extra.taskType;
  return typeof value === 'string' ? value : undefined;
}

export function googleEmbedBody(wire: GoogleEmbedWire, request: EmbeddingRequest, model: string, provider: string): JsonObject {
  const texts = textsOf(request, provider);
  const task = taskType(request);
  if (wire === 'batchEmbedContents') {
    return {
      requests: texts.map((text) => ({
        model: `models/${model}`,
        content: { parts: [{ text }] },
        ...(task === undefined ? {} : { taskType: task.toUpperCase() }),
        ...(request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }),
      })),
    };
  }
  return {
    instances: texts.map((content) => ({ content, ...(task === undefined ? {} : { task_type: task.toUpperCase() }) })),
    ...(request.dimensions === undefined ? {} : { parameters: { outputDimensionality: request.dimensions } }),
  };
}

export async function parseGoogleEmbeddings(wire: GoogleEmbedWire, body: JsonObject, request: EmbeddingRequest, provider: string): Promise<EmbeddingResponse> {
  const texts = textsOf(request, provider);
  const items = wire === 'batchEmbedContents' ? body.embeddings : body.predictions;
  if (!Array.isArray(items) || items.length !== texts.length) throw errors.badUpstreamAnswer(`${provider} answered ${Array.isArray(items) ? items.length : 'no'} embeddings for ${texts.length} inputs`);
  const vectors = items.map((item) => {
    const values = wire === 'batchEmbedContents' ? asObject(item)?.values : asObject(asObject(item)?.embeddings)?.values;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) throw errors.badUpstreamAnswer(`${provider} answered an embedding without values`);
    return values;
  });
  let tokens: number;
  if (wire === 'predict') {
    tokens = items.reduce((sum: number, item) => {
      const stats = asObject(asObject(asObject(item)?.embeddings)?.statistics);
      return sum + (isObject(stats) && typeof stats.token_count === 'number' ? stats.token_count : 0);
    }, 0);
  } else {
    await tokenizerReady();
    tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0);
  }
  return { model: '', vectors, usage: { inputUncached: tokens, cacheRead: 0, cacheWriteUnknownTtl: 0, output: 0 } };
}

/** The usage of several embedding calls of one request. */
export function sumUsage(usages: readonly EmbeddingResponse['usage'][]): EmbeddingResponse['usage'] {
  return { inputUncached: usages.reduce((sum, u) => sum + (u.inputUncached ?? 0), 0), cacheRead: 0, cacheWriteUnknownTtl: 0, output: 0 };
}
