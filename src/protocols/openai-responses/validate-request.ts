/**
 * The cheap check every Responses API body gets before admission, on every path including
 * passthrough: the shape a request on this surface must have, on the object already parsed.
 * Item and tool types are the upstream's business (OpenAI adds them often), so an unknown one
 * passes; what the gateway itself reads — the model, `input` as a string or a list of items,
 * messages' roles and content, the numbers — must be well formed. Paths use brackets, as OpenAI
 * names fields in its errors (`input[2].content`).
 */
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import {
  at,
  describe,
  DEFAULT_MAX_MESSAGES,
  optionalBoolean,
  optionalString,
  present,
  requireBody,
  requireBoundedArray,
  requireContent,
  requireObject,
  validateCommonFields,
  validateTools,
  type RequestLimits,
} from '../shared/validate.js';

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

export function validateResponsesRequest(body: unknown, limits: RequestLimits = {}): JsonObject {
  const obj = requireBody(body);
  validateCommonFields(obj, limits, ['max_output_tokens']);
  optionalString(obj.instructions, 'instructions');
  optionalString(obj.previous_response_id, 'previous_response_id');
  optionalBoolean(obj.store, 'store');
  optionalBoolean(obj.parallel_tool_calls, 'parallel_tool_calls');
  validateInput(obj, limits);
  validateTools(obj.tools, limits, 'bracket');
  if (present(obj.reasoning)) requireObject(obj.reasoning, 'reasoning');
  if (present(obj.text)) requireObject(obj.text, 'text');
  return obj;
}

function validateInput(body: JsonObject, limits: RequestLimits): void {
  const input = body.input;
  if (typeof input === 'string') return;
  if (!present(input)) {
    // A continuation or a stored prompt may stand for the input; with neither there is nothing to answer.
    if (present(body.previous_response_id) || present(body.prompt) || present(body.conversation)) return;
    throw errors.invalidRequest("Missing required parameter: 'input'.", 'input');
  }
  if (!Array.isArray(input)) throw errors.invalidRequest(`input: expected a string or an array of input items, got ${describe(input)}`, 'input');
  const items = requireBoundedArray(input, 'input', limits.maxMessages ?? DEFAULT_MAX_MESSAGES, 'general_settings.max_request_messages');
  for (let i = 0; i < items.length; i++) validateItem(items[i], at('input', i, 'bracket'));
}

function validateItem(value: unknown, path: string): void {
  const item = requireObject(value, path);
  if (item.type !== undefined && typeof item.type !== 'string') throw errors.invalidRequest(`${path}.type: expected a string, got ${describe(item.type)}`, `${path}.type`);
  // An item without a type is a message (EasyInputMessage); so is `type: "message"`.
  if (item.type !== undefined && item.type !== 'message') return;
  const role = item.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw errors.invalidRequest(`${path}.role: expected one of "user", "assistant", "system", "developer", got ${describe(role)}`, `${path}.role`);
  }
  requireContent(item.content, `${path}.content`, 'bracket');
}
