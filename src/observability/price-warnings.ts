/**
 * A call whose model has no price is recorded with cost `null` (and counted in
 * litellm_zero_cost_requests_total); the operator is told once per model, not once per request.
 */
import type { CallRecord } from '../core/call-record.js';

export function priceWarner(warn: (message: string) => void): (call: CallRecord) => void {
  const warned = new Set<string>();
  return (call) => {
    if (call.costNanoUsd !== null || call.costMissingReason === undefined || call.costMissingReason === 'no_deployment') return;
    const model = `${call.deployment?.provider ?? '?'}/${call.upstreamModel ?? call.requestedModel}`;
    if (warned.has(model)) return;
    warned.add(model);
    const why = call.costMissingReason === 'no_price' ? 'has no known price' : 'lacks a price for a kind of token it used';
    warn(
      `model ${model} ${why}: its calls are recorded with cost null (not 0). Set model_info.base_model to a priced model, or input_cost_per_token / output_cost_per_token / cache_read_input_token_cost in its litellm_params.`,
    );
  };
}
