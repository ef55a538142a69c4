/**
 * Cohere v2 `usage` → canonical usage. Cohere reports two pairs: `tokens` (what the model read and
 * wrote, its own system preamble included) and `billed_units` (what is charged). LiteLLM meters
 * `tokens` (litellm/llms/cohere/chat/v2_transformation.py `transform_response`, and the stream's
 * `message-end` in common_utils.py), so we do too, falling back to `billed_units` when a response has
 * no `tokens`. Cohere reports no prompt-cache reads or writes: those stay unknown.
 */
import { asObject } from '../../core/json.js';
import { tokenCount, type Usage } from '../../core/usage.js';

export function parseCohereUsage(wire: unknown): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const counts = asObject(usage.tokens) ?? asObject(usage.billed_units);
  return { inputUncached: tokenCount(counts?.input_tokens), output: tokenCount(counts?.output_tokens), raw: wire };
}
