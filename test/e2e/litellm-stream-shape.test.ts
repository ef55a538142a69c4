/**
 * OpenAI-surface streams read the way clients written against LiteLLM read them, through the real
 * server, on every path: passthrough (fake OpenAI upstream, priced and unpriced, so the usage chunk
 * is both re-serialised with its cost and byte-edited), translated (fake Anthropic upstream) and the
 * mock. Such a client (Python) does `data["usage"]["prompt_tokens"]` whenever the key is there, with
 * no None check, and `data.get("choices", [{}])[0]["delta"]`: `"usage": null` or `"choices": []`
 * crash it. LiteLLM never sends either (exclude_none; its usage chunk has one empty choice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MOCK_REPLY } from '../../src/providers/mock/adapter.js';
import { ANTHROPIC_REPLY_TEXT, OPENAI_REPLY_TEXT, countWords } from '../fakes/index.js';
import { newCallId, parseSse, postJson, recordFor, startE2E, type E2E } from './harness.js';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    extraModels: (f) => `
  - model_name: gpt-unpriced
    litellm_params: { model: openai/tollgate-unpriced-model-x, api_base: "${f.openai}/v1", api_key: sk-openai-fake }`,
  });
});
afterAll(() => e2e.close());

interface Read {
  text: string;
  finish: unknown[];
  usage: { prompt: unknown; completion: unknown } | undefined;
  chunks: Record<string, unknown>[];
  done: boolean;
}

/** Every path to a `null` anywhere in the chunk: LiteLLM drops them all. */
function nullPaths(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => nullPaths(v, `${path}[${i}]`));
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => nullPaths(v, `${path}.${k}`));
  return [];
}

/** A LiteLLM client's loop, in TypeScript; each `expect` marks where the Python original would raise. */
function readAsLiteLLMClient(sse: string): Read {
  const read: Read = { text: '', finish: [], usage: undefined, chunks: [], done: false };
  for (const event of parseSse(sse)) {
    if (event.data === '[DONE]') {
      read.done = true;
      continue;
    }
    const data = JSON.parse(event.data) as Record<string, unknown>;
    read.chunks.push(data);
    expect(nullPaths(data), event.data).toEqual([]);
    if ('usage' in data) {
      // data["usage"]["prompt_tokens"]: TypeError on None
      const usage = data.usage as Record<string, unknown>;
      expect(typeof usage === 'object' && usage !== null, event.data).toBe(true);
      read.usage = { prompt: usage.prompt_tokens, completion: usage.completion_tokens };
    }
    // data.get("choices", [{}])[0]["delta"]: IndexError on [], KeyError without delta
    const choice = ((data.choices as unknown[] | undefined) ?? [{}])[0] as Record<string, unknown> | undefined;
    expect(choice, event.data).toBeTypeOf('object');
    expect(choice, event.data).toHaveProperty('delta');
    const delta = choice!.delta as Record<string, unknown>;
    if (typeof delta.content === 'string') read.text += delta.content;
    if ('finish_reason' in choice!) read.finish.push(choice.finish_reason);
  }
  return read;
}

const question = 'What is the capital of France?';
const targets = [
  { model: 'gpt-test', reply: OPENAI_REPLY_TEXT, passthrough: true, counted: true },
  { model: 'gpt-unpriced', reply: OPENAI_REPLY_TEXT, passthrough: true, counted: true },
  { model: 'claude-test', reply: ANTHROPIC_REPLY_TEXT, passthrough: false, counted: true },
  { model: 'mock-test', reply: DEFAULT_MOCK_REPLY, passthrough: false, counted: false },
];

describe.each(targets)('a LiteLLM client reading $model', (t) => {
  for (const includeUsage of [true, false]) {
    it(`stream with include_usage=${includeUsage}: no null, choices[0].delta on every chunk`, async () => {
      const callId = newCallId();
      const body = { model: t.model, stream: true, messages: [{ role: 'user', content: question }], ...(includeUsage ? { stream_options: { include_usage: true } } : {}) };
      const res = await postJson(e2e.url, '/v1/chat/completions', body, { 'x-litellm-call-id': callId });
      expect(res.status).toBe(200);
      const read = readAsLiteLLMClient(await res.text());
      expect(read.done).toBe(true);
      expect(read.text).toBe(t.reply);
      expect(read.finish).toEqual(['stop']);
      const record = await recordFor(e2e.gw.gateway, callId);
      expect(record).toMatchObject({ outcome: 'success', passthrough: t.passthrough });
      if (!includeUsage) {
        expect(read.usage).toBeUndefined();
        return;
      }
      // Usage only on the last chunk, which is LiteLLM's: one empty choice, not OpenAI's [].
      const last = read.chunks.at(-1)!;
      expect(read.chunks.filter((c) => 'usage' in c)).toEqual([last]);
      expect(last.choices).toEqual([{ index: 0, delta: {} }]);
      expect(read.usage?.completion).toBe(record.usage.output);
      if (t.counted) {
        expect(read.usage).toEqual({ prompt: countWords(question), completion: countWords(t.reply) });
      }
      // Passthrough is an edit of the upstream's chunks, not a re-encode: fields only the upstream
      // sends survive (the fake OpenAI adds obfuscation and a system_fingerprint to every chunk).
      if (t.passthrough) for (const c of read.chunks) expect(c).toMatchObject({ obfuscation: 'fake', system_fingerprint: 'fp_fake0001' });
      // The priced model's usage carries its cost; the unpriced one has none (cost unknown, not 0).
      const usage = last.usage as Record<string, unknown>;
      if (t.model === 'gpt-test') expect(typeof usage.cost).toBe('number');
      if (t.model === 'gpt-unpriced') expect(usage).not.toHaveProperty('cost');
    });
  }

});

describe.each(targets.filter((t) => t.model !== 'mock-test'))('a LiteLLM client reading a tool call from $model', (t) => {
  it('a streamed tool call reads the same way', async () => {
    const fake = t.passthrough ? e2e.openai : e2e.anthropic;
    fake.script([{ kind: 'tool', name: 'get_weather', input: { city: 'Paris' } }]);
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const res = await postJson(e2e.url, '/v1/chat/completions', {
      model: t.model, stream: true, tools, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(res.status).toBe(200);
    const read = readAsLiteLLMClient(await res.text());
    expect(read.finish).toEqual(['tool_calls']);
    const args = read.chunks
      .flatMap((c) => ((c.choices as { delta: { tool_calls?: { function?: { arguments?: string } }[] } }[])[0]?.delta.tool_calls ?? []))
      .map((tc) => tc.function?.arguments ?? '')
      .join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    expect(read.chunks.at(-1)?.choices).toEqual([{ index: 0, delta: {} }]);
  });
});
