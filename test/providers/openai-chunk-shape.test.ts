/**
 * The byte-level edit that puts OpenAI chunks into LiteLLM's shape: checked against an independent
 * JSON-level reading of `exclude_none` (parse, delete nulls, compare), on hand-picked cases and on
 * seeded random JSON whose strings are full of quotes, backslashes, braces and the word null.
 */
import { describe, expect, it } from 'vitest';
import { dropNullMembers, fillEmptyChoices } from '../../src/providers/openai/chunk-shape.js';
import { OpenAITapInspector } from '../../src/providers/openai/tap.js';
import { tapSseStream } from '../../src/providers/shared/stream-tap.js';
import type { StreamTap } from '../../src/providers/types.js';
import { bodyOf } from '../unit/fixtures.js';

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, stripNulls(v)]])));
  }
  return value;
}

const viaJson = (text: string): unknown => stripNulls(JSON.parse(text));

describe('dropNullMembers', () => {
  it('turns an OpenAI content chunk into LiteLLM’s, keeping every other byte', () => {
    const openai =
      '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1",' +
      '"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x"}';
    expect(dropNullMembers(openai)).toBe(
      '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1",' +
        '"choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"obfuscation":"x"}',
    );
  });

  it('handles null members first, last, alone and in a row', () => {
    expect(dropNullMembers('{"a":null}')).toBe('{}');
    expect(dropNullMembers('{"a":null,"b":null}')).toBe('{}');
    expect(dropNullMembers('{"a":null,"b":null,"c":1}')).toBe('{"c":1}');
    expect(dropNullMembers('{"c":1,"a":null,"b":null}')).toBe('{"c":1}');
    expect(dropNullMembers('{"a":null,"c":1,"b":null}')).toBe('{"c":1}');
    expect(dropNullMembers('[{"a":null},{"b":2,"c":null}]')).toBe('[{},{"b":2}]');
    expect(dropNullMembers('{"a":[null,1]}')).toBe('{"a":[null,1]}'); // array elements are not members
  });

  it('copes with Python-style separators', () => {
    const text = '{"a": null, "b": {"c": null, "d": "x"}, "e": null}';
    expect(JSON.parse(dropNullMembers(text))).toEqual(viaJson(text));
  });

  it('never touches the inside of strings', () => {
    const tricky = { content: 'say {"usage":null} or ,"a":null} and {\\"b\\":null', k: '{', l: ',', m: 'null', usage: null };
    const text = JSON.stringify(tricky);
    expect(JSON.parse(dropNullMembers(text))).toEqual(viaJson(text));
    expect(JSON.parse(dropNullMembers(text)).content).toBe(tricky.content);
  });

  it('returns the same string when there is no null member', () => {
    const text = '{"choices":[{"index":0,"delta":{"content":"null"}}]}';
    expect(dropNullMembers(text)).toBe(text);
  });

  it('agrees with the JSON-level reading on 2000 random documents', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const tricky = ['"', '\\', '{', '}', ',', ':', 'null', '"a":null', ' ', 'é', '\n', 'x'];
    const plain = ['a', 'usage', 'null', '{', ',', ':', ' ', 'é'];
    const str = (from: string[]): string => Array.from({ length: Math.floor(rand() * 6) }, () => from[Math.floor(rand() * from.length)]!).join('');
    const value = (depth: number, keys: string[]): unknown => {
      const r = rand();
      if (r < 0.3) return null;
      if (r < 0.5 || depth > 3) return str(tricky);
      if (r < 0.6) return Math.floor(rand() * 100);
      if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1, keys));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [str(keys), value(depth + 1, keys)]));
    };
    const render = (doc: unknown): string => (rand() < 0.5 ? JSON.stringify(doc) : JSON.stringify(doc, null, 1).replace(/\n\s*/g, ' '));
    for (let i = 0; i < 2000; i++) {
      // Keys as chunks have them (no quotes or backslashes): every null member goes, nothing else changes.
      const text = render({ choices: [value(0, plain)], usage: value(1, plain), x: value(0, plain) });
      expect(JSON.parse(dropNullMembers(text)), text).toEqual(viaJson(text));
      // Keys with escapes may keep their null member, but the edit never corrupts or drops data.
      const odd = render({ choices: [value(0, tricky)], usage: value(1, tricky) });
      expect(stripNulls(JSON.parse(dropNullMembers(odd))), odd).toEqual(viaJson(odd));
    }
  });
});

describe('fillEmptyChoices', () => {
  it('gives a usage-only chunk LiteLLM’s one empty choice', () => {
    const text = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1}}\n\n';
    expect(fillEmptyChoices(text)).toBe('data: {"id":"c","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}\n\n');
  });
});

describe('the passthrough tap edits only the chunks that carry what LiteLLM would not send', () => {
  const tapOf = async (chunks: Buffer[], inspector: OpenAITapInspector): Promise<{ out: (Buffer | string)[]; tap: StreamTap }> => {
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const out: (Buffer | string)[] = [];
    for await (const piece of tapSseStream(bodyOf(chunks), inspector, tap, 'openai', 'http://upstream.test')) out.push(piece);
    return { out, tap };
  };

  it('a chunk without null members is forwarded as the upstream Buffer itself', async () => {
    const clean = Buffer.from('data: {"id":"a","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
    const dirty = Buffer.from('data: {"id":"a","choices":[{"index":0,"delta":{"content":"yo"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n');
    const usage = Buffer.from('data: {"id":"a","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n');
    const done = Buffer.from('data: [DONE]\n\n');
    const { out, tap } = await tapOf([clean, dirty, usage, done], new OpenAITapInspector(true));
    expect(out[0]).toBe(clean);
    expect(out[1]).toBe('data: {"id":"a","choices":[{"index":0,"delta":{"content":"yo"}}]}\n\n');
    // Without a cost to add (unpriced model), the usage chunk is a text edit too.
    expect(out[2]).toBe('data: {"id":"a","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n');
    expect(out[3]).toBe(done);
    expect(tap.completed).toBe(true);
    expect(tap.usage.output).toBe(2);
  });

  it('drops a chunk with neither choices nor usage (Azure prompt_filter_results); keeps error events as sent', async () => {
    const preamble = Buffer.from('data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n');
    const error = Buffer.from('data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\n');
    const { out, tap } = await tapOf([preamble, error], new OpenAITapInspector(true));
    expect(out.map(String).join('')).toBe(error.toString());
    expect(tap.error?.message).toBe('boom');
  });
});
