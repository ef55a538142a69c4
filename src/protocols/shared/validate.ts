/** Small checks that turn a malformed client body into a 400 naming the field. */
import { invalidRequest } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import type { CacheControl } from '../../core/request.js';

export function requireObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw invalidRequest(`${path}: expected an object, got ${describe(value)}`, path);
  return value;
}

export function requireArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw invalidRequest(`${path}: expected an array, got ${describe(value)}`, path);
  return value;
}

export function requireString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidRequest(`${path}: expected a string, got ${describe(value)}`, path);
  return value;
}

export function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : requireString(value, path);
}

export function optionalNumber(value: unknown, path: string, opts: { integer?: boolean; min?: number; max?: number | undefined } = {}): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`${path}: expected a number, got ${describe(value)}`, path);
  if (opts.integer === true && !Number.isInteger(value)) throw invalidRequest(`${path}: expected an integer, got ${value}`, path);
  if (opts.min !== undefined && value < opts.min) throw invalidRequest(`${path}: must be at least ${opts.min}, got ${value}`, path);
  if (opts.max !== undefined && value > opts.max) throw invalidRequest(`${path}: must be at most ${opts.max}, got ${value}`, path);
  return value;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidRequest(`${path}: expected true or false, got ${describe(value)}`, path);
  return value;
}

/** `{"type":"ephemeral","ttl":"5m"|"1h"}` on any content block (Anthropic, and LiteLLM's OpenAI extension). */
export function parseCacheControl(value: unknown, path: string): CacheControl | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = requireObject(value, path);
  if (obj.type !== 'ephemeral') throw invalidRequest(`${path}.type: expected "ephemeral", got ${describe(obj.type)}`, `${path}.type`);
  if (obj.ttl === undefined) return { type: 'ephemeral' };
  if (obj.ttl !== '5m' && obj.ttl !== '1h') throw invalidRequest(`${path}.ttl: expected "5m" or "1h", got ${describe(obj.ttl)}`, `${path}.ttl`);
  return { type: 'ephemeral', ttl: obj.ttl };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/** Parse a data: URL into media type and base64 payload. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { mediaType: match[1], data: match[2] };
}

export function requireNonEmptyString(value: unknown, path: string): string {
  const text = requireString(value, path);
  if (text === '') throw invalidRequest(`${path}: must not be empty`, path);
  return text;
}

/** An array of at most `limit` entries (a limit that protects the process, not a provider rule). */
export function requireBoundedArray(value: unknown, path: string, limit: number, setting: string): unknown[] {
  const list = requireArray(value, path);
  if (list.length > limit) throw invalidRequest(`${path}: ${list.length} entries is more than the gateway's limit of ${limit} (${setting})`, path);
  return list;
}

/**
 * Message content as every surface shapes it: a string, or an array of objects each with a string
 * `type`. Which types exist is the provider's business, so an unknown one passes.
 */
export function requireContent(value: unknown, path: string, style: PathStyle): void {
  if (typeof value === 'string') return;
  if (value === undefined) throw invalidRequest(`${path}: content is required`, path);
  if (!Array.isArray(value)) throw invalidRequest(`${path}: expected a string or an array of content blocks, got ${describe(value)}`, path);
  for (let i = 0; i < value.length; i++) requireTyped(value[i], at(path, i, style));
}

/** An object whose `type` is a string: a content block, a system block, a tool. */
export function requireTyped(value: unknown, path: string): JsonObject {
  const obj = requireObject(value, path);
  if (typeof obj.type !== 'string') throw invalidRequest(`${path}.type: expected a string, got ${describe(obj.type)}`, `${path}.type`);
  return obj;
}

/**
 * OpenAI paths index with brackets (`messages[2].content`), Anthropic's with dots
 * (`messages.2.content`, as its own API names them in its errors).
 */
export type PathStyle = 'bracket' | 'dot';

export function at(path: string, i: number, style: PathStyle): string {
  return style === 'bracket' ? `${path}[${i}]` : `${path}.${i}`;
}

/** Limits a surface validator applies; each is optional and falls back to the gateway default. */
export interface RequestLimits {
  /** The model's output limit (`model_info.max_output_tokens`), when the operator configured one. */
  maxOutputTokens?: number | undefined;
  /** Most entries `messages` may hold (`general_settings.max_request_messages`). */
  maxMessages?: number | undefined;
  /** Most entries `tools` may hold (`general_settings.max_request_tools`). */
  maxTools?: number | undefined;
}

/**
 * Claude Code sends hundreds of messages in a long session before it compacts, and dozens to
 * hundreds of tools with several MCP servers; the defaults sit an order of magnitude above that so
 * they only ever stop a body built to hurt the process.
 */
export const DEFAULT_MAX_MESSAGES = 10_000;
export const DEFAULT_MAX_TOOLS = 1_000;
/** No provider takes a token count past int32; beyond it a number is a mistake whatever the model. */
export const MAX_TOKENS_CEILING = 2_147_483_647;

/** The body must be a JSON object; returns it narrowed. */
export function requireBody(body: unknown): JsonObject {
  if (!isObject(body)) throw invalidRequest(`The request body must be a JSON object, got ${describe(body)}`, 'body');
  return body;
}

/** Fields every generation surface shares, with the same meaning on each. */
export function validateCommonFields(body: JsonObject, limits: RequestLimits, tokenFields: readonly string[] = ['max_tokens']): void {
  requireNonEmptyString(body.model, 'model');
  optionalBoolean(body.stream, 'stream');
  optionalNumber(body.temperature, 'temperature');
  optionalNumber(body.top_p, 'top_p');
  const max = limits.maxOutputTokens ?? MAX_TOKENS_CEILING;
  for (const field of tokenFields) optionalNumber(body[field], field, { integer: true, min: 1, max });
}

/** A field that is there: neither absent nor JSON null (OpenAI treats the two alike). */
export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** `tools`: an array of objects, within the gateway's limit; what each declares is the provider's business. */
export function validateTools(value: unknown, limits: RequestLimits, style: PathStyle): void {
  if (value === undefined || value === null) return;
  const tools = requireBoundedArray(value, 'tools', limits.maxTools ?? DEFAULT_MAX_TOOLS, 'general_settings.max_request_tools');
  for (let i = 0; i < tools.length; i++) requireObject(tools[i], at('tools', i, style));
}

/** `messages`: a non-empty array within the gateway's limit. */
export function requireMessages(value: unknown, limits: RequestLimits): unknown[] {
  if (value === undefined) throw invalidRequest('messages: a list of messages is required', 'messages');
  const messages = requireBoundedArray(value, 'messages', limits.maxMessages ?? DEFAULT_MAX_MESSAGES, 'general_settings.max_request_messages');
  if (messages.length === 0) throw invalidRequest('messages: at least one message is required', 'messages');
  return messages;
}
