/**
 * OpenAI chat usage → canonical usage. `prompt_tokens` counts every input token; cache reads are
 * `prompt_tokens_details.cached_tokens`, cache writes (OpenAI's newer `cache_write_tokens`, or the
 * LiteLLM-style fields other OpenAI-compatible servers send) are subtracted out too, so the parts
 * stay disjoint.
 */
import { asObject } from '../../core/json.js';
import { tokenCount, type Usage } from '../../core/usage.js';

export function parseOpenAIUsage(wire: unknown): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const prompt = tokenCount(usage.prompt_tokens);
  const details = asObject(usage.prompt_tokens_details);
  const cacheRead = tokenCount(details?.cached_tokens) ?? tokenCount(usage.cache_read_input_tokens);
  const writes =
    tokenCount(details?.cache_write_tokens) ??
    tokenCount(details?.cache_creation_tokens) ??
    tokenCount(usage.cache_creation_input_tokens);
  const ttl = asObject(details?.cache_creation_token_details);
  const w5m = tokenCount(ttl?.ephemeral_5m_input_tokens);
  const w1h = tokenCount(ttl?.ephemeral_1h_input_tokens);

  const out: Usage = {
    output: tokenCount(usage.completion_tokens),
    reasoning: tokenCount(asObject(usage.completion_tokens_details)?.reasoning_tokens),
    raw: wire,
  };
  if (prompt !== undefined) {
    out.cacheRead = cacheRead ?? 0;
    const writeTotal = writes ?? 0;
    out.inputUncached = Math.max(0, prompt - out.cacheRead - writeTotal);
    if (w5m !== undefined || w1h !== undefined) {
      out.cacheWrite5m = w5m ?? 0;
      out.cacheWrite1h = w1h ?? 0;
      out.cacheWriteUnknownTtl = Math.max(0, writeTotal - out.cacheWrite5m - out.cacheWrite1h);
    } else {
      out.cacheWriteUnknownTtl = writeTotal;
    }
  }
  return out;
}
