/**
 * A call whose model has no price is recorded with cost `null` (and counted in
 * litellm_zero_cost_requests_total); the operator is told once per model, not once per request.
 */
import type { CallRecord } from '../core/call-record.js';

/** Endpoints LiteLLM prices per unit rather than per token: the keys that price them. */
const UNIT_PRICED: Partial<Record<CallRecord['surface'], string>> = {
  'openai-moderations': 'input_cost_per_request',
  'openai-images': 'output_cost_per_image (or input_cost_per_pixel; gpt-image models: per-token prices)',
  'openai-audio-transcriptions': 'input_cost_per_second (or per-token prices for token-reporting models)',
  'openai-audio-speech': 'input_cost_per_character',
  rerank: 'input_cost_per_query',
  search: 'input_cost_per_query',
};

export function priceWarner(warn: (message: string) => void): (call: CallRecord) => void {
  const warned = new Set<string>();
  return (call) => {
    if (call.costNanoUsd !== null || call.costMissingReason === undefined || call.costMissingReason === 'no_deployment') return;
    const model = `${call.deployment?.provider ?? '?'}/${call.upstreamModel ?? call.requestedModel}`;
    if (warned.has(model)) return;
    warned.add(model);
    const why = call.costMissingReason === 'no_price' ? 'has no known price' : 'lacks a price for a kind of token it used';
    const fix = UNIT_PRICED[call.surface] ?? 'model_info.base_model to a priced model, or input_cost_per_token / output_cost_per_token / cache_read_input_token_cost';
    warn(`model ${model} ${why}: its calls are recorded with cost null (not 0). Set ${fix} in its litellm_params.`);
  };
}
