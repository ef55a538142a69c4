/**
 * Canonical usage in the Responses API's convention: `input_tokens` counts every input token
 * (uncached + cache reads + cache writes) with the reads in `input_tokens_details.cached_tokens`;
 * `output_tokens` includes the reasoning tokens, which `output_tokens_details.reasoning_tokens`
 * repeats. Cache writes (an Anthropic deployment's, or OpenAI's explicit caching) are
 * `input_tokens_details.cache_write_tokens`, as OpenAI reports its own, present when there are any.
 */
import { cacheWriteTotal, totalInput, type Usage } from '../../core/usage.js';

export function renderResponsesUsage(usage: Usage): Record<string, unknown> {
  const input = totalInput(usage) ?? 0;
  const output = usage.output ?? 0;
  const writes = cacheWriteTotal(usage) ?? 0;
  const details: Record<string, unknown> = { cached_tokens: usage.cacheRead ?? 0 };
  if (writes > 0) details.cache_write_tokens = writes;
  return {
    input_tokens: input,
    input_tokens_details: details,
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.reasoning ?? 0 },
    total_tokens: input + output,
  };
}
