/**
 * Canonical usage rendered in each surface's convention (DESIGN principle 2), and wire → canonical →
 * wire round trips on captured usage objects.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { usageCounts, type Usage } from '../../src/core/usage.js';
import { renderAnthropicUsage } from '../../src/protocols/anthropic-messages/usage.js';
import { renderOpenAIUsage } from '../../src/protocols/openai-chat/usage.js';
import { parseAnthropicUsage } from '../../src/providers/anthropic/usage.js';
import { parseOpenAIUsage } from '../../src/providers/openai/usage.js';
import { cassette, completionCalls, fixtureChunks, fixtureJson, sseJson } from './fixtures.js';

const READ: Usage = { inputUncached: 3, cacheRead: 1802, cacheWrite5m: 0, cacheWrite1h: 0, output: 5 };
const WRITE: Usage = { inputUncached: 3, cacheRead: 0, cacheWrite5m: 1802, cacheWrite1h: 0, output: 5 };

describe('OpenAI rendering: prompt_tokens is every input token', () => {
  it('cache read', () => {
    const wire = renderOpenAIUsage(READ);
    expect(wire).toMatchObject({
      prompt_tokens: 3 + 1802,
      completion_tokens: 5,
      total_tokens: 1810,
      prompt_tokens_details: { cached_tokens: 1802, cache_creation_tokens: 0 },
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1802,
    });
  });

  it('cache write (5m)', () => {
    const wire = renderOpenAIUsage(WRITE);
    expect(wire).toMatchObject({
      prompt_tokens: 3 + 1802,
      completion_tokens: 5,
      prompt_tokens_details: {
        cached_tokens: 0,
        cache_creation_tokens: 1802,
        cache_creation_token_details: { ephemeral_5m_input_tokens: 1802, ephemeral_1h_input_tokens: 0 },
      },
      cache_creation_input_tokens: 1802,
    });
  });

  it('reasoning is reported inside completion_tokens_details', () => {
    expect(renderOpenAIUsage({ inputUncached: 1, output: 80, reasoning: 64 })).toMatchObject({
      completion_tokens: 80,
      completion_tokens_details: { reasoning_tokens: 64 },
    });
  });
});

describe('Anthropic rendering: input_tokens is the uncached part only', () => {
  it('cache read', () => {
    expect(renderAnthropicUsage(READ)).toEqual({
      input_tokens: 3,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1802,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 5,
    });
  });

  it('cache write (5m)', () => {
    expect(renderAnthropicUsage(WRITE)).toEqual({
      input_tokens: 3,
      cache_creation_input_tokens: 1802,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1802, ephemeral_1h_input_tokens: 0 },
      output_tokens: 5,
    });
  });

  it('1h writes and reasoning', () => {
    expect(renderAnthropicUsage({ inputUncached: 2, cacheWrite1h: 40, cacheWrite5m: 10, output: 9, reasoning: 4 })).toMatchObject({
      input_tokens: 2,
      cache_creation_input_tokens: 50,
      cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 40 },
      output_tokens: 9,
      output_tokens_details: { thinking_tokens: 4 },
    });
  });
});

/** The token-count fields of an Anthropic usage object (service_tier, inference_geo... are not usage). */
function anthropicCounts(wire: JsonObject): JsonObject {
  const keys = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'cache_creation', 'output_tokens', 'output_tokens_details'];
  return Object.fromEntries(keys.filter((k) => wire[k] !== undefined).map((k) => [k, wire[k]]));
}

function anthropicUsageObjects(): { where: string; usage: JsonObject }[] {
  const out: { where: string; usage: JsonObject }[] = [];
  const push = (where: string, u: unknown): void => {
    if (typeof u === 'object' && u !== null) out.push({ where, usage: u as JsonObject });
  };
  for (const name of ['anthropic-text.json', 'anthropic-tool-no-args.json', 'anthropic-clear-thinking.1.json']) push(name, fixtureJson('anthropic', name).usage);
  for (const name of ['test_anthropic_cache_real_api.yaml', 'test_inline_system_prompt_cache_prefix_is_reused.yaml', 'test_anthropic_code_execution_files_cache_prefix_stable[messages-sonnet-4-6].yaml']) {
    for (const [i, call] of completionCalls(cassette('anthropic', name)).entries()) push(`${name}#${i}`, call.json?.usage);
  }
  // message_start usage objects carry the full breakdown too
  for (const name of ['anthropic-text.chunks.txt', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt']) {
    const start = fixtureChunks('anthropic', name)[0];
    push(`${name} message_start`, (start?.message as JsonObject | undefined)?.usage);
  }
  return out;
}

describe('round trip Anthropic wire → canonical → Anthropic wire is identical', () => {
  const objects = anthropicUsageObjects();
  it('has the captured usage objects', () => {
    expect(objects.length).toBe(11);
  });
  for (const { where, usage } of objects) {
    it(where, () => {
      expect(renderAnthropicUsage(parseAnthropicUsage(usage))).toEqual(anthropicCounts(usage));
    });
  }
});

function openAIUsageObjects(): { where: string; usage: JsonObject }[] {
  const out: { where: string; usage: JsonObject }[] = [];
  const push = (where: string, u: unknown): void => {
    if (typeof u === 'object' && u !== null) out.push({ where, usage: u as JsonObject });
  };
  push('openai-text.json', fixtureJson('openai', 'openai-text.json').usage);
  for (const [i, call] of completionCalls(cassette('openai', 'test_openai_chat_prompt_cache_e2e.yaml')).entries()) push(`prompt_cache_e2e#${i}`, call.json?.usage);
  for (const [i, call] of completionCalls(cassette('openai', 'test_openai_model_thinking_part.yaml')).entries()) push(`thinking_part#${i}`, call.json?.usage);
  for (const [i, call] of completionCalls(cassette('openai', 'test_run_stream_sync_streams_real_model.yaml')).entries()) {
    push(`run_stream#${i}`, sseJson(call.sse ?? '').find((c) => c.usage !== null && c.usage !== undefined)?.usage);
  }
  push('azure-model-router', fixtureChunks('openai', 'azure-model-router.1.chunks.txt').at(-1)?.usage);
  return out;
}

describe('round trip OpenAI wire → canonical → OpenAI wire keeps prompt/cached/completion/reasoning', () => {
  const objects = openAIUsageObjects();
  it('has the captured usage objects', () => {
    expect(objects.length).toBe(7);
  });
  for (const { where, usage } of objects) {
    it(where, () => {
      const back = renderOpenAIUsage(parseOpenAIUsage(usage));
      const details = usage.prompt_tokens_details as JsonObject | undefined;
      const completion = usage.completion_tokens_details as JsonObject | undefined;
      expect(back).toMatchObject({
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
        prompt_tokens_details: { cached_tokens: details?.cached_tokens },
        completion_tokens_details: { reasoning_tokens: completion?.reasoning_tokens },
      });
    });
  }

  it('prompt_cache_e2e#0: cache_write_tokens 4012 comes back as a cache write', () => {
    const [first] = openAIUsageObjects().filter((o) => o.where === 'prompt_cache_e2e#0');
    const back = renderOpenAIUsage(parseOpenAIUsage(first?.usage));
    expect(back).toMatchObject({ prompt_tokens: 4020, cache_creation_input_tokens: 4012, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 4012 } });
  });
});

describe('cross-surface: the same canonical usage, both conventions', () => {
  it('Anthropic wire usage shown to an OpenAI client counts cache reads and writes in prompt_tokens', () => {
    // test_anthropic_cache_real_api #1: input 3, cache_read 1111, cache_creation 418 (5m), output 33
    const [, second] = completionCalls(cassette('anthropic', 'test_anthropic_cache_real_api.yaml'));
    const canonical = parseAnthropicUsage(second?.json?.usage);
    expect(renderOpenAIUsage(canonical)).toMatchObject({
      prompt_tokens: 3 + 1111 + 418,
      completion_tokens: 33,
      prompt_tokens_details: { cached_tokens: 1111, cache_creation_tokens: 418 },
      cache_creation_input_tokens: 418,
    });
  });

  it('OpenAI cached usage shown to an Anthropic client puts only the uncached part in input_tokens', () => {
    // test_openai_chat_prompt_cache_e2e #1: prompt_tokens 4020, cached_tokens 4012, completion 4
    const [, second] = completionCalls(cassette('openai', 'test_openai_chat_prompt_cache_e2e.yaml'));
    const canonical = parseOpenAIUsage(second?.json?.usage);
    expect(usageCounts(canonical)).toMatchObject({ inputUncached: 8, cacheRead: 4012, output: 4 });
    expect(renderAnthropicUsage(canonical)).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 4012, cache_creation_input_tokens: 0, output_tokens: 4 });
  });
});
