/** The OpenAI chat validator: what it refuses names the field; what only the provider judges passes. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { validateOpenAIChatRequest } from '../../src/protocols/openai-chat/validate-request.js';

const ok = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

function rejection(body: unknown, limits = {}): GatewayError {
  try {
    validateOpenAIChatRequest(body, limits);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('validateOpenAIChatRequest', () => {
  it('returns the same object it was given (no copy)', () => {
    expect(validateOpenAIChatRequest(ok)).toBe(ok);
  });

  it.each([
    ['a string body', '"hi"', 'body'],
    ['an array body', [], 'body'],
    ['null body', null, 'body'],
    ['model missing', { messages: ok.messages }, 'model'],
    ['model empty', { ...ok, model: '' }, 'model'],
    ['model a number', { ...ok, model: 4 }, 'model'],
    ['messages missing', { model: 'm' }, 'messages'],
    ['messages a string', { model: 'm', messages: 'hi' }, 'messages'],
    ['messages an object', { model: 'm', messages: { role: 'user', content: 'hi' } }, 'messages'],
    ['messages empty', { model: 'm', messages: [] }, 'messages'],
    ['messages [null]', { model: 'm', messages: [null] }, 'messages[0]'],
    ['role missing', { model: 'm', messages: [{ content: 'hi' }] }, 'messages[0].role'],
    ['role unknown', { model: 'm', messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role'],
    ['content missing', { model: 'm', messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['content a number', { model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    ['content null on a user turn', { model: 'm', messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
    ['assistant content null without tool calls', { model: 'm', messages: [{ role: 'assistant', content: null }] }, 'messages[0].content'],
    ['content part not an object', { model: 'm', messages: [{ role: 'user', content: ['hi'] }] }, 'messages[0].content[0]'],
    ['content part without a type', { model: 'm', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }, 'messages[0].content[0].type'],
    ['a later message', { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 7 }] }, 'messages[2].content'],
    ['max_tokens -1', { ...ok, max_tokens: -1 }, 'max_tokens'],
    ['max_tokens 0', { ...ok, max_tokens: 0 }, 'max_tokens'],
    ['max_tokens 1e12', { ...ok, max_tokens: 1e12 }, 'max_tokens'],
    ['max_tokens "ten"', { ...ok, max_tokens: 'ten' }, 'max_tokens'],
    ['max_tokens 1.5', { ...ok, max_tokens: 1.5 }, 'max_tokens'],
    ['max_tokens Infinity (1e400 parses to it)', JSON.parse('{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1e400}') as unknown, 'max_tokens'],
    ['max_completion_tokens -3', { ...ok, max_completion_tokens: -3 }, 'max_completion_tokens'],
    ['stream "yes"', { ...ok, stream: 'yes' }, 'stream'],
    ['n "two"', { ...ok, n: 'two' }, 'n'],
    ['n 0', { ...ok, n: 0 }, 'n'],
    ['temperature "hot"', { ...ok, temperature: 'hot' }, 'temperature'],
    ['top_p an array', { ...ok, top_p: [1] }, 'top_p'],
    ['tools a string', { ...ok, tools: 'search' }, 'tools'],
    ['a tool not an object', { ...ok, tools: [{ type: 'function', function: { name: 'a' } }, 3] }, 'tools[1]'],
  ])('%s → 400 naming %s', (_name, body, param) => {
    const err = rejection(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe(param);
    expect(err.message.startsWith(param === 'body' ? 'The request body' : `${param}:`)).toBe(true);
  });

  it('says what was wrong, not only where', () => {
    expect(rejection({ ...ok, stream: 'yes' }).message).toBe('stream: expected true or false, got "yes"');
    expect(rejection({ ...ok, max_tokens: -1 }).message).toBe('max_tokens: must be at least 1, got -1');
  });

  it('holds max_tokens and max_completion_tokens to the model limit when one is known', () => {
    expect(rejection({ ...ok, max_tokens: 4097 }, { maxOutputTokens: 4096 }).message).toBe('max_tokens: must be at most 4096, got 4097');
    expect(rejection({ ...ok, max_completion_tokens: 5000 }, { maxOutputTokens: 4096 }).param).toBe('max_completion_tokens');
    expect(() => validateOpenAIChatRequest({ ...ok, max_tokens: 4096 }, { maxOutputTokens: 4096 })).not.toThrow();
  });

  it('holds messages and tools to the gateway limits, naming the setting', () => {
    const messages = Array.from({ length: 11 }, () => ({ role: 'user', content: 'x' }));
    const err = rejection({ model: 'm', messages }, { maxMessages: 10 });
    expect(err.param).toBe('messages');
    expect(err.message).toContain('general_settings.max_request_messages');
    expect(() => validateOpenAIChatRequest({ model: 'm', messages: messages.slice(1) }, { maxMessages: 10 })).not.toThrow();
    const tools = Array.from({ length: 3 }, (_, i) => ({ type: 'function', function: { name: `t${i}` } }));
    expect(rejection({ ...ok, tools }, { maxTools: 2 }).message).toContain('general_settings.max_request_tools');
  });

  it('passes what OpenAI accepts and only the provider interprets', () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'system', content: [{ type: 'text', text: 'sys' }] },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }, { type: 'brand_new_part' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'assistant', tool_calls: [{ id: 'c2', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } },
        { role: 'assistant', content: null, audio: { id: 'audio_1' } },
        { role: 'tool', tool_call_id: 'c1', content: 'result' },
        { role: 'function', name: 'f', content: null },
        { role: 'user', content: '' },
      ],
      stream: null,
      max_tokens: null,
      temperature: 3.5,
      top_p: -1,
      n: 2,
      tools: [{ type: 'web_search_preview' }],
      a_field_from_next_year: { anything: true },
    };
    expect(() => validateOpenAIChatRequest(body)).not.toThrow();
  });
});
