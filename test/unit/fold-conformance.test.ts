/**
 * Conformance: folding a stream gives the non-streamed answer, and usage is the same on every path.
 *
 * The captured vercel/ai json + chunks pairs are NOT the same generation (different ids, text and
 * usage: anthropic-text 29 vs 30 output tokens, tool-no-args 602/93 vs 565/48, clear-thinking 33 vs
 * 53 output tokens), so for them only the structure is compared. Exact equality is checked where the
 * two sides describe one answer: fold(responseToEvents(x)) = x, and a folded stream re-rendered
 * through each surface's non-stream encoder and parsed back.
 */
import { describe, expect, it } from 'vitest';
import { responseToEvents } from '../../src/core/collect.js';
import type { CanonicalResponse, OutputPart } from '../../src/core/response.js';
import { cacheWriteTotal, totalInput, usageCounts } from '../../src/core/usage.js';
import { encodeAnthropicResponse } from '../../src/protocols/anthropic-messages/encode.js';
import { encodeOpenAIResponse } from '../../src/protocols/openai-chat/encode.js';
import { parseAnthropicMessage } from '../../src/providers/anthropic/parse-response.js';
import { parseOpenAICompletion } from '../../src/providers/openai/parse-response.js';
import { cassette, completionCalls, decodeAnthropicChunks, decodeAnthropicSse, decodeOpenAISse, fixtureChunks, fixtureJson, fold, textOf } from './fixtures.js';

const PAIRS = ['anthropic-text', 'anthropic-tool-no-args', 'anthropic-clear-thinking.1'] as const;

function shape(part: OutputPart): unknown {
  switch (part.type) {
    case 'text':
      return { type: 'text', empty: part.text === '' };
    case 'thinking':
      return { type: 'thinking', signed: (part.signature ?? '') !== '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking' };
    case 'tool_call':
      return { type: 'tool_call', name: part.name, args: JSON.parse(part.arguments) as unknown };
  }
}

/** Everything a client can see, minus the raw provider usage. */
function comparable(res: CanonicalResponse): unknown {
  return { id: res.id, model: res.model, content: res.content, stopReason: res.stopReason, stopSequence: res.stopSequence, usage: usageCounts(res.usage) };
}

function anthropicStreams(): { name: string; res: CanonicalResponse }[] {
  const names = [
    'anthropic-text.chunks.txt',
    'anthropic-tool-no-args.chunks.txt',
    'anthropic-clear-thinking.1.chunks.txt',
    'anthropic-refusal.chunks.txt',
    'anthropic-message-delta-input-tokens.chunks.txt',
    'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt',
  ];
  const out = names.map((name) => ({ name, res: fold(decodeAnthropicChunks(fixtureChunks('anthropic', name))) }));
  for (const file of ['test_anthropic_compaction_usage_with_cache_streaming.yaml', 'test_anthropic_model_thinking_part_stream.yaml']) {
    for (const call of completionCalls(cassette('anthropic', file))) out.push({ name: file, res: fold(decodeAnthropicSse(call.sse ?? '')) });
  }
  return out;
}

describe('captured json/chunks pairs (different generations: structure only)', () => {
  for (const name of PAIRS) {
    it(name, () => {
      const whole = parseAnthropicMessage(fixtureJson('anthropic', `${name}.json`));
      const streamed = fold(decodeAnthropicChunks(fixtureChunks('anthropic', `${name}.chunks.txt`)));
      expect(streamed.content.map(shape)).toEqual(whole.content.map(shape));
      expect(streamed.stopReason).toBe(whole.stopReason);
      expect(Object.keys(usageCounts(streamed.usage)).sort()).toEqual(Object.keys(usageCounts(whole.usage)).sort());
    });
  }
});

describe('folded streams, literal answers read from the chunks files', () => {
  it('anthropic-text.chunks.txt: the text_delta pieces joined', () => {
    const res = fold(decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-text.chunks.txt')));
    expect(res).toMatchObject({ id: 'msg_01QC4g3HwBThD4BaNtBckFDJ', model: 'claude-sonnet-4-5-20250929', stopReason: 'end_turn' });
    expect(res.content).toEqual([{ type: 'text', text: "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?" }]);
  });

  it('anthropic-tool-no-args.chunks.txt: text then a tool call whose empty input folds to {}', () => {
    const res = fold(decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-tool-no-args.chunks.txt')));
    expect(res.content).toEqual([
      { type: 'text', text: "I'll update the issue list for you." },
      { type: 'tool_call', id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', arguments: '{}' },
    ]);
    expect(res.stopReason).toBe('tool_use');
  });

  it('anthropic-clear-thinking.1.chunks.txt: thinking deltas, signature, text', () => {
    const res = fold(decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-clear-thinking.1.chunks.txt')));
    expect(res.content).toHaveLength(2);
    expect(res.content[0]).toMatchObject({ type: 'thinking', text: 'The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185' });
    const thinking = res.content[0];
    expect(thinking?.type === 'thinking' ? thinking.signature : undefined).toMatch(/^EvQBCkYICxgCKkAxhD4N.*BgB$/);
    expect(res.content[1]).toEqual({ type: 'text', text: '925 ÷ 5 = 185' });
  });

  it('code execution: server tool blocks have no canonical form; only the final text remains', () => {
    const res = fold(decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt')));
    expect(res.content).toEqual([{ type: 'text', text: 'The sum of the squares of the numbers 1 through 12 is **650**.' }]);
    expect(res.stopReason).toBe('end_turn');
  });
});

describe('fold(responseToEvents(x)) = x for every non-streamed fixture', () => {
  const wholes: { name: string; res: CanonicalResponse }[] = [
    ...PAIRS.map((name) => ({ name, res: parseAnthropicMessage(fixtureJson('anthropic', `${name}.json`)) })),
    { name: 'openai-text', res: parseOpenAICompletion(fixtureJson('openai', 'openai-text.json')) },
    ...completionCalls(cassette('anthropic', 'test_anthropic_cache_real_api.yaml')).map((c) => ({ name: 'cache_real_api', res: parseAnthropicMessage(c.json) })),
    ...completionCalls(cassette('openai', 'test_openai_chat_prompt_cache_e2e.yaml')).map((c) => ({ name: 'openai cache e2e', res: parseOpenAICompletion(c.json) })),
  ];
  for (const { name, res } of wholes) {
    it(name, () => {
      const folded = fold(responseToEvents(res));
      expect(comparable(folded)).toEqual(comparable(res));
    });
  }
});

describe('a folded stream rendered as a non-stream answer on each surface says the same thing', () => {
  for (const { name, res } of anthropicStreams()) {
    it(`${name} via the Anthropic surface`, () => {
      const wire = encodeAnthropicResponse(res, res.model);
      const back = parseAnthropicMessage(JSON.parse(JSON.stringify(wire)));
      expect(back.content).toEqual(res.content);
      expect(back.stopReason).toBe(res.stopReason);
      expect(totalInput(back.usage)).toBe(totalInput(res.usage) ?? 0);
      expect(back.usage.inputUncached).toBe(res.usage.inputUncached ?? 0);
      expect(back.usage.cacheRead).toBe(res.usage.cacheRead ?? 0);
      expect(back.usage.cacheWrite1h).toBe(res.usage.cacheWrite1h ?? 0);
      expect(back.usage.output).toBe(res.usage.output ?? 0);
    });

    it(`${name} via the OpenAI surface`, () => {
      const back = parseOpenAICompletion(JSON.parse(JSON.stringify(encodeOpenAIResponse(res, res.model))));
      expect(textOf(back)).toBe(textOf(res));
      const calls = (r: CanonicalResponse) => r.content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, name: p.name, args: JSON.parse(p.arguments) as unknown }] : []));
      expect(calls(back)).toEqual(calls(res));
      expect(totalInput(back.usage)).toBe(totalInput(res.usage) ?? 0);
      expect(back.usage.cacheRead).toBe(res.usage.cacheRead ?? 0);
      expect(cacheWriteTotal(back.usage)).toBe(cacheWriteTotal(res.usage) ?? 0);
      expect(back.usage.output).toBe(res.usage.output ?? 0);
    });
  }

  it('OpenAI run_stream tool call via the OpenAI surface', () => {
    const [first] = completionCalls(cassette('openai', 'test_run_stream_sync_streams_real_model.yaml'));
    const res = fold(decodeOpenAISse(first?.sse ?? ''));
    const wire = encodeOpenAIResponse(res, 'gpt-4o-mini');
    const back = parseOpenAICompletion(JSON.parse(JSON.stringify(wire)));
    expect(back.content).toEqual(res.content);
    expect(back.stopReason).toBe('tool_use');
    expect(usageCounts(back.usage)).toMatchObject(usageCounts(res.usage));
    // prompt 53 / completion 15 from the cassette's usage chunk
    expect(wire.usage).toMatchObject({ prompt_tokens: 53, completion_tokens: 15, total_tokens: 68 });
  });
});
