/**
 * Anthropic Messages body → Claude-on-Bedrock InvokeModel body. Bedrock takes the Messages body
 * with three differences: the model is in the URL (a `model` field is rejected), streaming is the
 * URL too (`stream` is rejected), and the API version and betas travel in the body
 * (`anthropic_version: "bedrock-2023-05-31"`, `anthropic_beta: [...]`) instead of headers.
 * Every other field is kept as the client sent it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from '../../core/json.js';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Beta names from `anthropic-beta` header values (comma-separated, possibly repeated). */
export function betasFromHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function toBedrockAnthropicBody(body: JsonObject, clientHeaders: IncomingHttpHeaders): JsonObject {
  const { model: _model, stream: _stream, anthropic_version: _version, ...rest } = body;
  const given = rest.anthropic_beta;
  const existing = Array.isArray(given) ? given.filter((b): b is string => typeof b === 'string') : betasFromHeader(typeof given === 'string' ? given : undefined);
  const betas = [...new Set([...existing, ...betasFromHeader(clientHeaders['anthropic-beta'])])];
  const out: JsonObject = { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...rest };
  if (betas.length > 0) out.anthropic_beta = betas;
  else delete out.anthropic_beta;
  return out;
}
