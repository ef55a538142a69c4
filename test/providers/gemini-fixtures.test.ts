/**
 * Gemini wire → canonical, on the captured responses in test/fixtures/providers/gemini. Every
 * expected number below was read from the fixture files (see SOURCES.md) and is written out with
 * the arithmetic that turns Gemini's counts into canonical usage:
 *   inputUncached = promptTokenCount − cachedContentTokenCount, cacheRead = cachedContentTokenCount,
 *   output = candidatesTokenCount + thoughtsTokenCount, reasoning = thoughtsTokenCount.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isObject, type JsonObject } from '../../src/core/json.js';
import type { CanonicalResponse, StreamEvent } from '../../src/core/response.js';
import { totalInput, usageCounts } from '../../src/core/usage.js';
import { GeminiStreamDecoder, parseGeminiResponse } from '../../src/providers/gemini/parse-response.js';
import { decodeToolCallId } from '../../src/providers/gemini/tool-ids.js';
import { parseGeminiUsage } from '../../src/providers/gemini/usage.js';
import { FIXTURES, fold, sseJson, textOf } from '../unit/fixtures.js';

const DIR = join(FIXTURES, 'gemini');

function fixtureJson(name: string): JsonObject {
  const parsed = JSON.parse(readFileSync(join(DIR, name), 'utf8')) as unknown;
  if (!isObject(parsed)) throw new Error(`${name} is not an object`);
  return parsed;
}

function fixtureChunks(name: string): JsonObject[] {
  return readFileSync(join(DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonObject);
}

interface Interaction { uri: string; json: JsonObject | undefined; sse: string | undefined }

function cassette(name: string): Interaction[] {
  const doc = parseYaml(readFileSync(join(DIR, name), 'utf8')) as { interactions: { request: { uri: string }; response: { parsed_body?: unknown; body?: { string?: string } } }[] };
  return doc.interactions
    .filter((it) => /:(generateContent|streamGenerateContent)/.test(it.request.uri))
    .map((it) => ({ uri: it.request.uri, json: isObject(it.response.parsed_body) ? it.response.parsed_body : undefined, sse: it.response.body?.string }));
}

function decode(chunks: JsonObject[]): StreamEvent[] {
  const decoder = new GeminiStreamDecoder('gemini');
  return [...chunks.flatMap((c) => decoder.decode(c)), ...decoder.end()];
}

/** The non-streamed form of a streamed answer: every chunk's parts in one candidate, the last chunk's usage and finish. */
function wholeOf(chunks: JsonObject[]): JsonObject {
  const parts = chunks.flatMap((c) => ((c.candidates as JsonObject[])[0]?.content as { parts?: unknown[] } | undefined)?.parts ?? []);
  const last = chunks.at(-1) as JsonObject;
  const candidate = (last.candidates as JsonObject[])[0] as JsonObject;
  return { ...last, candidates: [{ ...candidate, content: { role: 'model', parts } }] };
}

function comparable(res: CanonicalResponse): unknown {
  return { id: res.id, model: res.model, content: res.content, stopReason: res.stopReason, usage: usageCounts(res.usage) };
}

describe('usageMetadata → canonical usage', () => {
  it('test_google_model_cached_content.yaml: explicit cache, 3512 of 3520 prompt tokens cached, thoughts 42 then 51', () => {
    const [first, second] = cassette('test_google_model_cached_content.yaml').map((it) => parseGeminiResponse(it.json));
    expect(usageCounts(first!.usage)).toEqual({ inputUncached: 3520 - 3512, cacheRead: 3512, output: 2 + 42, reasoning: 42 });
    expect(usageCounts(second!.usage)).toEqual({ inputUncached: 3520 - 3512, cacheRead: 3512, output: 2 + 51, reasoning: 51 });
    // Nothing lost or double counted: canonical input + output is Gemini's totalTokenCount.
    expect(totalInput(first!.usage)! + first!.usage.output!).toBe(3564);
    expect(totalInput(second!.usage)! + second!.usage.output!).toBe(3573);
    expect(textOf(first!)).toBe('Paris.');
  });

  it('test_google_validated_accepts_what_auto_accepts[validated].yaml: implicit cache 594 of 859; thoughts 184 on the first call only', () => {
    const [first, second] = cassette('test_google_validated_accepts_what_auto_accepts[validated].yaml').map((it) => parseGeminiResponse(it.json));
    expect(usageCounts(first!.usage)).toEqual({ inputUncached: 776, cacheRead: 0, output: 59 + 184, reasoning: 184 });
    expect(usageCounts(second!.usage)).toEqual({ inputUncached: 859 - 594, cacheRead: 594, output: 28, reasoning: 0 });
    expect(totalInput(first!.usage)! + first!.usage.output!).toBe(1019);
    expect(totalInput(second!.usage)! + second!.usage.output!).toBe(887);
  });

  it('google-text.json: thoughtsTokenCount 244 is output beside candidatesTokenCount 28', () => {
    const res = parseGeminiResponse(fixtureJson('google-text.json'));
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 9, cacheRead: 0, output: 28 + 244, reasoning: 244 });
    expect(totalInput(res.usage)! + res.usage.output!).toBe(281);
    expect(res.usage.raw).toEqual(fixtureJson('google-text.json').usageMetadata);
  });

  it('keeps LiteLLM’s guard: when prompt + candidates = total, candidates already include the thoughts', () => {
    expect(usageCounts(parseGeminiUsage({ promptTokenCount: 10, candidatesTokenCount: 30, thoughtsTokenCount: 20, totalTokenCount: 40 }))).toEqual({
      inputUncached: 10, cacheRead: 0, output: 30, reasoning: 20,
    });
  });

  it('a report without counts (Vertex stream chunks: trafficType only) says nothing, it is not zero', () => {
    expect(usageCounts(parseGeminiUsage({ trafficType: 'ON_DEMAND' }))).toEqual({});
    expect(parseGeminiUsage(undefined)).toEqual({});
  });

  it('counts built-in tool prompts (toolUsePromptTokenCount) as input', () => {
    expect(usageCounts(parseGeminiUsage({ promptTokenCount: 100, cachedContentTokenCount: 40, toolUsePromptTokenCount: 7, candidatesTokenCount: 5, totalTokenCount: 112 }))).toEqual({
      inputUncached: 100 - 40 + 7, cacheRead: 40, output: 5, reasoning: 0,
    });
  });
});

describe('responses and streams → canonical', () => {
  it('google-text.json: the text, then its thought signature as a signature-only thinking block', () => {
    const json = fixtureJson('google-text.json');
    const res = parseGeminiResponse(json);
    const part = ((json.candidates as JsonObject[])[0]!.content as { parts: { text: string; thoughtSignature: string }[] }).parts[0]!;
    expect(res).toMatchObject({ id: 'Un6LacrVMcjUxs0PmJfWoQc', model: 'gemini-3-pro-preview', stopReason: 'end_turn' });
    expect(res.content).toEqual([
      { type: 'text', text: part.text },
      { type: 'thinking', text: '', signature: part.thoughtSignature },
    ]);
  });

  it('google-text.chunks.txt: deltas joined; usage of the last chunk (candidates 23, thoughts 185)', () => {
    const res = fold(decode(fixtureChunks('google-text.chunks.txt')));
    expect(textOf(res)).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
    expect(res.content.map((p) => p.type)).toEqual(['text', 'thinking']);
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 9, cacheRead: 0, output: 23 + 185, reasoning: 185 });
    expect(res.stopReason).toBe('end_turn');
  });

  it('google-reasoning-gemini3.chunks.txt: usage candidates 23 + thoughts 302, signature from the empty last part', () => {
    const chunks = fixtureChunks('google-reasoning-gemini3.chunks.txt');
    const res = fold(decode(chunks));
    expect(textOf(res)).toBe('There are **3** "r"s in strawberry.\n\nSt**r**awbe**rr**y');
    const lastPart = ((chunks.at(-1)!.candidates as JsonObject[])[0]!.content as { parts: { thoughtSignature: string }[] }).parts[0]!;
    expect(res.content.at(-1)).toEqual({ type: 'thinking', text: '', signature: lastPart.thoughtSignature });
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 9, cacheRead: 0, output: 23 + 302, reasoning: 302 });
  });

  it('test_google_model_stream.yaml: raw CRLF SSE; the last chunk’s usage wins (prompt 15,15 then 13; candidates 8)', () => {
    const [call] = cassette('test_google_model_stream.yaml');
    expect(call!.sse).toContain('\r\n\r\n');
    const events = decode(sseJson(call!.sse!));
    const res = fold(events);
    expect(textOf(res)).toBe('The capital of France is Paris.\n');
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 13, cacheRead: 0, output: 8, reasoning: 0 });
    expect(totalInput(res.usage)! + res.usage.output!).toBe(21);
    // Unchanged repeated counts are not re-emitted.
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(2);
  });

  it('test_google_model_thinking_part_iter.yaml: thoughts then text in one block each; 469 candidates + 787 thoughts', () => {
    const [call] = cassette('test_google_model_thinking_part_iter.yaml');
    const chunks = sseJson(call!.sse!);
    const res = fold(decode(chunks));
    const parts = chunks.flatMap((c) => ((c.candidates as JsonObject[])[0]!.content as { parts: { text: string; thought?: boolean; thoughtSignature?: string }[] }).parts);
    const thoughts = parts.filter((p) => p.thought === true).map((p) => p.text).join('');
    const text = parts.filter((p) => p.thought !== true).map((p) => p.text).join('');
    const signature = parts.find((p) => p.thoughtSignature !== undefined)!.thoughtSignature;
    expect(res.content).toEqual([
      { type: 'thinking', text: thoughts },
      { type: 'text', text },
      { type: 'thinking', text: '', signature },
    ]);
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 34, cacheRead: 0, output: 469 + 787, reasoning: 787 });
    expect(totalInput(res.usage)! + res.usage.output!).toBe(1290);
  });

  it('google-vertex-stream-tool-call-arguments-nested.1.chunks.txt: streamed partialArgs assembled into one call', () => {
    const chunks = fixtureChunks('google-vertex-stream-tool-call-arguments-nested.1.chunks.txt');
    const res = fold(decode(chunks));
    expect(res.stopReason).toBe('tool_use');
    expect(res.content).toHaveLength(1);
    const call = res.content[0]!;
    if (call.type !== 'tool_call') throw new Error('expected a tool call');
    expect(call.name).toBe('cookRecipe');
    const args = JSON.parse(call.arguments) as { recipe: { name: string; ingredients: { amount: string; name: string }[]; steps: string[] } };
    expect(args.recipe.name).toBe('Lasagna');
    expect(args.recipe.ingredients).toHaveLength(10);
    expect(args.recipe.ingredients[0]).toEqual({ amount: '16 oz', name: 'Lasagna noodles' });
    expect(args.recipe.ingredients[9]).toEqual({ amount: '1/2 tsp', name: 'Pepper' });
    expect(args.recipe.steps).toHaveLength(10);
    expect(args.recipe.steps[1]).toBe('Cook lasagna noodles according to package directions, drain and set aside.');
    expect(args.recipe.steps[4]).toBe('In a 9x13 baking dish, spread a thin layer of meat sauce.');
    // The first chunk's thought signature rides in the tool-call id and comes back out intact.
    const firstPart = ((chunks[0]!.candidates as JsonObject[])[0]!.content as { parts: { thoughtSignature: string }[] }).parts[0]!;
    expect(decodeToolCallId(call.id).signature).toBe(firstPart.thoughtSignature);
    expect(call.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(usageCounts(res.usage)).toEqual({ inputUncached: 31, cacheRead: 0, output: 684 + 1026, reasoning: 1026 });
    expect(totalInput(res.usage)! + res.usage.output!).toBe(1741);
  });
});

describe('fold(stream) equals the non-streamed form of the same answer', () => {
  const streams: [string, () => JsonObject[]][] = [
    ['google-text.chunks.txt', () => fixtureChunks('google-text.chunks.txt')],
    ['google-reasoning-gemini3.chunks.txt', () => fixtureChunks('google-reasoning-gemini3.chunks.txt')],
    ['test_google_model_thinking_part_iter.yaml', () => sseJson(cassette('test_google_model_thinking_part_iter.yaml')[0]!.sse!)],
    ['test_google_model_stream.yaml', () => sseJson(cassette('test_google_model_stream.yaml')[0]!.sse!)],
  ];
  for (const [name, load] of streams) {
    it(name, () => {
      const chunks = load();
      expect(comparable(fold(decode(chunks)))).toEqual(comparable(parseGeminiResponse(wholeOf(chunks))));
    });
  }
});
