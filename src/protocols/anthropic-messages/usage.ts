/** Canonical usage in Anthropic's convention: `input_tokens` is the uncached part only. */
import { cacheWriteTotal, type Usage } from '../../core/usage.js';

export function renderAnthropicUsage(usage: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    input_tokens: usage.inputUncached ?? 0,
    cache_creation_input_tokens: cacheWriteTotal(usage) ?? 0,
    cache_read_input_tokens: usage.cacheRead ?? 0,
    cache_creation: {
      // A write of unknown TTL is Anthropic's default TTL.
      ephemeral_5m_input_tokens: (usage.cacheWrite5m ?? 0) + (usage.cacheWriteUnknownTtl ?? 0),
      ephemeral_1h_input_tokens: usage.cacheWrite1h ?? 0,
    },
    output_tokens: usage.output ?? 0,
  };
  if (usage.reasoning !== undefined) out.output_tokens_details = { thinking_tokens: usage.reasoning };
  return out;
}
