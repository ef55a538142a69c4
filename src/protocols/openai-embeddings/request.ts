/**
 * `POST /v1/embeddings` bodies: the shape check run before admission on every path (passthrough
 * included), and the decode into the canonical embedding request for translated providers.
 * `input` is a string, a list of strings, a list of token ids or a list of such lists, never empty
 * (OpenAI refuses an empty string or list too).
 */
import type { EmbeddingInput, EmbeddingRequest } from '../../core/embeddings.js';
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { describe, optionalNumber, optionalString, requireBody, requireBoundedArray, requireNonEmptyString } from '../shared/validate.js';

/** OpenAI's own limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

const KNOWN = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']);

export function validateEmbeddingRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  embeddingInput(obj.input);
  if (obj.encoding_format !== undefined && obj.encoding_format !== null && obj.encoding_format !== 'float' && obj.encoding_format !== 'base64') {
    throw errors.invalidRequest(`encoding_format: expected "float" or "base64", got ${describe(obj.encoding_format)}`, 'encoding_format');
  }
  optionalNumber(obj.dimensions, 'dimensions', { integer: true, min: 1 });
  optionalString(obj.user, 'user');
  return obj;
}

export function decodeEmbeddingRequest(body: JsonObject): EmbeddingRequest {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) extra[key] = value;
  return {
    model: requireNonEmptyString(body.model, 'model'),
    input: embeddingInput(body.input),
    encodingFormat: body.encoding_format === 'base64' ? 'base64' : 'float',
    dimensions: optionalNumber(body.dimensions, 'dimensions', { integer: true, min: 1 }),
    user: optionalString(body.user, 'user'),
    extra,
  };
}

function embeddingInput(value: unknown): EmbeddingInput {
  if (typeof value === 'string') {
    if (value === '') throw errors.invalidRequest("input: must not be empty ('' cannot be embedded)", 'input');
    return { kind: 'text', texts: [value] };
  }
  if (value === undefined || value === null) throw errors.invalidRequest("Missing required parameter: 'input'.", 'input');
  const list = requireBoundedArray(value, 'input', MAX_EMBEDDING_INPUTS, "OpenAI's limit of inputs per request");
  if (list.length === 0) throw errors.invalidRequest('input: at least one input is required', 'input');
  if (list.every((v) => typeof v === 'string')) {
    const at = list.findIndex((v) => v === '');
    if (at !== -1) throw errors.invalidRequest(`input[${at}]: must not be empty`, `input[${at}]`);
    return { kind: 'text', texts: list };
  }
  if (list.every(isTokenId)) return { kind: 'tokens', tokens: [list] };
  if (list.every((v) => Array.isArray(v) && v.length > 0 && v.every(isTokenId))) return { kind: 'tokens', tokens: list as number[][] };
  throw errors.invalidRequest('input: expected a string, an array of strings, an array of token ids or an array of token-id arrays', 'input');
}

function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
