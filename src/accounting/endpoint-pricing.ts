/**
 * The prices of LiteLLM's non-token units, for the single-answer endpoints: per image (or per
 * pixel, as LiteLLM prices DALL·E), per second of audio transcribed, per character spoken, per
 * rerank query (Cohere search unit), per moderation request. Rates are read from the deployment's
 * `litellm_params` (then `model_info`) under LiteLLM's names; pricing.ts's rule holds: one integer
 * nano-USD amount, null when no rate covers what the call used. Tokens, when the answer reports
 * them (gpt-image-1, gpt-4o-transcribe, a vLLM rerank), are priced by pricing.ts like every other call.
 */
import type { Deployment } from '../core/deployment.js';
import type { EndpointUnits } from '../core/endpoint-units.js';
import { totalTokens, type Usage } from '../core/usage.js';
import type { CostResult, Pricing } from './pricing.js';

export type EndpointKind = 'moderation' | 'image' | 'transcription' | 'speech' | 'rerank';

import type { UNIT_PRICE_KEYS } from '../core/endpoint-units.js';

type UnitPriceKey = (typeof UNIT_PRICE_KEYS)[number];

/** A rate (USD per unit) the deployment sets; `litellm_params` wins over `model_info`, as for token rates. */
export function unitRate(deployment: Deployment, key: UnitPriceKey): number | undefined {
  const from = (source: Readonly<Record<string, unknown>> | undefined): number | undefined => {
    const value = source?.[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  return from(deployment.params) ?? from(deployment.modelInfo);
}

export function endpointCost(kind: EndpointKind, usage: Usage, units: EndpointUnits, deployment: Deployment, model: string, pricing: Pick<Pricing, 'cost'>): CostResult {
  const perUnit = (usd: number): CostResult => {
    const nanoUsd = Math.round(usd * 1e9);
    return { nanoUsd, usd: nanoUsd / 1e9, table: { base: {}, tiers: [], source: 'config', model } };
  };
  const missing = (what: string): CostResult => ({ nanoUsd: null, usd: null, reason: 'no_price', detail: `no ${what} price for ${deployment.provider}/${model}` });
  // Tokens the answer reported are the call's measure where a token price exists (LiteLLM prices gpt-image-1 and gpt-4o-transcribe by token).
  const tokens = (): CostResult | undefined => {
    if ((totalTokens(usage) ?? 0) === 0) return undefined;
    const cost = pricing.cost(usage, deployment, model);
    return cost.nanoUsd === null ? undefined : cost;
  };
  switch (kind) {
    case 'moderation': {
      const rate = unitRate(deployment, 'input_cost_per_request');
      if (rate !== undefined) return perUnit(rate);
      // OpenAI's moderation endpoint is free (LiteLLM records 0); elsewhere an unset price is unknown.
      return deployment.provider === 'openai' ? perUnit(0) : missing('per-request');
    }
    case 'image': {
      const byTokens = tokens();
      if (byTokens !== undefined) return byTokens;
      const images = units.images ?? 1;
      const perImage = unitRate(deployment, 'output_cost_per_image') ?? unitRate(deployment, 'input_cost_per_image');
      if (perImage !== undefined) return perUnit(perImage * images);
      const perPixel = unitRate(deployment, 'input_cost_per_pixel') ?? unitRate(deployment, 'output_cost_per_pixel');
      if (perPixel !== undefined && units.pixelsPerImage !== undefined) return perUnit(perPixel * units.pixelsPerImage * images);
      return missing('per-image');
    }
    case 'transcription': {
      const rate = unitRate(deployment, 'input_cost_per_second');
      if (rate !== undefined && units.seconds !== undefined) return perUnit(rate * units.seconds);
      return tokens() ?? missing(units.seconds === undefined ? 'token' : 'per-second');
    }
    case 'speech': {
      const rate = unitRate(deployment, 'input_cost_per_character');
      if (rate !== undefined && units.characters !== undefined) return perUnit(rate * units.characters);
      return missing('per-character');
    }
    case 'rerank': {
      const rate = unitRate(deployment, 'input_cost_per_query');
      // LiteLLM: search units × the per-query price; a server that reports none ran one query.
      if (rate !== undefined) return perUnit(rate * (units.searchUnits ?? 1));
      return tokens() ?? missing('per-query');
    }
  }
}
