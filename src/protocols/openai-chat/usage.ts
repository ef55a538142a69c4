/**
 * Canonical usage in OpenAI's convention, as LiteLLM renders it: `prompt_tokens` counts every input
 * token (uncached + cache reads + cache writes), cache reads are `prompt_tokens_details.cached_tokens`,
 * cache writes appear both top-level (`cache_creation_input_tokens`) and in the details.
 */
import { cacheWriteTotal, totalInput, type Usage } from '../../core/usage.js';

export function renderOpenAIUsage(usage: Usage): Record<string, unknown> {
  const prompt = totalInput(usage) ?? 0;
  const completion = usage.output ?? 0;
  const writes = cacheWriteTotal(usage) ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: {
      cached_tokens: usage.cacheRead ?? 0,
      cache_creation_tokens: writes,
      cache_creation_token_details: {
        ephemeral_5m_input_tokens: (usage.cacheWrite5m ?? 0) + (usage.cacheWriteUnknownTtl ?? 0),
        ephemeral_1h_input_tokens: usage.cacheWrite1h ?? 0,
      },
    },
    completion_tokens_details: { reasoning_tokens: usage.reasoning ?? 0 },
    cache_creation_input_tokens: writes,
    cache_read_input_tokens: usage.cacheRead ?? 0,
  };
}
