/**
 * The Responses API surface on its own: a stream encoded from canonical events folds to the same
 * response the non-stream encoder renders (for every captured Anthropic stream, thinking and tool
 * calls included), reasoning round-trips through `encrypted_content`, a Codex-shaped body decodes
 * to the canonical turn structure, and the passthrough tap reads usage from the captured OpenAI
 * Responses streams as their `response.completed` states it.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import type { StreamEvent } from '../../src/core/response.js';
import { totalInput, usageCounts } from '../../src/core/usage.js';
import { decodeResponsesRequest } from '../../src/protocols/openai-responses/decode-request.js';
import { encodeResponsesResponse, ResponsesStreamEncoder } from '../../src/protocols/openai-responses/encode.js';
import { validateResponsesRequest } from '../../src/protocols/openai-responses/validate-request.js';
import { ResponsesTapInspector } from '../../src/providers/openai/responses-tap.js';
import { parseResponsesUsage } from '../../src/providers/openai/responses-usage.js';
import { tapSseStream } from '../../src/providers/shared/stream-tap.js';
import type { StreamTap } from '../../src/providers/types.js';
import { bodyOf, cassette, completionCalls, decodeAnthropicChunks, decodeAnthropicSse, drain, fixtureChunks, fixtureJson, fold, sseJson } from './fixtures.js';

function anthropicStreams(): { name: string; events: StreamEvent[] }[] {
  const names = ['anthropic-text.chunks.txt', 'anthropic-tool-no-args.chunks.txt', 'anthropic-clear-thinking.1.chunks.txt', 'anthropic-refusal.chunks.txt'];
  const out = names.map((name) => ({ name, events: decodeAnthropicChunks(fixtureChunks('anthropic', name)) }));
  for (const file of ['test_anthropic_compaction_usage_with_cache_streaming.yaml', 'test_anthropic_model_thinking_part_stream.yaml']) {
    for (const call of completionCalls(cassette('anthropic', file))) out.push({ name: file, events: decodeAnthropicSse(call.sse ?? '') });
  }
  return out;
}

function encodeStream(events: StreamEvent[], extra?: Record<string, unknown>): JsonObject[] {
  const encoder = new ResponsesStreamEncoder('m');
  return sseJson(events.map((e) => encoder.encode(e)).join('') + encoder.end(extra));
}

/** Output items without their generated ids. */
function withoutIds(items: unknown): unknown {
  return (items as JsonObject[]).map(({ id: _id, ...rest }) => rest);
}

/** What a client assembles from the deltas, item by item (as the SDK's ResponseStream does). */
function foldDeltas(events: JsonObject[]): Map<number, string> {
  const text = new Map<number, string>();
  for (const e of events) {
    if (e.type === 'response.output_text.delta' || e.type === 'response.function_call_arguments.delta' || e.type === 'response.reasoning_summary_text.delta') {
      const index = e.output_index as number;
      text.set(index, (text.get(index) ?? '') + (e.delta as string));
    }
  }
  return text;
}

describe('stream encoder: folding the stream equals the non-stream response', () => {
  for (const { name, events } of anthropicStreams()) {
    it(name, () => {
      const stream = encodeStream(events, { cost: 0.5 });
      const whole = encodeResponsesResponse(fold(events), 'm', { cost: 0.5 });
      expect(stream.map((e) => e.sequence_number)).toEqual(stream.map((_, i) => i));
      expect(stream.slice(0, 2).map((e) => e.type)).toEqual(['response.created', 'response.in_progress']);
      const last = stream.at(-1)!;
      expect(last.type).toBe(whole.status === 'completed' ? 'response.completed' : 'response.incomplete');
      const final = last.response as JsonObject;
      expect(withoutIds(final.output)).toEqual(withoutIds(whole.output));
      expect(final.usage).toEqual(whole.usage);
      expect(final.status).toBe(whole.status);
      // Every item's deltas add up to what its done event and the final response say.
      const deltas = foldDeltas(stream);
      const done = stream.filter((e) => e.type === 'response.output_item.done');
      expect(done.map((e) => e.output_index)).toEqual(done.map((_, i) => i).sort((a, b) => a - b).filter((i) => done.some((d) => d.output_index === i)));
      for (const e of done) {
        const item = e.item as JsonObject;
        const folded = deltas.get(e.output_index as number) ?? '';
        if (item.type === 'message') expect(((item.content as JsonObject[])[0] as JsonObject).text).toBe(folded);
        if (item.type === 'function_call') expect(item.arguments).toBe(folded);
        if (item.type === 'reasoning' && folded !== '') expect(((item.summary as JsonObject[])[0] as JsonObject).text).toBe(folded);
      }
    });
  }

  it('usage: input_tokens counts uncached + cache reads + writes; output includes reasoning', () => {
    const events: StreamEvent[] = [
      { type: 'start', id: 'x', model: 'm' },
      { type: 'usage', usage: { inputUncached: 3, cacheRead: 1111, cacheWrite5m: 418, output: 33, reasoning: 10 } },
      { type: 'text', index: 0, text: 'hi' },
      { type: 'block_stop', index: 0 },
      { type: 'finish', stopReason: 'end_turn' },
    ];
    const final = encodeStream(events).at(-1)!.response as JsonObject;
    expect(final.usage).toEqual({
      input_tokens: 3 + 1111 + 418,
      input_tokens_details: { cached_tokens: 1111, cache_write_tokens: 418 },
      output_tokens: 33,
      output_tokens_details: { reasoning_tokens: 10 },
      total_tokens: 3 + 1111 + 418 + 33,
    });
  });

  it('max_tokens ends in response.incomplete with the reason', () => {
    const stream = encodeStream([{ type: 'text', index: 0, text: 'cut' }, { type: 'finish', stopReason: 'max_tokens' }]);
    expect(stream.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('a mid-stream error is an error event and response.failed, as OpenAI sends them', () => {
    const encoder = new ResponsesStreamEncoder('m');
    const head = encoder.encode({ type: 'text', index: 0, text: 'partial' });
    const events = sseJson(head + encoder.error(Object.assign(new Error('boom'), { code: 'overloaded', status: 529, type: 'overloaded_error' }) as never));
    expect(events.slice(-2).map((e) => e.type)).toEqual(['error', 'response.failed']);
    expect(events.at(-2)).toMatchObject({ error: { code: 'overloaded_error', message: 'boom' } });
    expect(events.at(-1)).toMatchObject({ response: { status: 'failed', error: { code: 'overloaded_error', message: 'boom' } } });
  });
});

describe('reasoning round trip through encrypted_content', () => {
  it('a signed thinking block comes back as the same signed block; foreign reasoning is left out', () => {
    const events = decodeAnthropicSse(completionCalls(cassette('anthropic', 'test_anthropic_model_thinking_part_stream.yaml'))[0]!.sse ?? '');
    const canonical = fold(events);
    const thinking = canonical.content.find((p) => p.type === 'thinking');
    expect(thinking?.type === 'thinking' && (thinking.signature ?? '') !== '').toBe(true);
    const output = encodeResponsesResponse(canonical, 'm').output as JsonObject[];
    const reasoning = output.find((i) => i.type === 'reasoning')!;
    const decoded = decodeResponsesRequest({
      model: 'm',
      input: [
        { role: 'user', content: 'q' },
        ...output,
        { type: 'reasoning', id: 'rs_x', summary: [], encrypted_content: 'gAAAAABforeign' },
        { role: 'user', content: 'again' },
      ],
    });
    expect(decoded.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const parts = decoded.messages[1]!.content;
    expect(parts[0]).toEqual({ type: 'thinking', text: thinking?.type === 'thinking' ? thinking.text : '', signature: thinking?.type === 'thinking' ? thinking.signature : '' });
    expect(reasoning.encrypted_content).toBe(`tollgate.thinking.v1:${thinking?.type === 'thinking' ? thinking.signature : ''}`);
    expect(parts.filter((p) => p.type === 'thinking')).toHaveLength(1);
  });
});

describe('decode: a Codex-shaped body', () => {
  const body = {
    model: 'gpt-5-codex',
    instructions: 'You are Codex.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'run ls' }] },
      { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' },
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
    ],
    tools: [
      { type: 'function', name: 'exec_command', description: 'Run', parameters: { type: 'object', properties: { cmd: { type: 'string' } } }, strict: false },
      { type: 'web_search' },
      { type: 'namespace', name: 'mcp' },
    ],
    tool_choice: 'auto',
    reasoning: { effort: 'medium', summary: 'auto' },
    include: ['reasoning.encrypted_content'],
    store: false,
    stream: true,
    prompt_cache_key: 'session-1',
    max_output_tokens: 500,
  };

  it('turns, tools, limits; what cannot be translated is named', () => {
    const request = decodeResponsesRequest(validateResponsesRequest(body));
    expect(request.system.map((p) => p.text)).toEqual(['You are Codex.', '<permissions>']);
    expect(request.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'run ls' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_1', content: 'a.txt' }] },
    ]);
    expect(request.tools?.map((t) => t.name)).toEqual(['exec_command']);
    expect(request.toolChoice).toEqual({ type: 'auto' });
    expect(request.reasoning).toEqual({ effort: 'medium' });
    expect(request.maxTokens).toBe(500);
    expect(request.stream).toBe(true);
    expect(request.dropped).toEqual(['input item web_search_call', 'tool web_search', 'tool namespace']);
  });

  it('bad input is a 400 naming the field', () => {
    const bad = (b: unknown): unknown => {
      try {
        validateResponsesRequest(b);
        return decodeResponsesRequest(b as JsonObject);
      } catch (err) {
        return { status: (err as { status: number }).status, param: (err as { param?: string }).param };
      }
    };
    expect(bad({ model: 'm', input: 5 })).toEqual({ status: 400, param: 'input' });
    expect(bad({ model: 'm' })).toEqual({ status: 400, param: 'input' });
    expect(bad({ input: 'x' })).toEqual({ status: 400, param: 'model' });
    expect(bad({ model: 'm', input: [{ role: 'robot', content: 'x' }] })).toEqual({ status: 400, param: 'input[0].role' });
    expect(bad({ model: 'm', input: [{ type: 'function_call', name: 'f' }] })).toEqual({ status: 400, param: 'input[0].call_id' });
    expect(bad({ model: 'm', input: 'x', max_output_tokens: 0 })).toEqual({ status: 400, param: 'max_output_tokens' });
    expect(bad({ model: 'm', input: 'x', previous_response_id: 'resp_1' })).toEqual({ status: 400, param: 'previous_response_id' });
  });
});

describe('passthrough tap on captured OpenAI Responses streams', () => {
  const sseOf = (name: string): string => fixtureChunks('openai', name).map((c) => `event: ${String(c.type)}\ndata: ${JSON.stringify(c)}\n\n`).join('');

  it('openai-phase.1: usage from response.completed; cost added to that event only; other bytes untouched', async () => {
    const text = sseOf('openai-phase.1.chunks.txt');
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const out = await drain(tapSseStream(bodyOf([Buffer.from(text)]), new ResponsesTapInspector(() => ({ cost: 0.25 })), tap, 'openai', 'u'));
    expect(tap.completed).toBe(true);
    // 7112 input of which 3072 cached; 463 output of which 64 reasoning (SOURCES.md).
    expect(usageCounts(tap.usage)).toMatchObject({ inputUncached: 7112 - 3072, cacheRead: 3072, output: 463, reasoning: 64 });
    const events = sseJson(out.toString('utf8'));
    const original = sseJson(text);
    expect(events.slice(0, -1)).toEqual(original.slice(0, -1));
    expect((events.at(-1)!.response as JsonObject).usage).toEqual({ ...((original.at(-1)!.response as JsonObject).usage as JsonObject), cost: 0.25 });
  });

  it('openai-error.1: the error event is the call error; the stream is not completed', async () => {
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    await drain(tapSseStream(bodyOf([Buffer.from(sseOf('openai-error.1.chunks.txt'))]), new ResponsesTapInspector(), tap, 'openai', 'u'));
    expect(tap.completed).toBe(false);
    expect(tap.error?.message).toContain('You exceeded your current quota');
    expect(tap.answerStarted).toBe(true);
  });

  it('test_openai_responses_prompt_cache_e2e: explicit-cache writes (4012 of 4020), then reads of the same 4012', () => {
    const answers = cassette('openai', 'test_openai_responses_prompt_cache_e2e.yaml')
      .filter((c) => c.uri.endsWith('/v1/responses') && c.json !== undefined)
      .map((c) => parseResponsesUsage((c.json as JsonObject).usage));
    expect(answers).toHaveLength(2);
    expect(usageCounts(answers[0]!)).toMatchObject({ inputUncached: 8, cacheWriteUnknownTtl: 4012, cacheRead: 0, output: 5 });
    expect(usageCounts(answers[1]!)).toMatchObject({ inputUncached: 8, cacheWriteUnknownTtl: 0, cacheRead: 4012, output: 5 });
  });

  it('openai-phase.1.json: non-stream usage', () => {
    expect(usageCounts(parseResponsesUsage(fixtureJson('openai', 'openai-phase.1.json').usage))).toMatchObject({ inputUncached: 7243 - 3072, cacheRead: 3072, output: 423, reasoning: 58 });
  });
});

describe('captured OpenAI Responses streams: folding the stream gives the final response', () => {
  /** A chunks file holding one or more recorded streams, split at each response.created. */
  function streamsOf(name: string): JsonObject[][] {
    const streams: JsonObject[][] = [];
    for (const event of fixtureChunks('openai', name)) {
      if (event.type === 'response.created') streams.push([]);
      streams.at(-1)?.push(event);
    }
    return streams;
  }

  for (const name of ['openai-phase.1.chunks.txt', 'openai-reasoning-encrypted-content.1.chunks.txt']) {
    it(name, async () => {
      for (const events of streamsOf(name)) {
        const completed = events.find((e) => e.type === 'response.completed')!.response as JsonObject;
        // What a client builds from the items as they finish (Codex reads only these) is the final
        // output — but for `encrypted_content`, which OpenAI encrypts afresh for the final response.
        const withoutSecret = (item: unknown): unknown => {
          const { encrypted_content: _secret, ...rest } = item as JsonObject;
          return rest;
        };
        const folded = events.filter((e) => e.type === 'response.output_item.done').map((e) => withoutSecret(e.item));
        expect(folded).toEqual((completed.output as JsonObject[]).map(withoutSecret));
        // Each message's text deltas add up to its final text. openai-phase.1 was trimmed by its
        // recorder (sequence numbers jump): there the deltas kept are the text's beginning.
        const sequence = events.map((e) => e.sequence_number as number);
        const whole = sequence.every((n, i) => i === 0 || n === sequence[i - 1]! + 1);
        for (const item of completed.output as JsonObject[]) {
          if (item.type !== 'message') continue;
          const text = events.filter((e) => e.type === 'response.output_text.delta' && e.item_id === item.id).map((e) => e.delta as string).join('');
          const final = ((item.content as JsonObject[])[0] as JsonObject).text as string;
          expect(text.length).toBeGreaterThan(0);
          expect(whole ? text : final.slice(0, text.length)).toBe(whole ? final : text);
        }
        // The tap reads the same usage the final response states, on the stream's own bytes.
        const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
        const sse = events.map((c) => `event: ${String(c.type)}\ndata: ${JSON.stringify(c)}\n\n`).join('');
        await drain(tapSseStream(bodyOf([Buffer.from(sse)]), new ResponsesTapInspector(), tap, 'openai', 'u'));
        expect(usageCounts(tap.usage)).toEqual(usageCounts(parseResponsesUsage(completed.usage)));
        const usage = completed.usage as { input_tokens: number; output_tokens: number; input_tokens_details: { cached_tokens: number } };
        expect(totalInput(tap.usage)).toBe(usage.input_tokens);
        expect(tap.usage.cacheRead).toBe(usage.input_tokens_details.cached_tokens);
        expect(tap.usage.output).toBe(usage.output_tokens);
      }
    });
  }
});
