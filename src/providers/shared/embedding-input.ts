/** The texts of an embedding request for a provider that embeds text only (token ids are OpenAI's). */
import type { EmbeddingRequest } from '../../core/embeddings.js';
import { errors } from '../../core/errors.js';

export function textsOf(request: EmbeddingRequest, provider: string): string[] {
  if (request.input.kind === 'text') return request.input.texts;
  throw errors.invalidRequest(`input: ${provider} embeds text; token ids are only for OpenAI-shaped deployments`, 'input');
}
