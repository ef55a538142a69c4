/**
 * OpenAI chat wire → canonical usage and answers, on captured real responses. Expected numbers were
 * read from the fixture files by hand; the comment says where.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { totalInput, usageCounts } from '../../src/core/usage.js';
import { parseOpenAICompletion } from '../../src/providers/openai/parse-response.js';
import { parseOpenAIUsage } from '../../src/providers/openai/usage.js';
import { cassette, completionCalls, decodeOpenAIChunks, decodeOpenAISse, fixtureChunks, fixtureJson, fold, sseJson, textOf } from './fixtures.js';

function runStream(index: number): string {
  const calls = completionCalls(cassette('openai', 'test_run_stream_sync_streams_real_model.yaml'));
  const sse = calls[index]?.sse;
  if (sse === undefined) throw new Error(`no stream #${index}`);
  return sse;
}

/** The run_stream #1 chunks, with the usage of the usage-only chunk moved onto the finish chunk. */
function usageOnFinishChunk(): JsonObject[] {
  const chunks = sseJson(runStream(1));
  const usageChunk = chunks.find((c) => Array.isArray(c.choices) && c.choices.length === 0);
  const rest = chunks.filter((c) => c !== usageChunk);
  const last = rest.at(-1)!;
  return [...rest.slice(0, -1), { ...last, usage: usageChunk?.usage }];
}

describe('OpenAI non-streaming fixtures', () => {
  it('openai-text.json', () => {
    const res = parseOpenAICompletion(fixtureJson('openai', 'openai-text.json'));
    // usage: prompt_tokens 16, prompt_tokens_details.cached_tokens 0, completion_tokens 363, reasoning_tokens 0
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 16, cacheRead: 0, output: 363, reasoning: 0 });
    expect(totalInput(res.usage)).toBe(16);
    expect(res.stopReason).toBe('end_turn');
    expect(res.model).toBe('gpt-4.1-nano-2025-04-14');
    expect(textOf(res).startsWith('**Holiday Name:** Galaxy Day')).toBe(true);
    expect(textOf(res)).toContain('illuminate vast darkness\u2014mirroring');
  });

  it('test_openai_chat_prompt_cache_e2e: cached 4012 of 4020 on the second call', () => {
    const calls = completionCalls(cassette('openai', 'test_openai_chat_prompt_cache_e2e.yaml'));
    expect(calls).toHaveLength(2);
    const [a, b] = calls.map((c) => parseOpenAICompletion(c.json).usage);
    // #0 usage: prompt_tokens 4020, cached_tokens 0, cache_write_tokens 4012, completion_tokens 4
    // → the write is its own disjoint part: uncached = 4020 - 0 - 4012 = 8
    expect(usageCounts(a!)).toMatchObject({ inputUncached: 8, cacheRead: 0, cacheWriteUnknownTtl: 4012, output: 4, reasoning: 0 });
    expect(totalInput(a!)).toBe(4020);
    // #1 usage: prompt_tokens 4020, cached_tokens 4012, cache_write_tokens 0, completion_tokens 4
    expect(usageCounts(b!)).toMatchObject({ inputUncached: 8, cacheRead: 4012, output: 4, reasoning: 0 });
    expect(b!.cacheWriteUnknownTtl ?? 0).toBe(0);
    expect(totalInput(b!)).toBe(4020);
  });

  it('test_openai_model_thinking_part (chat call): reasoning_tokens 1792', () => {
    const calls = completionCalls(cassette('openai', 'test_openai_model_thinking_part.yaml'));
    expect(calls).toHaveLength(1);
    const res = parseOpenAICompletion(calls[0]?.json);
    // usage: prompt_tokens 577, cached_tokens 0, completion_tokens 2320, reasoning_tokens 1792
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 577, cacheRead: 0, output: 2320, reasoning: 1792 });
    expect(res.model).toBe('o3-mini-2025-01-31');
    expect(textOf(res).startsWith('When it comes to crossing a river safely')).toBe(true);
  });
});

describe('OpenAI streaming fixtures', () => {
  it('run_stream #0: a tool call, usage on the final choices:[] chunk', () => {
    const events = decodeOpenAISse(runStream(0));
    const res = fold(events);
    // usage chunk: prompt_tokens 53, completion_tokens 15, cached_tokens 0, reasoning_tokens 0
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 53, cacheRead: 0, output: 15, reasoning: 0 });
    expect(res.stopReason).toBe('tool_use');
    expect(res.id).toBe('chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl');
    expect(res.content).toHaveLength(1);
    const call = res.content[0];
    expect(call).toMatchObject({ type: 'tool_call', id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', name: 'get_capital' });
    expect(JSON.parse(call?.type === 'tool_call' ? call.arguments : 'null')).toEqual({ country: 'UK' });
    // the finish event comes after every block_stop
    const types = events.map((e) => e.type);
    expect(types.lastIndexOf('block_stop')).toBeLessThan(types.indexOf('finish'));
  });

  it('run_stream #1: text answer', () => {
    const res = fold(decodeOpenAISse(runStream(1)));
    // usage chunk: prompt_tokens 78, completion_tokens 9, cached_tokens 0
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 78, cacheRead: 0, output: 9, reasoning: 0 });
    expect(res.content).toEqual([{ type: 'text', text: 'The capital of the UK is London.' }]);
    expect(res.stopReason).toBe('end_turn');
  });

  it('azure-model-router.1.chunks.txt: reasoning_tokens 64 of completion 78', () => {
    const res = fold(decodeOpenAIChunks(fixtureChunks('openai', 'azure-model-router.1.chunks.txt')));
    // last line usage: prompt_tokens 15, cached_tokens 0, completion_tokens 78, reasoning_tokens 64
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 15, cacheRead: 0, output: 78, reasoning: 64 });
    expect(textOf(res)).toBe('Capital of Denmark.');
    expect(res.stopReason).toBe('end_turn');
  });

  it("azure-model-router: the answer's id and model come from the real chunks, not the empty prompt_filter_results chunk", () => {
    // line 1 is {"choices":[],"id":"","model":"",prompt_filter_results...}; every later line carries
    // id chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt and model gpt-5-nano-2025-08-07
    const res = fold(decodeOpenAIChunks(fixtureChunks('openai', 'azure-model-router.1.chunks.txt')));
    expect(res.model).toBe('gpt-5-nano-2025-08-07');
    expect(res.id).toBe('chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt');
  });

  it('usage riding on a chunk that still has choices (finish_reason + usage in one chunk)', () => {
    const chunks = usageOnFinishChunk();
    expect(chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
    const events = decodeOpenAIChunks(chunks);
    const res = fold(events);
    // the usage moved from run_stream #1's usage chunk: prompt 78, completion 9
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 78, cacheRead: 0, output: 9 });
    expect(res.stopReason).toBe('end_turn');
    expect(textOf(res)).toBe('The capital of the UK is London.');
  });

  it('cumulative usage on every chunk: the last report wins', () => {
    const base = { id: 'c1', object: 'chat.completion.chunk', model: 'm' };
    const res = fold(
      decodeOpenAIChunks([
        { ...base, choices: [{ index: 0, delta: { content: 'a' } }], usage: { prompt_tokens: 10, completion_tokens: 1 } },
        { ...base, choices: [{ index: 0, delta: { content: 'b' }, finish_reason: 'length' }], usage: { prompt_tokens: 10, completion_tokens: 2 } },
      ]),
    );
    expect(usageCounts(res.usage)).toMatchObject({ inputUncached: 10, output: 2 });
    expect(res.stopReason).toBe('max_tokens');
    expect(textOf(res)).toBe('ab');
  });
});

describe('parseOpenAIUsage', () => {
  it('LiteLLM-style cache writes with a TTL breakdown stay disjoint from uncached input', () => {
    const u = parseOpenAIUsage({
      prompt_tokens: 1805,
      completion_tokens: 5,
      prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 1802, cache_creation_token_details: { ephemeral_5m_input_tokens: 1802, ephemeral_1h_input_tokens: 0 } },
      cache_creation_input_tokens: 1802,
    });
    expect(usageCounts(u)).toEqual({ inputUncached: 3, cacheRead: 0, cacheWrite5m: 1802, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 5 });
  });

  it('top-level cache_read_input_tokens (OpenAI-compatible servers) is a cache read', () => {
    const u = parseOpenAIUsage({ prompt_tokens: 100, completion_tokens: 1, cache_read_input_tokens: 60 });
    expect(usageCounts(u)).toMatchObject({ inputUncached: 40, cacheRead: 60, output: 1 });
  });

  it('no prompt_tokens: input is unknown, not 0', () => {
    expect(usageCounts(parseOpenAIUsage({ completion_tokens: 3 }))).toEqual({ output: 3 });
    expect(usageCounts(parseOpenAIUsage(null))).toEqual({});
  });
});
