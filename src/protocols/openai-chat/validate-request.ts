/**
 * The cheap check every OpenAI chat body gets before admission, on every path including
 * passthrough: the shape a request on this surface must have, on the object already parsed (no
 * copy, no second parse). What only the provider interprets — unknown content-part types, unknown
 * top-level fields, sampling values within type — passes for the provider to judge.
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import {
  at,
  describe,
  optionalNumber,
  present,
  requireBody,
  requireContent,
  requireMessages,
  requireObject,
  validateCommonFields,
  validateTools,
  type RequestLimits,
} from '../shared/validate.js';

const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens'];
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

export function validateOpenAIChatRequest(body: unknown, limits: RequestLimits = {}): JsonObject {
  const obj = requireBody(body);
  validateCommonFields(obj, limits, TOKEN_FIELDS);
  optionalNumber(obj.n, 'n', { integer: true, min: 1 });
  const messages = requireMessages(obj.messages, limits);
  for (let i = 0; i < messages.length; i++) validateMessage(messages[i], at('messages', i, 'bracket'));
  validateTools(obj.tools, limits, 'bracket');
  return obj;
}

function validateMessage(value: unknown, path: string): void {
  const message = requireObject(value, path);
  const role = message.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw invalidRequest(`${path}.role: expected one of "system", "developer", "user", "assistant", "tool", "function", got ${describe(role)}`, `${path}.role`);
  }
  // OpenAI: an assistant turn's content is "required unless tool_calls or function_call is
  // specified" (and may then be null); an audio reply is referred to by id alone. A function
  // message's content is nullable in the spec.
  const content = message.content;
  if (!present(content)) {
    if (role === 'assistant' && (present(message.tool_calls) || present(message.function_call) || present(message.audio))) return;
    if (role === 'function' && content === null) return;
    throw invalidRequest(`${path}.content: content is required for a "${role}" message`, `${path}.content`);
  }
  requireContent(content, `${path}.content`, 'bracket');
}
