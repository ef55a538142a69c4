/**
 * A translated provider's embeddings → OpenAI's answer: `{object: "list", data: [{object:
 * "embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}`. With
 * `encoding_format: "base64"` each vector is the base64 of its little-endian float32 bytes, as
 * OpenAI sends it (the SDKs decode that form by default).
 */
import type { EmbeddingResponse } from '../../core/embeddings.js';
import { totalInput } from '../../core/usage.js';

export function encodeEmbeddingResponse(response: EmbeddingResponse, model: string, encoding: 'float' | 'base64', extraUsage?: Record<string, unknown>): Record<string, unknown> {
  const prompt = totalInput(response.usage) ?? 0;
  return {
    object: 'list',
    data: response.vectors.map((vector, index) => ({ object: 'embedding', index, embedding: encoding === 'base64' ? float32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: prompt, total_tokens: prompt, ...extraUsage },
  };
}

function float32Base64(vector: readonly number[]): string {
  const floats = new Float32Array(vector);
  // Float32Array is in the platform's byte order; every platform Node runs on is little-endian.
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
