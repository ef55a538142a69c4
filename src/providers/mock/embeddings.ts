/**
 * The mock model's embeddings: deterministic unit vectors from a hash of each text (the same text
 * gives the same vector, so similarity demos behave), 256 dimensions unless `dimensions` asks
 * otherwise, usage from the real tokenizer as for its chat answers.
 */
import { createHash } from 'node:crypto';
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import { estimateTokens, tokenizerReady } from '../shared/token-estimate.js';

export const MOCK_EMBEDDING_DIMENSIONS = 256;

export async function mockEmbeddings(request: EmbeddingRequest, model: string): Promise<EmbeddingResponse> {
  await tokenizerReady();
  const dims = Math.min(request.dimensions ?? MOCK_EMBEDDING_DIMENSIONS, 3072);
  const inputs = request.input.kind === 'text' ? request.input.texts : request.input.tokens.map((ids) => ids.join(' '));
  const tokens = request.input.kind === 'text' ? request.input.texts.reduce((sum, t) => sum + estimateTokens(t), 0) : request.input.tokens.reduce((sum, ids) => sum + ids.length, 0);
  return { model, vectors: inputs.map((text) => vectorOf(text, dims)), usage: { inputUncached: tokens, cacheRead: 0, cacheWriteUnknownTtl: 0, output: 0 } };
}

function vectorOf(text: string, dims: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dims; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dims; i += 2) values.push(digest.readUInt16LE(i) / 32767.5 - 1);
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}
