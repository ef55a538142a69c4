/**
 * The cheap check every legacy completions body gets before admission, on every path including
 * passthrough. A prompt may be text or token ids here: token ids are valid for a deployment that
 * speaks `/v1/completions` itself (the decoder refuses them only when it must translate).
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { describe, optionalNumber, requireBody, validateCommonFields, type RequestLimits } from '../shared/validate.js';

export function validateCompletionsRequest(body: unknown, limits: RequestLimits = {}): JsonObject {
  const obj = requireBody(body);
  validateCommonFields(obj, limits);
  optionalNumber(obj.n, 'n', { integer: true, min: 1 });
  validatePrompt(obj.prompt);
  return obj;
}

/** A string, a non-empty list of strings, a list of token ids, or a list of token-id lists. */
function validatePrompt(prompt: unknown): void {
  if (typeof prompt === 'string') return;
  if (prompt === undefined || prompt === null) throw invalidRequest('prompt: a prompt is required (a string or a list of strings)', 'prompt');
  if (!Array.isArray(prompt)) throw invalidRequest(`prompt: expected a string or a list of strings, got ${describe(prompt)}`, 'prompt');
  if (prompt.length === 0) throw invalidRequest('prompt: the list of prompts is empty', 'prompt');
  for (let i = 0; i < prompt.length; i++) {
    const item: unknown = prompt[i];
    if (typeof item === 'string' || isTokenId(item)) continue;
    if (Array.isArray(item) && item.every(isTokenId)) continue;
    throw invalidRequest(`prompt[${i}]: expected a string or token ids, got ${describe(item)}`, `prompt[${i}]`);
  }
}

function isTokenId(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
