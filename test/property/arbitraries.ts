/**
 * fast-check generators for request bodies: valid conversations on each surface (user text,
 * assistant text with tool calls, tool results), one-field mutations of them, and hostile bodies
 * (any JSON, deep nesting). Nothing here asserts.
 */
import fc from 'fast-check';
import type { JsonObject } from '../../src/core/json.js';

/** Non-empty text: Anthropic drops empty text blocks, which is not a loss of meaning. */
const text = fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' });
const argKey = fc.constantFrom('path', 'query', 'n', 'flag', 'nested');
const argValue = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null));
const args = fc.dictionary(argKey, argValue, { maxKeys: 3 });
const toolName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,15}$/);

interface Exchange {
  user: string[];
  assistant: string[];
  calls: { name: string; input: Record<string, unknown>; result: string }[];
}

const exchange: fc.Arbitrary<Exchange> = fc.record({
  user: fc.array(text, { minLength: 1, maxLength: 2 }),
  assistant: fc.array(text, { minLength: 0, maxLength: 2 }),
  calls: fc.array(fc.record({ name: toolName, input: args, result: text }), { maxLength: 2 }),
});

const options = fc.record(
  {
    max_tokens: fc.integer({ min: 1, max: 200_000 }),
    stream: fc.boolean(),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: [] },
);

const tools = fc.array(fc.record({ name: toolName, description: text }), { maxLength: 3 });

export const validOpenAIBody: fc.Arbitrary<JsonObject> = fc
  .record({ model: text, system: fc.option(text, { nil: undefined }), exchanges: fc.array(exchange, { minLength: 1, maxLength: 4 }), options, tools, stringContent: fc.boolean() })
  .map(({ model, system, exchanges, options: opts, tools: defs, stringContent }) => {
    const messages: JsonObject[] = [];
    if (system !== undefined) messages.push({ role: 'system', content: system });
    exchanges.forEach((ex, i) => {
      messages.push({ role: 'user', content: stringContent && ex.user.length === 1 ? ex.user[0] : ex.user.map((t) => ({ type: 'text', text: t })) });
      const calls = ex.calls.map((c, j) => ({ id: `call_${i}_${j}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }));
      if (ex.assistant.length > 0 || calls.length > 0) {
        messages.push({ role: 'assistant', content: ex.assistant.length === 0 ? null : ex.assistant.join('\n'), ...(calls.length > 0 ? { tool_calls: calls } : {}) });
      }
      ex.calls.forEach((c, j) => messages.push({ role: 'tool', tool_call_id: `call_${i}_${j}`, content: c.result }));
    });
    const body: JsonObject = { model, messages, ...opts };
    if (defs.length > 0) body.tools = defs.map((d) => ({ type: 'function', function: { name: d.name, description: d.description, parameters: { type: 'object', properties: {} } } }));
    return body;
  });

export const validAnthropicBody: fc.Arbitrary<JsonObject> = fc
  .record({ model: text, system: fc.option(fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 2 })), { nil: undefined }), exchanges: fc.array(exchange, { minLength: 1, maxLength: 4 }), options, tools })
  .map(({ model, system, exchanges, options: opts, tools: defs }) => {
    const messages: JsonObject[] = [];
    let pendingResults: JsonObject[] = [];
    exchanges.forEach((ex, i) => {
      // Tool results open the next user turn, before its text (Anthropic's order).
      messages.push({ role: 'user', content: [...pendingResults, ...ex.user.map((t) => ({ type: 'text', text: t }))] });
      const uses = ex.calls.map((c, j) => ({ type: 'tool_use', id: `toolu_${i}_${j}`, name: c.name, input: c.input }));
      pendingResults = ex.calls.map((c, j) => ({ type: 'tool_result', tool_use_id: `toolu_${i}_${j}`, content: c.result }));
      if (ex.assistant.length > 0 || uses.length > 0) messages.push({ role: 'assistant', content: [...ex.assistant.map((t) => ({ type: 'text', text: t })), ...uses] });
      else pendingResults = [];
    });
    if (pendingResults.length > 0) messages.push({ role: 'user', content: pendingResults });
    const body: JsonObject = { model, max_tokens: 1024, messages, ...opts };
    if (system !== undefined) body.system = typeof system === 'string' ? system : system.map((t) => ({ type: 'text', text: t }));
    if (defs.length > 0) body.tools = defs.map((d) => ({ name: d.name, description: d.description, input_schema: { type: 'object', properties: {} } }));
    return body;
  });

/** JSON nested `levels` deep, of arrays or objects. */
export const deepValue: fc.Arbitrary<unknown> = fc.record({ levels: fc.integer({ min: 1, max: 300 }), kind: fc.constantFrom('array', 'object') }).map(({ levels, kind }) => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
});

const anyJson: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) }, { weight: 1, arbitrary: deepValue }, { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN, 1e12, -1, 0, 1.5, '', 'ten', [], {}, [null]) });

const FIELDS = ['model', 'messages', 'max_tokens', 'max_completion_tokens', 'stream', 'n', 'temperature', 'top_p', 'tools', 'system', 'metadata', 'tool_choice', 'stop', 'thinking', 'response_format', 'prompt'];

/** A valid body with one thing broken: a top-level field, a message, or a field of a message. */
export function almostValid(valid: fc.Arbitrary<JsonObject>): fc.Arbitrary<JsonObject> {
  return fc.tuple(valid, fc.constantFrom('field', 'message', 'message-field'), fc.constantFrom(...FIELDS, 'role', 'content', 'tool_calls', 'tool_call_id'), anyJson, fc.nat()).map(([body, where, field, value, index]) => {
    const out: JsonObject = { ...body };
    const messages = Array.isArray(out.messages) ? [...(out.messages as unknown[])] : [];
    const i = messages.length === 0 ? 0 : index % messages.length;
    if (where === 'field') out[field] = value;
    else if (where === 'message') messages[i] = value;
    else messages[i] = { ...(messages[i] as JsonObject), [field]: value };
    if (where !== 'field') out.messages = messages;
    return out;
  });
}

/** Anything a client could send: any JSON, or an object of known fields holding any JSON. */
export const hostileBody: fc.Arbitrary<unknown> = fc.oneof(anyJson, fc.dictionary(fc.constantFrom(...FIELDS), anyJson, { maxKeys: 6 }));
