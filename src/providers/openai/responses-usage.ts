/**
 * Responses API usage → canonical usage: `input_tokens` counts every input token, the cache reads
 * among them in `input_tokens_details.cached_tokens`; `output_tokens` includes the reasoning
 * tokens of `output_tokens_details.reasoning_tokens`. With explicit prompt caching
 * (`prompt_cache_options`) the writes are `input_tokens_details.cache_write_tokens`, also counted in
 * `input_tokens`; their TTL is the request's (30m, 24h…), none of Anthropic's two, so they are
 * writes of unknown TTL.
 */
import { asObject } from '../../core/json.js';
import { tokenCount, type Usage } from '../../core/usage.js';

export function parseResponsesUsage(wire: unknown): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const input = tokenCount(usage.input_tokens);
  const out: Usage = {
    output: tokenCount(usage.output_tokens),
    reasoning: tokenCount(asObject(usage.output_tokens_details)?.reasoning_tokens),
    raw: wire,
  };
  if (input !== undefined) {
    const details = asObject(usage.input_tokens_details);
    out.cacheRead = Math.min(input, tokenCount(details?.cached_tokens) ?? 0);
    out.cacheWriteUnknownTtl = Math.min(input - out.cacheRead, tokenCount(details?.cache_write_tokens) ?? 0);
    out.inputUncached = input - out.cacheRead - out.cacheWriteUnknownTtl;
  }
  return out;
}
