/**
 * The cheap check every Anthropic Messages body gets before admission, on every path including
 * passthrough: the shape a request on this surface must have, on the object already parsed (no
 * copy, no second parse). Unknown content-block types and top-level fields pass for the provider
 * to judge. Paths name fields as Anthropic's own errors do (`messages.2.content`).
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import {
  at,
  describe,
  requireBody,
  requireContent,
  requireMessages,
  requireObject,
  requireString,
  validateCommonFields,
  validateTools,
  type RequestLimits,
} from '../shared/validate.js';

/** `system` turns are not Anthropic's, but Claude Code sends them and Anthropic-family upstreams take them. */
const ROLES = new Set(['user', 'assistant', 'system']);

export function validateAnthropicRequest(body: unknown, limits: RequestLimits = {}): JsonObject {
  const obj = requireBody(body);
  validateCommonFields(obj, limits);
  validateSystem(obj.system);
  const messages = requireMessages(obj.messages, limits);
  for (let i = 0; i < messages.length; i++) validateMessage(messages[i], at('messages', i, 'dot'));
  validateTools(obj.tools, limits, 'dot');
  return obj;
}

function validateMessage(value: unknown, path: string): void {
  const message = requireObject(value, path);
  const role = message.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw invalidRequest(`${path}.role: expected "user" or "assistant", got ${describe(role)}`, `${path}.role`);
  }
  requireContent(message.content, `${path}.content`, 'dot');
}

/** A string, or an array of text blocks. */
function validateSystem(value: unknown): void {
  if (value === undefined || value === null || typeof value === 'string') return;
  if (!Array.isArray(value)) throw invalidRequest(`system: expected a string or an array of text blocks, got ${describe(value)}`, 'system');
  for (let i = 0; i < value.length; i++) {
    const block = requireObject(value[i], at('system', i, 'dot'));
    if (block.type !== 'text') throw invalidRequest(`system.${i}.type: system blocks must be "text", got ${describe(block.type)}`, `system.${i}.type`);
    requireString(block.text, `system.${i}.text`);
  }
}
