/**
 * What a search query costs, as LiteLLM prices it (litellm/search/cost_calculator.py
 * `search_provider_cost_per_query`): a flat USD price per query from the `<provider>/search`
 * entry of model_prices_and_context_window.json, or for Exa a tier chosen by `max_results`
 * (default 10; past the last range, the last tier). `litellm_params.input_cost_per_query`
 * replaces the provider's price for that tool. One request is one query: LiteLLM counts a list
 * query as one (its counter reads `query` from optional_params, which never holds it), and the
 * providers bill the request (Tavily, Exa and Brave get the list joined into one query).
 */
import type { SearchProviderName, SearchRequest, SearchTool } from '../core/search.js';
import type { CostResult, PriceTable } from './pricing.js';

interface QueryTier {
  /** Inclusive `max_results_range`. */
  min: number;
  max: number;
  usd: number;
}

/** LiteLLM's entries (model_prices_and_context_window.json, mode `search`). */
export const SEARCH_QUERY_PRICES: Readonly<Record<SearchProviderName, { usd: number } | { tiers: readonly QueryTier[] }>> = {
  // Perplexity's Search API list price ($5 per 1,000 requests).
  perplexity: { usd: 0.005 },
  tavily: { usd: 0.008 },
  exa_ai: {
    tiers: [
      { min: 0, max: 25, usd: 0.005 },
      { min: 26, max: 100, usd: 0.025 },
    ],
  },
  brave: { usd: 0.005 },
};

/** LiteLLM's default when the request names no `max_results`, for the tier lookup. */
const DEFAULT_MAX_RESULTS = 10;

/** USD per query for this tool and request. */
export function searchQueryPriceUsd(tool: Pick<SearchTool, 'provider' | 'costPerQueryUsd'>, request: SearchRequest): number {
  if (tool.costPerQueryUsd !== undefined) return tool.costPerQueryUsd;
  const price = SEARCH_QUERY_PRICES[tool.provider];
  if ('usd' in price) return price.usd;
  const asked = request.params.max_results;
  const maxResults = typeof asked === 'number' ? asked : DEFAULT_MAX_RESULTS;
  const tier = price.tiers.find((t) => t.min <= maxResults && maxResults <= t.max) ?? price.tiers[price.tiers.length - 1];
  return tier?.usd ?? 0;
}

/** The call's cost in the pricing module's terms (integer nano-USD; never null: every provider is priced). */
export function searchCost(tool: Pick<SearchTool, 'provider' | 'costPerQueryUsd'>, request: SearchRequest): CostResult {
  const usd = searchQueryPriceUsd(tool, request);
  const nanoUsd = Math.round(usd * 1e9);
  // No token rates. `source` names token-price origins; here 'config' is the tool's own price and
  // 'genai-prices' stands for the built-in table above (nothing reads it for a search).
  const table: PriceTable = { base: {}, tiers: [], source: tool.costPerQueryUsd !== undefined ? 'config' : 'genai-prices', model: `${tool.provider}/search` };
  return { nanoUsd, usd: nanoUsd / 1e9, table };
}
