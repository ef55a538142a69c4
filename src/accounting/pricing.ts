/**
 * Cost of a call, in integer nano-USD, from its canonical usage. Rates come from
 * @pydantic/genai-prices (uncached input, cache read, cache write 5m and 1h, output, tiers such as
 * Anthropic's above-200k prices, regional Bedrock prices), keyed by provider and model
 * (`model_info.base_model` when set), with LiteLLM's per-deployment `*_cost_per_token` overrides
 * on top. An override never drops the cache rates. A model with no price costs `null`, not 0.
 */
import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import type { Deployment } from '../core/deployment.js';
import { totalInput, type Usage } from '../core/usage.js';

/** USD per token for each kind of token; undefined = unknown. */
export interface Rates {
  input?: number | undefined;
  output?: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite5m?: number | undefined;
  cacheWrite1h?: number | undefined;
  reasoning?: number | undefined;
}

export interface PriceTable {
  base: Rates;
  /** Rates that replace the base ones when a call's total input exceeds `aboveInputTokens`. */
  tiers: { aboveInputTokens: number; rates: Rates }[];
  source: 'genai-prices' | 'config' | 'genai-prices+config';
  model: string;
}

export type CostResult = { nanoUsd: number; usd: number; table: PriceTable } | { nanoUsd: null; usd: null; reason: 'no_price' | 'missing_rate'; detail: string };

/** What an answer replayed from Tollgate's response cache costs: nothing (no provider was called). */
export const RESPONSE_CACHE_HIT_COST: CostResult = { nanoUsd: 0, usd: 0, table: { base: { input: 0, output: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, tiers: [], source: 'config', model: 'response-cache' } };

/** Our provider names → genai-prices provider ids. */
const PROVIDER_IDS: Record<string, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  'text-completion-openai': 'openai',
  azure: 'azure',
  bedrock: 'aws',
  bedrock_converse: 'aws',
  vertex_ai: 'google',
  vertex_ai_beta: 'google',
  gemini: 'google',
  groq: 'groq',
  mistral: 'mistral',
  deepseek: 'deepseek',
  xai: 'x-ai',
  together_ai: 'together',
  fireworks_ai: 'fireworks',
  openrouter: 'openrouter',
  cerebras: 'cerebras',
  perplexity: 'perplexity',
  cohere: 'cohere',
  cohere_chat: 'cohere',
};

const PER_MTOK = 1e-6;

export class Pricing {
  private readonly tables = new Map<string, PriceTable | null>();

  /** The price table of a deployment serving `upstreamModel`, or null when nothing prices it. */
  tableFor(deployment: Deployment, upstreamModel: string): PriceTable | null {
    const key = `${deployment.id}\u0000${upstreamModel}`;
    let table = this.tables.get(key);
    if (table === undefined) {
      table = buildTable(deployment, upstreamModel);
      this.tables.set(key, table);
    }
    return table;
  }

  cost(usage: Usage, deployment: Deployment, upstreamModel: string): CostResult {
    const table = this.tableFor(deployment, upstreamModel);
    if (table === null) return { nanoUsd: null, usd: null, reason: 'no_price', detail: `no price for ${deployment.provider}/${upstreamModel}` };
    return costFromTable(usage, table);
  }
}

export function costFromTable(usage: Usage, table: PriceTable): CostResult {
  const inputTotal = totalInput(usage) ?? 0;
  let rates = table.base;
  for (const tier of table.tiers) if (inputTotal > tier.aboveInputTokens) rates = { ...rates, ...definedOnly(tier.rates) };

  const parts: [tokens: number | undefined, rate: number | undefined, kind: string][] = [
    [usage.inputUncached, rates.input, 'input'],
    [usage.cacheRead, rates.cacheRead, 'cache read'],
    [usage.cacheWrite5m, rates.cacheWrite5m, 'cache write (5m)'],
    // Anthropic's 1h writes cost 2x input; when no 1h rate is published that is the rule we apply.
    [usage.cacheWrite1h, rates.cacheWrite1h ?? (rates.input === undefined ? undefined : rates.input * 2), 'cache write (1h)'],
    [usage.cacheWriteUnknownTtl, rates.cacheWrite5m, 'cache write'],
    [(usage.output ?? 0) - (usage.reasoning ?? 0), rates.output, 'output'],
    [usage.reasoning, rates.reasoning ?? rates.output, 'reasoning'],
  ];
  let usd = 0;
  for (const [tokens, rate, kind] of parts) {
    if (tokens === undefined || tokens <= 0) continue;
    if (rate === undefined) {
      return { nanoUsd: null, usd: null, reason: 'missing_rate', detail: `no ${kind} price for ${table.model}` };
    }
    usd += tokens * rate;
  }
  const nanoUsd = Math.round(usd * 1e9);
  return { nanoUsd, usd: nanoUsd / 1e9, table };
}

function buildTable(deployment: Deployment, upstreamModel: string): PriceTable | null {
  const { providerId, model } = pricingKey(deployment, upstreamModel);
  const found = providerId === undefined ? null : lookup(providerId, model);
  const overrides = configRates(deployment.params);
  if (found === null && overrides.base.input === undefined && overrides.base.output === undefined) return null;
  const base: Rates = { ...found?.base, ...definedOnly(overrides.base) };
  // A rate the config overrides is the deployment's price at every size: a published long-context
  // rate for that kind no longer applies (unless the config gives its own *_above_200k_tokens).
  const overridden = Object.keys(definedOnly(overrides.base)) as (keyof Rates)[];
  const tiers = (found?.tiers ?? []).map((tier) => {
    const rates = { ...tier.rates };
    for (const kind of overridden) delete rates[kind];
    return { ...tier, rates };
  });
  if (overrides.above200k !== undefined) {
    const existing = tiers.find((t) => t.aboveInputTokens === 200_000);
    if (existing !== undefined) existing.rates = { ...existing.rates, ...definedOnly(overrides.above200k) };
    else tiers.push({ aboveInputTokens: 200_000, rates: overrides.above200k });
  }
  const hasOverride = Object.values(overrides.base).some((v) => v !== undefined);
  return {
    base,
    tiers: tiers.sort((a, b) => a.aboveInputTokens - b.aboveInputTokens),
    source: found === null ? 'config' : hasOverride ? 'genai-prices+config' : 'genai-prices',
    model: found?.model ?? model,
  };
}

/** `base_model` (with or without a provider prefix) wins; the mock is priced as the model it imitates. */
function pricingKey(deployment: Deployment, upstreamModel: string): { providerId: string | undefined; model: string } {
  let provider = deployment.provider;
  let model = upstreamModel;
  if (deployment.baseModel !== undefined) {
    const slash = deployment.baseModel.indexOf('/');
    if (slash > 0 && PROVIDER_IDS[deployment.baseModel.slice(0, slash)] !== undefined) {
      provider = deployment.baseModel.slice(0, slash);
      model = deployment.baseModel.slice(slash + 1);
    } else model = deployment.baseModel;
  }
  if (provider === 'mock') provider = model.startsWith('claude') ? 'anthropic' : model.startsWith('gemini') ? 'gemini' : 'openai';
  return { providerId: PROVIDER_IDS[provider], model };
}

function lookup(providerId: string, model: string): { base: Rates; tiers: PriceTable['tiers']; model: string } | null {
  let result;
  try {
    result = calcPrice({ input_tokens: 1 }, model, { providerId });
  } catch {
    return null;
  }
  if (result === null) return null;
  const price = result.model_price;
  const base: Rates = {
    input: rate(price, 'input_mtok'),
    output: rate(price, 'output_mtok'),
    cacheRead: rate(price, 'cache_read_mtok'),
    cacheWrite5m: rate(price, 'cache_write_mtok'),
    cacheWrite1h: rate(price, 'cache_write_1h_mtok'),
  };
  const starts = new Set<number>();
  for (const value of Object.values(price)) if (isTiered(value)) for (const t of value.tiers) starts.add(t.start);
  const tiers = [...starts].map((start) => ({
    aboveInputTokens: start,
    rates: {
      input: tierRate(price, 'input_mtok', start),
      output: tierRate(price, 'output_mtok', start),
      cacheRead: tierRate(price, 'cache_read_mtok', start),
      cacheWrite5m: tierRate(price, 'cache_write_mtok', start),
      cacheWrite1h: tierRate(price, 'cache_write_1h_mtok', start),
    },
  }));
  return { base, tiers, model: result.model.id };
}

type Tiered = { base: number; tiers: { start: number; price: number }[] };

function isTiered(value: unknown): value is Tiered {
  return typeof value === 'object' && value !== null && 'base' in value && 'tiers' in value;
}

function rate(price: ModelPrice, key: string): number | undefined {
  const value: unknown = price[key];
  if (typeof value === 'number') return value * PER_MTOK;
  return isTiered(value) ? value.base * PER_MTOK : undefined;
}

function tierRate(price: ModelPrice, key: string, start: number): number | undefined {
  const value: unknown = price[key];
  if (!isTiered(value)) return undefined;
  const tier = value.tiers.filter((t) => t.start <= start).at(-1);
  return tier === undefined ? undefined : tier.price * PER_MTOK;
}

function configRates(params: Readonly<Record<string, unknown>>): { base: Rates; above200k: Rates | undefined } {
  const n = (key: string): number | undefined => (typeof params[key] === 'number' ? params[key] : undefined);
  const above200k: Rates = {
    input: n('input_cost_per_token_above_200k_tokens'),
    output: n('output_cost_per_token_above_200k_tokens'),
    cacheRead: n('cache_read_input_token_cost_above_200k_tokens'),
    cacheWrite5m: n('cache_creation_input_token_cost_above_200k_tokens'),
    cacheWrite1h: n('cache_creation_input_token_cost_above_1hr_above_200k_tokens'),
  };
  return {
    base: {
      input: n('input_cost_per_token'),
      output: n('output_cost_per_token'),
      cacheRead: n('cache_read_input_token_cost'),
      cacheWrite5m: n('cache_creation_input_token_cost'),
      cacheWrite1h: n('cache_creation_input_token_cost_above_1hr'),
      reasoning: n('output_cost_per_reasoning_token'),
    },
    above200k: Object.values(above200k).some((v) => v !== undefined) ? above200k : undefined,
  };
}

function definedOnly(rates: Rates): Rates {
  const out: Rates = {};
  for (const [key, value] of Object.entries(rates) as [keyof Rates, number | undefined][]) if (value !== undefined) out[key] = value;
  return out;
}
