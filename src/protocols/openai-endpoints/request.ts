/**
 * The shape checks of OpenAI's moderations, images, audio bodies and of LiteLLM's (Cohere's) rerank,
 * run before admission on every path: what the gateway itself needs (`model`, and what each
 * endpoint cannot do without) is a 400 naming the field; everything else is the provider's to
 * judge. And the units LiteLLM prices that the request alone tells (images, pixels, characters).
 */
import type { EndpointUnits } from '../../core/endpoint-units.js';
import { errors } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import { describe, optionalNumber, optionalString, requireBody, requireBoundedArray, requireNonEmptyString } from '../shared/validate.js';

/** A bound on moderation inputs and rerank documents that protects the process (Cohere advises at most 1 000 documents). */
export const MAX_LIST_ENTRIES = 10_000;
/** OpenAI's own limit on `n`. */
export const MAX_IMAGES = 10;

export function validateModerationRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  const input = obj.input;
  if (input === undefined || input === null) throw errors.invalidRequest("Missing required parameter: 'input'.", 'input');
  if (typeof input === 'string') return obj;
  const list = requireBoundedArray(input, 'input', MAX_LIST_ENTRIES, 'the gateway bound on inputs');
  if (list.length === 0) throw errors.invalidRequest('input: at least one input is required', 'input');
  list.forEach((item, i) => {
    if (typeof item !== 'string' && !(isObject(item) && typeof item.type === 'string')) {
      throw errors.invalidRequest(`input[${i}]: expected a string or an object with a type, got ${describe(item)}`, `input[${i}]`);
    }
  });
  return obj;
}

export function validateImageRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  requireNonEmptyString(obj.prompt, 'prompt');
  optionalNumber(obj.n, 'n', { integer: true, min: 1, max: MAX_IMAGES });
  optionalString(obj.size, 'size');
  return obj;
}

/** A transcription form: `model` a text field, `file` a file part (body.ts reads the form). */
export function validateTranscriptionRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  if (obj.file === undefined) throw errors.invalidRequest("Missing required parameter: 'file'.", 'file');
  if (!isObject(obj.file) || typeof obj.file.filename !== 'string') {
    throw errors.invalidRequest('file: expected a file upload (a multipart/form-data part with a filename)', 'file');
  }
  return obj;
}

export function validateSpeechRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  requireNonEmptyString(obj.input, 'input');
  if (obj.voice === undefined || obj.voice === null) throw errors.invalidRequest("Missing required parameter: 'voice'.", 'voice');
  return obj;
}

export function validateRerankRequest(body: unknown): JsonObject {
  const obj = requireBody(body);
  requireNonEmptyString(obj.model, 'model');
  requireNonEmptyString(obj.query, 'query');
  if (obj.documents === undefined) throw errors.invalidRequest("Missing required parameter: 'documents'.", 'documents');
  const documents = requireBoundedArray(obj.documents, 'documents', MAX_LIST_ENTRIES, 'the gateway bound on documents');
  if (documents.length === 0) throw errors.invalidRequest('documents: at least one document is required', 'documents');
  documents.forEach((doc, i) => {
    if (typeof doc !== 'string' && !isObject(doc)) throw errors.invalidRequest(`documents[${i}]: expected a string or an object, got ${describe(doc)}`, `documents[${i}]`);
  });
  optionalNumber(obj.top_n, 'top_n', { integer: true, min: 1 });
  return obj;
}

/** Images asked for (`n`, default 1) and their pixels (`size` as `WxH`; `auto` and the like: unknown). */
export function imageUnits(body: JsonObject): EndpointUnits {
  const size = typeof body.size === 'string' ? /^(\d+)x(\d+)$/.exec(body.size) : null;
  return { images: typeof body.n === 'number' ? body.n : 1, pixelsPerImage: size === null ? undefined : Number(size[1]) * Number(size[2]) };
}

/** Characters to speak, counted as LiteLLM does (`len(input)`: code points). */
export function speechUnits(body: JsonObject): EndpointUnits {
  return { characters: typeof body.input === 'string' ? [...body.input].length : undefined };
}
