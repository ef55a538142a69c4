/** Cohere v2 wire ↔ canonical, on bodies shaped like docs.cohere.com/reference/chat (v2). */
import { describe, expect, it } from 'vitest';
import { StreamFolder } from '../../src/core/collect.js';
import type { CanonicalRequest } from '../../src/core/request.js';
import type { StreamEvent } from '../../src/core/response.js';
import { cohereChatUrl } from '../../src/providers/cohere/adapter.js';
import { toCohereBody } from '../../src/providers/cohere/convert-request.js';
import { CohereStreamDecoder, parseCohereChat } from '../../src/providers/cohere/parse-response.js';
import { parseCohereUsage } from '../../src/providers/cohere/usage.js';
import { Pricing } from '../../src/accounting/pricing.js';

const request = (partial: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'alias', system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], stream: false, extra: {}, ...partial,
});

describe('toCohereBody', () => {
  it('maps OpenAI-style settings to Cohere names', () => {
    expect(toCohereBody(request({ maxTokens: 10, topP: 0.5, topK: 3, stop: ['x'], temperature: 0.2, extra: { seed: 7, frequency_penalty: 0.1, user: 'u' } }), 'command-r')).toEqual({
      model: 'command-r',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
      max_tokens: 10, temperature: 0.2, p: 0.5, k: 3, stop_sequences: ['x'], seed: 7, frequency_penalty: 0.1,
    });
  });
  it('a named tool choice is REQUIRED with only that tool; "none" sends no tools', () => {
    const tools = [{ name: 'a', parameters: {} }, { name: 'b', parameters: {} }];
    const named = toCohereBody(request({ tools, toolChoice: { type: 'tool', name: 'b' } }), 'm');
    expect(named.tool_choice).toBe('REQUIRED');
    expect(named.tools).toEqual([{ type: 'function', function: { name: 'b', parameters: {} } }]);
    expect(toCohereBody(request({ tools, toolChoice: { type: 'none' } }), 'm').tools).toBeUndefined();
    expect(toCohereBody(request({ tools, toolChoice: { type: 'auto' } }), 'm').tool_choice).toBeUndefined();
  });
  it('json_schema becomes Cohere json_object with its schema', () => {
    expect(toCohereBody(request({ responseFormat: { type: 'json_schema', name: 'x', schema: { type: 'object' } } }), 'm').response_format).toEqual({ type: 'json_object', json_schema: { type: 'object' } });
  });
});

describe('usage', () => {
  it('meters usage.tokens as LiteLLM does, billed_units only as a fallback', () => {
    expect(parseCohereUsage({ billed_units: { input_tokens: 5, output_tokens: 3 }, tokens: { input_tokens: 70, output_tokens: 3 } })).toMatchObject({ inputUncached: 70, output: 3 });
    expect(parseCohereUsage({ billed_units: { input_tokens: 5, output_tokens: 3 } })).toMatchObject({ inputUncached: 5, output: 3 });
    expect(parseCohereUsage(undefined)).toEqual({});
  });
});

describe('responses', () => {
  const usage = { billed_units: { input_tokens: 4, output_tokens: 2 }, tokens: { input_tokens: 10, output_tokens: 2 } };
  it('text, thinking and tool calls; finish reasons', () => {
    const res = parseCohereChat({
      id: 'r1',
      message: { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'text', text: 'ok' }], tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      finish_reason: 'TOOL_CALL',
      usage,
    });
    expect(res.content).toEqual([{ type: 'thinking', text: 'hmm' }, { type: 'text', text: 'ok' }, { type: 'tool_call', id: 't1', name: 'f', arguments: '{"a":1}' }]);
    expect(res.stopReason).toBe('tool_use');
    expect(parseCohereChat({ message: { content: [] }, finish_reason: 'MAX_TOKENS', usage }).stopReason).toBe('max_tokens');
  });
  it('ERROR and TIMEOUT are failures', () => {
    expect(() => parseCohereChat({ message: {}, finish_reason: 'TIMEOUT' })).toThrow(expect.objectContaining({ code: 'timeout', status: 408 }) as Error);
    expect(() => parseCohereChat({ message: {}, finish_reason: 'ERROR' })).toThrow(/ERROR/);
  });
});

describe('stream', () => {
  it('folds to the same answer as the JSON response', () => {
    const usage = { billed_units: { input_tokens: 4, output_tokens: 5 }, tokens: { input_tokens: 12, output_tokens: 5 } };
    const events = [
      { type: 'message-start', id: 'r1', delta: { message: { role: 'assistant', content: [] } } },
      { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
      { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Hel' } } } },
      { type: 'content-delta', index: 0, delta: { message: { content: { text: 'lo' } } } },
      { type: 'content-end', index: 0 },
      { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will' } } },
      { type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: 't1', type: 'function', function: { name: 'f', arguments: '' } } } } },
      { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '{"a":' } } } } },
      { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '1}' } } } } },
      { type: 'tool-call-end', index: 0 },
      { type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage } },
    ];
    const decoder = new CohereStreamDecoder();
    const folder = new StreamFolder();
    const out: StreamEvent[] = events.flatMap((e) => decoder.decode(e));
    for (const e of out) folder.add(e);
    expect(folder.finished).toBe(true);
    expect(folder.usageSoFar).toMatchObject({ inputUncached: 12, output: 5 });
    expect(out.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('')).toBe('Hello');
    expect(out).toContainEqual({ type: 'tool_call_start', index: 1, id: 't1', name: 'f' });
    expect(out.filter((e) => e.type === 'tool_call_delta').map((e) => (e as { argumentsDelta: string }).argumentsDelta).join('')).toBe('{"a":1}');
    expect(out.at(-1)).toEqual({ type: 'finish', stopReason: 'tool_use' });
  });
  it('message-end with ERROR is an error event', () => {
    const out = new CohereStreamDecoder().decode({ type: 'message-end', delta: { finish_reason: 'ERROR', error: 'boom' } });
    expect(out).toEqual([{ type: 'error', error: expect.objectContaining({ message: 'Cohere ended the answer with ERROR: boom' }) as unknown }]);
  });
});

it('cohereChatUrl takes a host or the full chat URL', () => {
  expect(cohereChatUrl('https://api.cohere.com')).toBe('https://api.cohere.com/v2/chat');
  expect(cohereChatUrl('https://api.cohere.com/v2/')).toBe('https://api.cohere.com/v2/chat');
  expect(cohereChatUrl('https://proxy.example/cohere/v2/chat')).toBe('https://proxy.example/cohere/v2/chat');
});

describe('pricing without overrides', () => {
  const base = { id: 'd', modelGroup: 'g', timeoutMs: 1000, streamTimeoutMs: 1000, params: {} };
  it('cohere and text-completion-openai deployments are priced from genai-prices', () => {
    const pricing = new Pricing();
    // Cohere's list price for command-r-08-2024: $0.15 in, $0.60 out per million tokens.
    const cohere = pricing.cost({ inputUncached: 1_000_000, output: 1_000_000 }, { ...base, provider: 'cohere', model: 'command-r-08-2024' }, 'command-r-08-2024');
    expect(cohere.nanoUsd).toBe(750_000_000);
    // OpenAI's gpt-3.5-turbo-instruct: $1.50 in, $2.00 out per million.
    const instruct = pricing.cost({ inputUncached: 1_000_000, output: 1_000_000 }, { ...base, provider: 'text-completion-openai', model: 'gpt-3.5-turbo-instruct' }, 'gpt-3.5-turbo-instruct');
    expect(instruct.nanoUsd).toBe(3_500_000_000);
  });
});
