/** The Anthropic Messages validator: Anthropic-style paths (`messages.2.content`), Claude Code's bodies pass. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { validateAnthropicRequest } from '../../src/protocols/anthropic-messages/validate-request.js';

const ok = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

function rejection(body: unknown, limits = {}): GatewayError {
  try {
    validateAnthropicRequest(body, limits);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('validateAnthropicRequest', () => {
  it('returns the same object it was given (no copy)', () => {
    expect(validateAnthropicRequest(ok)).toBe(ok);
  });

  it.each([
    ['a number body', 42, 'body'],
    ['model missing', { messages: ok.messages }, 'model'],
    ['model empty', { ...ok, model: '' }, 'model'],
    ['messages missing', { model: 'm' }, 'messages'],
    ['messages a string', { model: 'm', messages: 'hi' }, 'messages'],
    ['messages an object', { model: 'm', messages: {} }, 'messages'],
    ['messages empty', { model: 'm', messages: [] }, 'messages'],
    ['messages [null]', { model: 'm', messages: [null] }, 'messages.0'],
    ['role missing', { model: 'm', messages: [{ content: 'hi' }] }, 'messages.0.role'],
    ['role "tool" (an OpenAI role)', { model: 'm', messages: [{ role: 'tool', content: 'hi' }] }, 'messages.0.role'],
    ['content missing', { model: 'm', messages: [{ role: 'user' }] }, 'messages.0.content'],
    ['content a number', { model: 'm', messages: [{ role: 'user', content: 1 }] }, 'messages.0.content'],
    ['content null', { model: 'm', messages: [{ role: 'user', content: null }] }, 'messages.0.content'],
    ['block without a type', { model: 'm', messages: [{ role: 'user', content: [{ text: 'x' }] }] }, 'messages.0.content.0.type'],
    ['third message', { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: [null] }] }, 'messages.2.content.0'],
    ['max_tokens -1', { ...ok, max_tokens: -1 }, 'max_tokens'],
    ['max_tokens 1e12', { ...ok, max_tokens: 1e12 }, 'max_tokens'],
    ['max_tokens "ten"', { ...ok, max_tokens: 'ten' }, 'max_tokens'],
    ['stream "yes"', { ...ok, stream: 'yes' }, 'stream'],
    ['temperature "warm"', { ...ok, temperature: 'warm' }, 'temperature'],
    ['top_p true', { ...ok, top_p: true }, 'top_p'],
    ['system 42', { ...ok, system: 42 }, 'system'],
    ['system an object', { ...ok, system: { type: 'text', text: 'x' } }, 'system'],
    ['system block not text', { ...ok, system: [{ type: 'image', source: {} }] }, 'system.0.type'],
    ['system block text missing', { ...ok, system: [{ type: 'text' }] }, 'system.0.text'],
    ['tools a string', { ...ok, tools: 'bash' }, 'tools'],
    ['a tool null', { ...ok, tools: [null] }, 'tools.0'],
  ])('%s → 400 naming %s', (_name, body, param) => {
    const err = rejection(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('holds max_tokens to the model limit when known, and messages/tools to the gateway limits', () => {
    expect(rejection({ ...ok, max_tokens: 64_001 }, { maxOutputTokens: 64_000 }).message).toBe('max_tokens: must be at most 64000, got 64001');
    expect(rejection({ ...ok, messages: [ok.messages[0], ok.messages[0], ok.messages[0]] }, { maxMessages: 2 }).param).toBe('messages');
    expect(rejection({ ...ok, tools: [{ name: 'a' }, { name: 'b' }] }, { maxTools: 1 }).param).toBe('tools');
  });

  it("passes a Claude-Code-shaped body: system turns, thinking, tool use, cache control, new block types", () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 32000,
      stream: true,
      system: [{ type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } }],
      tools: [{ name: 'Bash', description: 'run', input_schema: { type: 'object', properties: {} } }, { type: 'web_search_20250305', name: 'web_search' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: '<system-reminder>x</system-reminder>' }, { type: 'text', text: 'fix it', cache_control: { type: 'ephemeral' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.ts' }] }] },
        { role: 'system', content: 'a mid-conversation system entry' },
        { role: 'assistant', content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }, { type: 'a_block_from_next_year' }] },
        { role: 'user', content: [] },
      ],
      thinking: { type: 'enabled', budget_tokens: 1024 },
      metadata: { user_id: 'user_abc_account_x_session_y' },
      context_management: { edits: [] },
    };
    expect(() => validateAnthropicRequest(body)).not.toThrow();
  });
});
