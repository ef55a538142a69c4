/**
 * Client request decoders (Anthropic messages, OpenAI chat) → canonical request, and the canonical
 * request → Anthropic body. Malformed bodies are 400s that name the field.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/json.js';
import { decodeAnthropicRequest } from '../../src/protocols/anthropic-messages/decode-request.js';
import { decodeOpenAIRequest } from '../../src/protocols/openai-chat/decode-request.js';
import { toAnthropicBody } from '../../src/providers/anthropic/convert-request.js';

function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

function expect400(fn: () => unknown, path: string): GatewayError {
  const err = errorOf(fn);
  expect(err.status).toBe(400);
  expect(err.code).toBe('invalid_request');
  expect(err.message).toContain(path);
  expect(err.param).toBe(path);
  return err;
}

const anthropic = (body: JsonObject) => decodeAnthropicRequest({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...body });
const openai = (body: JsonObject) => decodeOpenAIRequest({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], ...body });

describe('Anthropic messages decoder: 400s naming the field', () => {
  it('model missing', () => {
    expect400(() => decodeAnthropicRequest({ max_tokens: 1, messages: [] }), 'model');
  });

  it('messages not an array', () => {
    expect400(() => anthropic({ messages: 'hi' }), 'messages');
  });

  it('messages.0.role', () => {
    const err = expect400(() => anthropic({ messages: [{ role: 'tool', content: 'x' }] }), 'messages.0.role');
    expect(err.message).toContain('"tool"');
  });

  it('messages.1.content is neither string nor array', () => {
    expect400(() => anthropic({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 7 }] }), 'messages.1.content');
  });

  it('cache_control.ttl on a content block', () => {
    const err = expect400(
      () => anthropic({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '2h' } }] }] }),
      'messages.0.content.0.cache_control.ttl',
    );
    expect(err.message).toContain('"2h"');
  });

  it('tools.0.name', () => {
    expect400(() => anthropic({ tools: [{ input_schema: { type: 'object' } }] }), 'tools.0.name');
  });

  it('max_tokens below 1', () => {
    expect400(() => anthropic({ max_tokens: 0 }), 'max_tokens');
  });

  it('tool_choice.type', () => {
    expect400(() => anthropic({ tool_choice: { type: 'sometimes' } }), 'tool_choice.type');
  });

  it('an unsupported block type', () => {
    expect400(() => anthropic({ messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }), 'messages.0.content.0.type');
  });
});

describe('Anthropic messages decoder: accepted shapes', () => {
  it('role "system" inside messages is accepted and hoisted into the Anthropic system prompt', () => {
    const req = anthropic({
      system: 'top',
      messages: [
        { role: 'user', content: 'q1' },
        { role: 'system', content: 'mid-conversation rule' },
        { role: 'user', content: 'q2' },
      ],
    });
    expect(req.messages.map((m) => m.role)).toEqual(['user', 'system', 'user']);
    const body = toAnthropicBody(req, 'claude-x');
    expect(body.system).toEqual([{ type: 'text', text: 'top' }, { type: 'text', text: 'mid-conversation rule' }]);
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'q1' }, { type: 'text', text: 'q2' }] }]);
  });

  it('cache_control on system, blocks and tools survives into the Anthropic body', () => {
    const req = anthropic({
      system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }] }],
      tools: [{ name: 't', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral', ttl: '5m' } }],
    });
    expect(req.system[0]?.cacheControl).toEqual({ type: 'ephemeral', ttl: '1h' });
    const body = toAnthropicBody(req, 'claude-x');
    expect(body.system).toEqual([{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }] }]);
    expect(body.tools).toEqual([{ name: 't', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral', ttl: '5m' } }]);
  });

  it('tool_use input becomes JSON arguments; unknown fields ride in extra', () => {
    const req = anthropic({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
      ],
      context_management: { edits: [] },
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(req.messages[1]?.content[0]).toMatchObject({ type: 'tool_call', id: 'toolu_1', name: 'f' });
    const part = req.messages[1]?.content[0];
    expect(JSON.parse(part?.type === 'tool_call' ? part.arguments : 'null')).toEqual({ a: 1 });
    expect(req.extra).toEqual({ context_management: { edits: [] } });
    expect(req.reasoning).toEqual({ mode: 'enabled', budgetTokens: 2048, effort: undefined });
  });
});

describe('OpenAI chat decoder: 400s naming the field', () => {
  it('messages empty', () => {
    expect400(() => openai({ messages: [] }), 'messages');
  });

  it('messages[0].role', () => {
    expect400(() => openai({ messages: [{ role: 'robot', content: 'x' }] }), 'messages[0].role');
  });

  it('messages[0].content of the wrong type', () => {
    expect400(() => openai({ messages: [{ role: 'user', content: 42 }] }), 'messages[0].content');
  });

  it('tools[0].function.name', () => {
    expect400(() => openai({ tools: [{ type: 'function', function: { parameters: { type: 'object' } } }] }), 'tools[0].function.name');
  });

  it('tools[0].type', () => {
    expect400(() => openai({ tools: [{ type: 'retrieval' }] }), 'tools[0].type');
  });

  it('cache_control.ttl on a content part', () => {
    expect400(
      () => openai({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: 300 } }] }] }),
      'messages[0].content[0].cache_control.ttl',
    );
  });

  it('a malformed image data URL', () => {
    expect400(() => openai({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,xyz' } }] }] }), 'messages[0].content[0].image_url.url');
  });

  it('messages[1].tool_calls[0].function.name', () => {
    expect400(
      () => openai({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }] }),
      'messages[1].tool_calls[0].function.name',
    );
  });

  it('n must be an integer of at least 1', () => {
    expect400(() => openai({ n: 0 }), 'n');
  });
});

describe('OpenAI chat decoder → canonical → Anthropic body', () => {
  it('cache_control on content parts survives to the canonical request and into the Anthropic body', () => {
    const req = openai({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'long system prompt', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'text', text: 'long document', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'question' }] },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } }, cache_control: { type: 'ephemeral' } }],
    });
    expect(req.system).toEqual([{ type: 'text', text: 'long system prompt', cacheControl: { type: 'ephemeral' } }]);
    expect(req.messages[0]?.content[0]).toEqual({ type: 'text', text: 'long document', cacheControl: { type: 'ephemeral', ttl: '1h' } });
    expect(req.tools?.[0]?.cacheControl).toEqual({ type: 'ephemeral' });

    const body = toAnthropicBody(req, 'claude-sonnet-4-5');
    expect(body.system).toEqual([{ type: 'text', text: 'long system prompt', cache_control: { type: 'ephemeral' } }]);
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'long document', cache_control: { type: 'ephemeral', ttl: '1h' } },
          { type: 'text', text: 'question' },
        ],
      },
    ]);
    expect(body.tools).toEqual([{ name: 'lookup', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }]);
  });

  it('n > 1 is a 400 about param n', () => {
    const err = errorOf(() => toAnthropicBody(openai({ n: 3 }), 'claude-x'));
    expect(err.status).toBe(400);
    expect(err.param).toBe('n');
    expect(err.code).toBe('unsupported_parameter');
  });

  it('n = 1 is fine', () => {
    expect(toAnthropicBody(openai({ n: 1 }), 'claude-x').model).toBe('claude-x');
  });

  it('a tool round trip: assistant tool_calls and tool messages become tool_use and a user tool_result turn', () => {
    // The messages of test_run_stream_sync_streams_real_model #1's request.
    const req = openai({
      messages: [
        { content: 'What is the capital of the UK? Use the tool, then answer.', role: 'user' },
        { content: null, role: 'assistant', tool_calls: [{ function: { arguments: '{"country":"UK"}', name: 'get_capital' }, id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', type: 'function' }] },
        { content: 'London', role: 'tool', tool_call_id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj' },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stop: 'END',
      max_completion_tokens: 64,
      max_tokens: 999,
    });
    expect(req.maxTokens).toBe(64);
    expect(req.stop).toEqual(['END']);
    const body = toAnthropicBody(req, 'claude-x');
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is the capital of the UK? Use the tool, then answer.' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', name: 'get_capital', input: { country: 'UK' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', content: 'London' }] },
    ]);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.max_tokens).toBe(64);
  });

  it('reasoning_effort maps to a thinking budget below max_tokens', () => {
    const body = toAnthropicBody(openai({ reasoning_effort: 'high', max_tokens: 1000 }), 'claude-x');
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 4096 });
    expect(body.max_tokens as number).toBeGreaterThan(4096);
  });

  it('tool call arguments that are not JSON are a 400', () => {
    const req = openai({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] });
    expect(errorOf(() => toAnthropicBody(req, 'claude-x')).status).toBe(400);
  });

  it('a base64 image data URL becomes an Anthropic base64 source', () => {
    const req = openai({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    const body = toAnthropicBody(req, 'claude-x');
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }]);
  });
});
