/**
 * Prompt caching end to end: a 1802-word system prompt marked `cache_control: ephemeral`, sent twice.
 * The first call writes the cache, the second reads it; every surface must report the same numbers
 * in its own convention, streaming or not, and the call record must hold them too.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { ANTHROPIC_REPLY_TEXT, countWords } from '../fakes/index.js';
import { anthropicClient, newCallId, openaiClient, recordFor, startE2E, words, type E2E } from './harness.js';

const PREFIX_WORDS = 1802;
const QUESTION = 'Summarize the rules above in one short sentence please.';
const UNCACHED = countWords(QUESTION);
const OUTPUT = countWords(ANTHROPIC_REPLY_TEXT);

let e2e: E2E;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  e2e = await startE2E();
  anthropic = anthropicClient(e2e.url);
  openai = openaiClient(e2e.url);
});
afterAll(() => e2e.close());

/** A distinct 1802-word system prompt per scenario, so scenarios never share a cache entry. */
function systemPrompt(seed: string): string {
  const text = words(PREFIX_WORDS, seed);
  expect(countWords(text)).toBe(PREFIX_WORDS);
  return text;
}

interface Expected {
  uncached: number;
  read: number;
  write5m: number;
  write1h?: number;
}

function expectRecordUsage(record: CallRecord, e: Expected): void {
  expect(record.outcome).toBe('success');
  expect(record.usage.inputUncached).toBe(e.uncached);
  expect(record.usage.cacheRead).toBe(e.read);
  expect(record.usage.cacheWrite5m ?? 0).toBe(e.write5m);
  expect(record.usage.cacheWrite1h ?? 0).toBe(e.write1h ?? 0);
  expect(record.usage.output).toBe(OUTPUT);
}

const WRITE: Expected = { uncached: UNCACHED, read: 0, write5m: PREFIX_WORDS };
const READ: Expected = { uncached: UNCACHED, read: PREFIX_WORDS, write5m: 0 };

describe('Anthropic surface → Anthropic upstream (passthrough)', () => {
  const params = (seed: string, ttl?: '1h'): Anthropic.MessageCreateParamsNonStreaming => ({
    model: 'claude-test',
    max_tokens: 64,
    system: [{ type: 'text', text: systemPrompt(seed), cache_control: ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl } }],
    messages: [{ role: 'user', content: QUESTION }],
  });

  function expectAnthropicUsage(usage: Anthropic.Usage, e: Expected): void {
    expect(usage.input_tokens).toBe(e.uncached);
    expect(usage.cache_creation_input_tokens).toBe(e.write5m + (e.write1h ?? 0));
    expect(usage.cache_read_input_tokens).toBe(e.read);
    expect(usage.cache_creation?.ephemeral_5m_input_tokens).toBe(e.write5m);
    expect(usage.cache_creation?.ephemeral_1h_input_tokens).toBe(e.write1h ?? 0);
    expect(usage.output_tokens).toBe(OUTPUT);
  }

  it('non-streaming: write 1802 then read 1802; input_tokens is only the uncached tail', async () => {
    const body = params('anthropic-json');
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const message = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': callId } });
      expectAnthropicUsage(message.usage, expected);
      expectRecordUsage(await recordFor(e2e.gw.gateway, callId), expected);
    }
  });

  it('streaming: message_start and the final message carry the same write-then-read numbers', async () => {
    const body = params('anthropic-sse');
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const stream = await anthropic.messages.create({ ...body, stream: true }, { headers: { 'x-litellm-call-id': callId } });
      let start: Anthropic.Usage | undefined;
      let delta: Anthropic.MessageDeltaUsage | undefined;
      for await (const event of stream) {
        if (event.type === 'message_start') start = event.message.usage;
        if (event.type === 'message_delta') delta = event.usage;
      }
      expect(start).toBeDefined();
      expectAnthropicUsage({ ...start!, output_tokens: delta?.output_tokens ?? 0 }, expected);
      expect(delta?.cache_read_input_tokens ?? expected.read).toBe(expected.read);
      expect(delta?.cache_creation_input_tokens ?? expected.write5m).toBe(expected.write5m);
      expectRecordUsage(await recordFor(e2e.gw.gateway, callId), expected);
    }
  });

  it('the SDK stream helper folds the same usage into finalMessage()', async () => {
    const body = params('anthropic-helper');
    for (const expected of [WRITE, READ]) {
      const message = await anthropic.messages.stream(body).finalMessage();
      expectAnthropicUsage(message.usage, expected);
    }
  });

  it('a 1h breakpoint is reported as ephemeral_1h and recorded as cacheWrite1h', async () => {
    const body = params('anthropic-1h', '1h');
    const callId = newCallId();
    const message = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': callId } });
    expectAnthropicUsage(message.usage, { uncached: UNCACHED, read: 0, write5m: 0, write1h: PREFIX_WORDS });
    expectRecordUsage(await recordFor(e2e.gw.gateway, callId), { uncached: UNCACHED, read: 0, write5m: 0, write1h: PREFIX_WORDS });
  });
});

describe('OpenAI surface → Anthropic upstream (LiteLLM cache_control on a system content part)', () => {
  function params(seed: string): OpenAI.ChatCompletionCreateParamsNonStreaming {
    const systemPart = { type: 'text' as const, text: systemPrompt(seed), cache_control: { type: 'ephemeral' } };
    return { model: 'claude-test', messages: [{ role: 'system', content: [systemPart] }, { role: 'user', content: QUESTION }] };
  }

  interface CacheUsage extends OpenAI.CompletionUsage {
    cache_creation_input_tokens?: number;
    cache_read_input_tokens?: number;
  }

  function expectOpenAIUsage(usage: CacheUsage | undefined | null, e: Expected): void {
    expect(usage).toBeDefined();
    expect(usage?.prompt_tokens).toBe(UNCACHED + PREFIX_WORDS);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(e.read);
    expect(usage?.cache_creation_input_tokens).toBe(e.write5m);
    expect(usage?.cache_read_input_tokens).toBe(e.read);
    expect(usage?.completion_tokens).toBe(OUTPUT);
    expect(usage?.total_tokens).toBe(UNCACHED + PREFIX_WORDS + OUTPUT);
  }

  it('the breakpoint reaches the Anthropic upstream on the system block', async () => {
    const before = e2e.anthropic.requests.length;
    await openai.chat.completions.create(params('openai-forward'));
    const sent = e2e.anthropic.requests[before]?.json as { system: unknown[]; messages: unknown[] };
    expect(sent.system).toEqual([{ type: 'text', text: systemPrompt('openai-forward'), cache_control: { type: 'ephemeral' } }]);
    expect(sent.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: QUESTION }] }]);
  });

  it('non-streaming: prompt_tokens counts everything, cached_tokens 0 then 1802', async () => {
    const body = params('openai-json');
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const completion = await openai.chat.completions.create(body, { headers: { 'x-litellm-call-id': callId } });
      expectOpenAIUsage(completion.usage, expected);
      expectRecordUsage(await recordFor(e2e.gw.gateway, callId), expected);
    }
  });

  it('streaming with include_usage: the usage chunk has the same numbers', async () => {
    const body = params('openai-sse');
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const stream = await openai.chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } },
        { headers: { 'x-litellm-call-id': callId } },
      );
      const usages: CacheUsage[] = [];
      for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
      expect(usages).toHaveLength(1);
      expectOpenAIUsage(usages[0], expected);
      expectRecordUsage(await recordFor(e2e.gw.gateway, callId), expected);
    }
  });

  it('streaming without include_usage: no usage for the client, full usage in the record', async () => {
    const body = params('openai-sse-nousage');
    for (const expected of [WRITE, READ]) {
      const callId = newCallId();
      const stream = await openai.chat.completions.create({ ...body, stream: true }, { headers: { 'x-litellm-call-id': callId } });
      let sawUsage = false;
      for await (const chunk of stream) if (chunk.usage) sawUsage = true;
      expect(sawUsage).toBe(false);
      expectRecordUsage(await recordFor(e2e.gw.gateway, callId), expected);
    }
  });
});

describe('Anthropic surface → OpenAI upstream (automatic prefix caching)', () => {
  it('the second call reports the cached prefix as cache_read_input_tokens, input_tokens the rest', async () => {
    const system = systemPrompt('to-openai');
    const body: Anthropic.MessageCreateParamsNonStreaming = { model: 'gpt-test', max_tokens: 64, system, messages: [{ role: 'user', content: QUESTION }] };
    const first = await anthropic.messages.create(body);
    expect(first.usage).toMatchObject({ input_tokens: PREFIX_WORDS + UNCACHED, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    const callId = newCallId();
    const second = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': callId } });
    expect(second.usage).toMatchObject({ input_tokens: UNCACHED, cache_read_input_tokens: PREFIX_WORDS, cache_creation_input_tokens: 0 });
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: PREFIX_WORDS });
  });
});

describe('mock model prompt cache (translated on both surfaces)', () => {
  it('writes then reads the prefix; the record and the Anthropic surface agree', async () => {
    const body: Anthropic.MessageCreateParamsNonStreaming = {
      model: 'mock-test',
      max_tokens: 64,
      system: [{ type: 'text', text: systemPrompt('mock'), cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: QUESTION }],
    };
    const ids = [newCallId(), newCallId()];
    const first = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': ids[0]! } });
    const second = await anthropic.messages.create(body, { headers: { 'x-litellm-call-id': ids[1]! } });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    expect(second.usage.input_tokens).toBe(first.usage.input_tokens);
    const [r1, r2] = [await recordFor(e2e.gw.gateway, ids[0]), await recordFor(e2e.gw.gateway, ids[1])];
    expect(r1.usage.cacheWrite5m).toBe(first.usage.cache_creation_input_tokens);
    expect(r2.usage.cacheRead).toBe(second.usage.cache_read_input_tokens);
    expect(r2.usage.inputUncached).toBe(second.usage.input_tokens);
  });
});
