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

export function optionalNumber(value: unknown, path: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`${path}: expected a number, got ${describe(value)}`, path);
  if (opts.integer === true && !Number.isInteger(value)) throw invalidRequest(`${path}: expected an integer, got ${value}`, path);
  if (opts.min !== undefined && value < opts.min) throw invalidRequest(`${path}: must be at least ${opts.min}, got ${value}`, path);
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
