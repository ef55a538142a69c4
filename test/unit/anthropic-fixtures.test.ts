/**
 * Anthropic wire → canonical usage, on captured real responses. Every expected number below was read
 * from the fixture file by hand; the comment says where.
 */
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/core/response.js';
import { cacheWriteTotal, totalInput, usageCounts, type Usage } from '../../src/core/usage.js';
import { parseAnthropicMessage } from '../../src/providers/anthropic/parse-response.js';
import { mergeAnthropicUsage, parseAnthropicUsage } from '../../src/providers/anthropic/usage.js';
import {
  cassette,
  chunksToSse,
  completionCalls,
  decodeAnthropicChunks,
  decodeAnthropicSse,
  fixtureChunks,
  fixtureJson,
  fold,
} from './fixtures.js';

type Counts = ReturnType<typeof usageCounts>;

/** Usage of the last `usage` event of a decoded stream (the decoder's cumulative view). */
function lastUsage(events: StreamEvent[]): Usage {
  const usages = events.flatMap((e) => (e.type === 'usage' ? [e.usage] : []));
  const last = usages.at(-1);
  if (last === undefined) throw new Error('no usage event');
  return last;
}

function streamUsage(name: string): Usage {
  const chunks = fixtureChunks('anthropic', name);
  const viaChunks = fold(decodeAnthropicChunks(chunks)).usage;
  // The same stream as SSE text (event: lines) must give the same counts.
  const viaSse = fold(decodeAnthropicSse(chunksToSse('anthropic', chunks))).usage;
  expect(usageCounts(viaSse)).toEqual(usageCounts(viaChunks));
  return viaChunks;
}

/** Fields that Anthropic reported with a TTL breakdown: unknown-TTL writes, if present, must be 0. */
function expectCounts(usage: Usage, expected: Counts): void {
  expect(usageCounts(usage)).toMatchObject(expected);
  expect(usage.cacheWriteUnknownTtl ?? 0).toBe(expected.cacheWriteUnknownTtl ?? 0);
  const writes = (expected.cacheWrite5m ?? 0) + (expected.cacheWrite1h ?? 0) + (expected.cacheWriteUnknownTtl ?? 0);
  expect(totalInput(usage)).toBe((expected.inputUncached ?? 0) + (expected.cacheRead ?? 0) + writes);
}

describe('Anthropic non-streaming fixtures', () => {
  it('anthropic-text.json', () => {
    const res = parseAnthropicMessage(fixtureJson('anthropic', 'anthropic-text.json'));
    // usage: input_tokens 12, cache_creation_input_tokens 0, cache_read_input_tokens 0,
    // cache_creation.ephemeral_5m 0 / 1h 0, output_tokens 29
    expectCounts(res.usage, { inputUncached: 12, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 29 });
    expect(res.stopReason).toBe('end_turn');
    expect(res.id).toBe('msg_01VdEjxAP5ahtHKrrRdNBteQ');
  });

  it('anthropic-tool-no-args.json', () => {
    const res = parseAnthropicMessage(fixtureJson('anthropic', 'anthropic-tool-no-args.json'));
    // usage: input_tokens 602, cache fields 0, output_tokens 93
    expectCounts(res.usage, { inputUncached: 602, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 93 });
    expect(res.stopReason).toBe('tool_use');
    const call = res.content.find((p) => p.type === 'tool_call');
    expect(call).toMatchObject({ type: 'tool_call', id: 'toolu_01LRmxn9vGM1d2DZSDBowdZ1', name: 'updateIssueList' });
    expect(JSON.parse(call?.type === 'tool_call' ? call.arguments : 'null')).toEqual({});
  });

  it('anthropic-clear-thinking.1.json', () => {
    const res = parseAnthropicMessage(fixtureJson('anthropic', 'anthropic-clear-thinking.1.json'));
    // usage: input_tokens 69, cache fields 0, output_tokens 33
    expectCounts(res.usage, { inputUncached: 69, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 33 });
    expect(res.content.map((p) => p.type)).toEqual(['thinking', 'text']);
    expect(res.content[0]).toMatchObject({ type: 'thinking', text: '925 divided by 5 = 185' });
    expect(res.content[0]?.type === 'thinking' && res.content[0].signature?.startsWith('Er4BCkYICxgC')).toBe(true);
    expect(res.content[1]).toEqual({ type: 'text', text: '925 ÷ 5 = 185' });
  });
});

describe('Anthropic streaming fixtures (message_delta totals are final)', () => {
  it('anthropic-text.chunks.txt', () => {
    // message_start usage input 12 / output 1; message_delta usage input 12, cache 0/0, output_tokens 30
    expectCounts(streamUsage('anthropic-text.chunks.txt'), { inputUncached: 12, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 30 });
  });

  it('anthropic-tool-no-args.chunks.txt', () => {
    // message_start input 565 / output 7; message_delta input 565, output_tokens 48
    expectCounts(streamUsage('anthropic-tool-no-args.chunks.txt'), { inputUncached: 565, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 48 });
  });

  it('anthropic-clear-thinking.1.chunks.txt', () => {
    // message_start input 69 / output 2; message_delta input 69, output_tokens 53
    expectCounts(streamUsage('anthropic-clear-thinking.1.chunks.txt'), { inputUncached: 69, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 53 });
  });

  it('anthropic-refusal.chunks.txt', () => {
    // message_start input 18 / output 1; message_delta input 18, output_tokens 5, stop_reason "refusal"
    const events = decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-refusal.chunks.txt'));
    const res = fold(events);
    expectCounts(res.usage, { inputUncached: 18, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 5 });
    expect(res.stopReason).toBe('refusal');
    expect(res.content).toEqual([]);
  });

  it("anthropic-message-delta-input-tokens: the delta's input_tokens 61 overrides message_start's 43", () => {
    const events = decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-message-delta-input-tokens.chunks.txt'));
    // message_start usage {input_tokens 43, output_tokens 1}; no cache fields anywhere
    const first = events.find((e) => e.type === 'usage');
    expect(first?.type === 'usage' && usageCounts(first.usage)).toEqual({ inputUncached: 43, output: 1 });
    // message_delta usage {input_tokens 61, output_tokens 2}: cache fields stay unknown, not 0
    expect(usageCounts(streamUsage('anthropic-message-delta-input-tokens.chunks.txt'))).toEqual({ inputUncached: 61, output: 2 });
  });

  it('code-execution prompt cache: message_delta total 3337 without breakdown keeps the 5m TTL of message_start', () => {
    const name = 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt';
    const events = decodeAnthropicChunks(fixtureChunks('anthropic', name));
    // message_start usage: input_tokens 2, cache_creation_input_tokens 3068 (ephemeral_5m 3068, 1h 0),
    // cache_read 0, output_tokens 69
    const first = events.find((e) => e.type === 'usage');
    expect(first?.type === 'usage' && usageCounts(first.usage)).toMatchObject({ inputUncached: 2, cacheRead: 0, cacheWrite5m: 3068, cacheWrite1h: 0, output: 69 });
    // message_delta usage: input_tokens 6, cache_creation_input_tokens 3337 (no cache_creation object),
    // cache_read_input_tokens 6289, output_tokens 198, output_tokens_details.thinking_tokens 0
    const usage = streamUsage(name);
    expectCounts(usage, { inputUncached: 6, cacheRead: 6289, cacheWrite5m: 3337, cacheWrite1h: 0, output: 198 });
    expect(usage.reasoning).toBe(0);
    expect(cacheWriteTotal(usage)).toBe(3337);
    expect(usageCounts(lastUsage(events))).toEqual(usageCounts(usage));
  });
});

describe('Anthropic cassettes', () => {
  it('compaction stream: usage.iterations are summed (top level describes only the last iteration)', () => {
    const [call] = completionCalls(cassette('anthropic', 'test_anthropic_compaction_usage_with_cache_streaming.yaml'));
    const events = decodeAnthropicSse(call?.sse ?? '');
    // message_start usage: input_tokens 100, cache_read_input_tokens 55096, output_tokens 7
    const first = events.find((e) => e.type === 'usage');
    expect(first?.type === 'usage' && usageCounts(first.usage)).toMatchObject({ inputUncached: 100, cacheRead: 55096, output: 7 });
    // message_delta usage.iterations: [{input 100, output 83, cache_read 55096, type compaction},
    // {input 181, output 8, cache_read 0, type message}] → input 281, cache read 55096, output 91
    // (the top level says input 181, cache_read 0, output 8: only the last iteration)
    const res = fold(events);
    expectCounts(res.usage, { inputUncached: 281, cacheRead: 55096, cacheWrite5m: 0, cacheWrite1h: 0, output: 91 });
    expect(res.content).toEqual([{ type: 'text', text: 'Hello! 👋' }]);
  });

  it('compaction iterations are summed in a non-streamed body too', () => {
    const wire = {
      input_tokens: 181,
      output_tokens: 8,
      cache_read_input_tokens: 0,
      iterations: [
        { input_tokens: 100, output_tokens: 83, cache_read_input_tokens: 55096, cache_creation_input_tokens: 10, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 10 } },
        { input_tokens: 181, output_tokens: 8, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      ],
    };
    expectCounts(parseAnthropicUsage(wire), { inputUncached: 281, cacheRead: 55096, cacheWrite1h: 10, output: 91 });
  });

  it('test_anthropic_cache_real_api: read 1111, then read 1111 + write 418 (5m)', () => {
    const calls = completionCalls(cassette('anthropic', 'test_anthropic_cache_real_api.yaml'));
    expect(calls).toHaveLength(2);
    const [a, b] = calls.map((c) => parseAnthropicMessage(c.json).usage);
    // #0 usage: input_tokens 3, cache_read 1111, cache_creation 0 (5m 0, 1h 0), output_tokens 406
    expectCounts(a!, { inputUncached: 3, cacheRead: 1111, cacheWrite5m: 0, cacheWrite1h: 0, output: 406 });
    // #1 usage: input_tokens 3, cache_read 1111, cache_creation 418 (ephemeral_5m 418, 1h 0), output_tokens 33
    expectCounts(b!, { inputUncached: 3, cacheRead: 1111, cacheWrite5m: 418, cacheWrite1h: 0, output: 33 });
  });

  it('test_inline_system_prompt_cache_prefix_is_reused: write 1590 then read 1590', () => {
    const calls = completionCalls(cassette('anthropic', 'test_inline_system_prompt_cache_prefix_is_reused.yaml'));
    const [a, b] = calls.map((c) => parseAnthropicMessage(c.json).usage);
    // #0 usage: input_tokens 2, cache_creation 1590 (ephemeral_5m 1590), cache_read 0, output 4, thinking_tokens 0
    expectCounts(a!, { inputUncached: 2, cacheRead: 0, cacheWrite5m: 1590, cacheWrite1h: 0, output: 4, reasoning: 0 });
    // #1 usage: input_tokens 2, cache_creation 0, cache_read 1590, output 4
    expectCounts(b!, { inputUncached: 2, cacheRead: 1590, cacheWrite5m: 0, cacheWrite1h: 0, output: 4, reasoning: 0 });
  });

  it('code execution with files: server tool blocks are skipped, usage kept', () => {
    const calls = completionCalls(cassette('anthropic', 'test_anthropic_code_execution_files_cache_prefix_stable[messages-sonnet-4-6].yaml'));
    expect(calls).toHaveLength(2);
    const [a, b] = calls.map((c) => parseAnthropicMessage(c.json));
    // #1 usage: input 10, cache_read 4332, cache_creation 4513 (5m 4513), output 211
    expectCounts(a!.usage, { inputUncached: 10, cacheRead: 4332, cacheWrite5m: 4513, cacheWrite1h: 0, output: 211 });
    // #2 usage: input 4, cache_read 9134, cache_creation 237 (5m 237), output 156
    expectCounts(b!.usage, { inputUncached: 4, cacheRead: 9134, cacheWrite5m: 237, cacheWrite1h: 0, output: 156 });
    // content: server_tool_use, bash_code_execution_tool_result, text → only the text survives
    expect(a!.content.map((p) => p.type)).toEqual(['text']);
  });

  it('thinking stream cassette (raw SSE with padding after the JSON)', () => {
    const [call] = completionCalls(cassette('anthropic', 'test_anthropic_model_thinking_part_stream.yaml'));
    const res = fold(decodeAnthropicSse(call?.sse ?? ''));
    // message_start input_tokens 43 / output 1; message_delta input 43, output_tokens 282
    expectCounts(res.usage, { inputUncached: 43, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 282 });
    expect(res.id).toBe('msg_01ALwQ87pTS7hH1PjSdC9wJD');
    expect(res.model).toBe('claude-sonnet-4-20250514');
    expect(res.content.map((p) => p.type)).toEqual(['thinking', 'text']);
    const thinking = res.content[0];
    expect(thinking?.type === 'thinking' && thinking.signature?.startsWith('EvMCCkYICxgC')).toBe(true);
  });
});

describe('parseAnthropicUsage / mergeAnthropicUsage edge cases', () => {
  it('a message_delta total without breakdown after a 1h-only write is attributed to 1h', () => {
    const start = parseAnthropicUsage({ input_tokens: 5, cache_creation_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100 }, output_tokens: 1 });
    const merged = mergeAnthropicUsage(start, { cache_creation_input_tokens: 120, output_tokens: 9 });
    expectCounts(merged, { inputUncached: 5, cacheWrite5m: 0, cacheWrite1h: 120, output: 9 });
  });

  it('a total after a mixed 5m+1h write has an unknown TTL', () => {
    const start = parseAnthropicUsage({ input_tokens: 5, cache_creation_input_tokens: 30, cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 } });
    const merged = mergeAnthropicUsage(start, { cache_creation_input_tokens: 40, output_tokens: 2 });
    expect(usageCounts(merged)).toMatchObject({ cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: 40 });
    expect(cacheWriteTotal(merged)).toBe(40);
  });

  it('a message_delta with only output_tokens keeps message_start input and cache counts', () => {
    const start = parseAnthropicUsage({ input_tokens: 7, cache_read_input_tokens: 50, cache_creation_input_tokens: 0, output_tokens: 1 });
    const merged = mergeAnthropicUsage(start, { output_tokens: 12 });
    expect(usageCounts(merged)).toEqual({ inputUncached: 7, cacheRead: 50, cacheWrite5m: 0, cacheWrite1h: 0, cacheWriteUnknownTtl: 0, output: 12 });
  });

  it('missing or malformed fields are unknown, never 0', () => {
    expect(usageCounts(parseAnthropicUsage(undefined))).toEqual({});
    expect(usageCounts(parseAnthropicUsage({ input_tokens: 'x', output_tokens: -1 }))).toEqual({});
    expect(usageCounts(parseAnthropicUsage({ output_tokens: 4 }))).toEqual({ output: 4 });
  });
});
