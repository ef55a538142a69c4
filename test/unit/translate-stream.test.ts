/**
 * Translation through the canonical model (principle 4): a provider stream decoded, then encoded for
 * a client of the other dialect, must be a valid stream of that dialect carrying the same answer and
 * usage.
 */
import { describe, expect, it } from 'vitest';
import { isObject, type JsonObject } from '../../src/core/json.js';
import type { StreamEvent } from '../../src/core/response.js';
import { totalInput } from '../../src/core/usage.js';
import { AnthropicStreamEncoder } from '../../src/protocols/anthropic-messages/encode.js';
import { OpenAIStreamEncoder } from '../../src/protocols/openai-chat/encode.js';
import {
  cassette,
  completionCalls,
  decodeAnthropicChunks,
  decodeAnthropicSse,
  decodeOpenAIChunks,
  decodeOpenAISse,
  fixtureChunks,
  fold,
  sseEventsOf,
  sseJson,
  textOf,
} from './fixtures.js';

interface Answer {
  text: string;
  thinking: string;
  tools: { id: string; name: string; args: unknown }[];
  stop: string | undefined;
  usage: JsonObject | undefined;
}

/** Parse an OpenAI chunk stream strictly: every event a chat.completion.chunk, one finish, [DONE] last. */
function readOpenAISse(sse: string, includeUsage: boolean): Answer {
  const events = sseEventsOf(sse);
  expect(events.at(-1)?.event?.data).toBe('[DONE]');
  const chunks = events.slice(0, -1).map(({ event }) => JSON.parse(event?.data ?? '') as JsonObject);
  const ids = new Set(chunks.map((c) => c.id));
  expect(ids.size).toBe(1);
  const answer: Answer = { text: '', thinking: '', tools: [], stop: undefined, usage: undefined };
  const toolArgs = new Map<number, string>();
  for (const [i, chunk] of chunks.entries()) {
    expect(chunk.object).toBe('chat.completion.chunk');
    const choices = chunk.choices as JsonObject[];
    // LiteLLM's shape: no null members anywhere (exclude_none), usage only on the final chunk,
    // which carries one empty choice instead of OpenAI's `choices: []`.
    expect(JSON.stringify(chunk)).not.toContain(':null');
    if ('usage' in chunk) {
      expect(i).toBe(chunks.length - 1);
      expect(choices).toEqual([{ index: 0, delta: {} }]);
      answer.usage = chunk.usage as JsonObject;
      continue;
    }
    expect(choices).toHaveLength(1);
    const choice = choices[0]!;
    const delta = choice.delta as JsonObject;
    if (i === 0) expect(delta.role).toBe('assistant');
    if (typeof delta.content === 'string') answer.text += delta.content;
    if (typeof delta.reasoning_content === 'string') answer.thinking += delta.reasoning_content;
    for (const call of (delta.tool_calls as JsonObject[] | undefined) ?? []) {
      const index = call.index as number;
      const fn = call.function as JsonObject;
      if (!toolArgs.has(index)) {
        // the first delta of a tool call names it
        expect(typeof call.id, `first delta of tool call ${index} has no id: ${JSON.stringify(call)}`).toBe('string');
        expect(typeof fn.name, `first delta of tool call ${index} has no name`).toBe('string');
        answer.tools.push({ id: call.id as string, name: fn.name as string, args: undefined });
        toolArgs.set(index, '');
      }
      toolArgs.set(index, toolArgs.get(index)! + ((fn.arguments as string | undefined) ?? ''));
    }
    if (choice.finish_reason !== undefined) {
      expect(answer.stop).toBeUndefined();
      answer.stop = choice.finish_reason as string;
    }
  }
  for (const [index, args] of toolArgs) answer.tools[index]!.args = JSON.parse(args === '' ? '{}' : args);
  expect(answer.usage !== undefined).toBe(includeUsage);
  return answer;
}

/** Parse an Anthropic stream strictly: event names match types, blocks start before deltas and stop. */
function readAnthropicSse(sse: string): Answer {
  const events = sseEventsOf(sse).map(({ event }) => {
    const data = JSON.parse(event?.data ?? '') as JsonObject;
    expect(event?.event).toBe(data.type);
    return data;
  });
  expect(events[0]?.type, `first event: ${JSON.stringify(events[0])}`).toBe('message_start');
  expect(events.at(-1)?.type).toBe('message_stop');
  expect(events.at(-2)?.type).toBe('message_delta');
  const answer: Answer = { text: '', thinking: '', tools: [], stop: undefined, usage: undefined };
  const open = new Map<number, string>();
  const closed = new Set<number>();
  const toolJson = new Map<number, string>();
  for (const e of events.slice(1, -2)) {
    const index = e.index as number;
    if (e.type === 'content_block_start') {
      expect(open.has(index) || closed.has(index)).toBe(false);
      const block = e.content_block as JsonObject;
      open.set(index, block.type as string);
      if (block.type === 'tool_use') {
        answer.tools.push({ id: block.id as string, name: block.name as string, args: undefined });
        toolJson.set(index, '');
      }
    } else if (e.type === 'content_block_delta') {
      expect(open.has(index), `delta for block ${index} that was never started`).toBe(true);
      const delta = e.delta as JsonObject;
      if (delta.type === 'text_delta') answer.text += delta.text as string;
      if (delta.type === 'thinking_delta') answer.thinking += delta.thinking as string;
      if (delta.type === 'input_json_delta') toolJson.set(index, toolJson.get(index)! + (delta.partial_json as string));
    } else if (e.type === 'content_block_stop') {
      expect(open.delete(index)).toBe(true);
      closed.add(index);
    } else {
      throw new Error(`unexpected event ${String(e.type)} between message_start and message_delta`);
    }
  }
  expect(open.size).toBe(0);
  for (const [i, json] of [...toolJson.values()].entries()) answer.tools[i]!.args = JSON.parse(json === '' ? '{}' : json) as unknown;
  const last = events.at(-2)!;
  answer.stop = (last.delta as JsonObject).stop_reason as string;
  answer.usage = last.usage as JsonObject;
  return answer;
}

function toOpenAI(events: StreamEvent[], includeUsage: boolean): string {
  const encoder = new OpenAIStreamEncoder('client-model', includeUsage);
  return events.map((e) => encoder.encode(e)).join('') + encoder.end();
}

function toAnthropic(events: StreamEvent[]): string {
  const encoder = new AnthropicStreamEncoder('client-model');
  return events.map((e) => encoder.encode(e)).join('') + encoder.end();
}

function toolsOf(events: StreamEvent[]): { id: string; name: string; args: unknown }[] {
  return fold(events).content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, name: p.name, args: JSON.parse(p.arguments) as unknown }] : []));
}

const ANTHROPIC_STREAMS: { name: string; events: () => StreamEvent[]; stop: string }[] = [
  { name: 'anthropic-text', events: () => decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-text.chunks.txt')), stop: 'stop' },
  { name: 'anthropic-tool-no-args', events: () => decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-tool-no-args.chunks.txt')), stop: 'tool_calls' },
  { name: 'anthropic-clear-thinking.1', events: () => decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-clear-thinking.1.chunks.txt')), stop: 'stop' },
  { name: 'anthropic-refusal', events: () => decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-refusal.chunks.txt')), stop: 'content_filter' },
  { name: 'anthropic-code-execution (server tools)', events: () => decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt')), stop: 'stop' },
  {
    name: 'compaction cassette',
    events: () => decodeAnthropicSse(completionCalls(cassette('anthropic', 'test_anthropic_compaction_usage_with_cache_streaming.yaml'))[0]?.sse ?? ''),
    stop: 'stop',
  },
  {
    name: 'thinking cassette',
    events: () => decodeAnthropicSse(completionCalls(cassette('anthropic', 'test_anthropic_model_thinking_part_stream.yaml'))[0]?.sse ?? ''),
    stop: 'stop',
  },
];

describe('Anthropic provider stream → OpenAI client stream', () => {
  for (const { name, events, stop } of ANTHROPIC_STREAMS) {
    it(name, () => {
      const decoded = events();
      const original = fold(decoded);
      const answer = readOpenAISse(toOpenAI(decoded, true), true);
      expect(answer.text).toBe(textOf(original));
      expect(answer.thinking).toBe(original.content.flatMap((p) => (p.type === 'thinking' ? [p.text] : [])).join(''));
      expect(answer.tools).toEqual(toolsOf(decoded));
      expect(answer.stop).toBe(stop);
      expect(answer.usage).toMatchObject({ prompt_tokens: totalInput(original.usage), completion_tokens: original.usage.output, prompt_tokens_details: { cached_tokens: original.usage.cacheRead } });
      // without include_usage: no usage chunk at all
      readOpenAISse(toOpenAI(decoded, false), false);
    });
  }

  it('the code-execution stream: usage numbers from its message_delta (input 6 + read 6289 + write 3337)', () => {
    const decoded = decodeAnthropicChunks(fixtureChunks('anthropic', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt'));
    const usage = sseJson(toOpenAI(decoded, true)).at(-1)?.usage;
    expect(usage).toMatchObject({ prompt_tokens: 6 + 6289 + 3337, completion_tokens: 198, prompt_tokens_details: { cached_tokens: 6289, cache_creation_tokens: 3337 } });
  });
});

describe('Anthropic provider stream → Anthropic client stream (canonical path) stays valid', () => {
  for (const { name, events } of ANTHROPIC_STREAMS) {
    it(name, () => {
      const decoded = events();
      const original = fold(decoded);
      const answer = readAnthropicSse(toAnthropic(decoded));
      expect(answer.text).toBe(textOf(original));
      expect(answer.tools).toEqual(toolsOf(decoded));
      expect(answer.usage).toMatchObject({ input_tokens: original.usage.inputUncached, output_tokens: original.usage.output });
    });
  }
});

const OPENAI_STREAMS: { name: string; events: () => StreamEvent[] }[] = [
  ...[0, 1].map((i) => ({
    name: `run_stream #${i}`,
    events: () => decodeOpenAISse(completionCalls(cassette('openai', 'test_run_stream_sync_streams_real_model.yaml'))[i]?.sse ?? ''),
  })),
  { name: 'azure-model-router', events: () => decodeOpenAIChunks(fixtureChunks('openai', 'azure-model-router.1.chunks.txt')) },
];

describe('OpenAI provider stream → Anthropic client stream', () => {
  for (const { name, events } of OPENAI_STREAMS) {
    it(name, () => {
      const decoded = events();
      const original = fold(decoded);
      const sse = toAnthropic(decoded);
      const answer = readAnthropicSse(sse);
      expect(answer.text).toBe(textOf(original));
      expect(answer.tools).toEqual(toolsOf(decoded));
      // The final message_delta carries the complete usage (OpenAI reports it last).
      expect(answer.usage).toMatchObject({
        input_tokens: original.usage.inputUncached,
        cache_read_input_tokens: original.usage.cacheRead,
        output_tokens: original.usage.output,
      });
      // Decoding our own output again gives the same answer.
      const again = fold(decodeAnthropicSse(sse));
      expect(again.content).toEqual(original.content);
      expect(again.stopReason).toBe(original.stopReason);
      expect(totalInput(again.usage)).toBe(totalInput(original.usage));
    });
  }

  it('run_stream #0: tool_use block with the call id, name and arguments; usage 53/15', () => {
    const decoded = OPENAI_STREAMS[0]!.events();
    const answer = readAnthropicSse(toAnthropic(decoded));
    expect(answer.tools).toEqual([{ id: 'call_ZR5UUuTt3pf61kjwAJIYdVMj', name: 'get_capital', args: { country: 'UK' } }]);
    expect(answer.stop).toBe('tool_use');
    // cassette usage chunk: prompt_tokens 53, completion_tokens 15, cached_tokens 0
    expect(answer.usage).toMatchObject({ input_tokens: 53, output_tokens: 15, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });

  it('run_stream #1: text blocks and end_turn; usage 78/9', () => {
    const answer = readAnthropicSse(toAnthropic(OPENAI_STREAMS[1]!.events()));
    expect(answer.text).toBe('The capital of the UK is London.');
    expect(answer.stop).toBe('end_turn');
    expect(answer.usage).toMatchObject({ input_tokens: 78, output_tokens: 9 });
  });

  it('an OpenAI cached prompt becomes input_tokens (uncached) + cache_read_input_tokens', () => {
    const base = { id: 'chatcmpl-x', object: 'chat.completion.chunk', model: 'gpt' };
    const decoded = decodeOpenAIChunks([
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'OK' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      // the shape of test_openai_chat_prompt_cache_e2e #1's usage
      { ...base, choices: [], usage: { prompt_tokens: 4020, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 4012 } } },
    ]);
    const answer = readAnthropicSse(toAnthropic(decoded));
    expect(answer.usage).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 4012, output_tokens: 4 });
  });
});

describe('encoders emit nothing that is not JSON', () => {
  it('every OpenAI and Anthropic data line parses', () => {
    const decoded = OPENAI_STREAMS[0]!.events();
    for (const { event } of sseEventsOf(toOpenAI(decoded, true))) {
      if (event?.data !== '[DONE]') expect(isObject(JSON.parse(event?.data ?? 'null'))).toBe(true);
    }
  });
});
