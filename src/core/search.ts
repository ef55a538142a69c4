/**
 * LiteLLM's search tools: a configured web-search provider (`search_tools:` in config.yaml) and
 * the one request and answer shape every provider is mapped to — Perplexity's Search API, which
 * LiteLLM adopted as its own (litellm/llms/base_llm/search/transformation.py `SearchResponse`).
 */
import type { Deployment } from './deployment.js';

/** The `search_provider` values Tollgate speaks (LiteLLM's names). */
export const SEARCH_PROVIDERS = ['perplexity', 'tavily', 'exa_ai', 'brave'] as const;
export type SearchProviderName = (typeof SEARCH_PROVIDERS)[number];

export function isSearchProvider(name: string): name is SearchProviderName {
  return (SEARCH_PROVIDERS as readonly string[]).includes(name);
}

/**
 * Where each provider is called when neither `api_base` nor its `*_API_BASE` variable says
 * otherwise (LiteLLM's defaults). Brave's is the whole endpoint; the others get `/search` appended.
 */
export const SEARCH_DEFAULT_BASES: Readonly<Record<SearchProviderName, string>> = {
  perplexity: 'https://api.perplexity.ai',
  tavily: 'https://api.tavily.com',
  exa_ai: 'https://api.exa.ai',
  brave: 'https://api.search.brave.com/res/v1/web/search',
};

/** One `search_tools` entry, resolved. Several entries may share a name (LiteLLM picks one at random). */
export interface SearchTool {
  /** `search_tool_id`, or a stable hash of the entry. */
  id: string;
  /** `search_tool_name`: what `/v1/search/{name}` and a key's `object_permission.search_tools` name. */
  name: string;
  provider: SearchProviderName;
  /**
   * The entry as the transport and the call record see an upstream: api key and base (the
   * provider's `*_API_KEY` / `*_API_BASE` environment fallbacks applied), timeouts, its
   * `litellm_params`. `modelGroup` is the tool name, `model` is `search`.
   */
  deployment: Deployment;
  /** `litellm_params.input_cost_per_query`: USD per query, replacing LiteLLM's price for the provider. */
  costPerQueryUsd?: number | undefined;
  /** `search_tool_info.description`, listed by `GET /v1/search/tools`. */
  description?: string | undefined;
}

/**
 * A search as LiteLLM hands it to a provider: the query and its `optional_params` — the unified
 * Perplexity parameters (`max_results`, `search_domain_filter`, `max_tokens_per_page`, `country`)
 * plus any provider-specific field the client sent, by its own name.
 */
export interface SearchRequest {
  query: string | readonly string[];
  params: Readonly<Record<string, unknown>>;
}

/** The unified parameters; anything else in `params` is passed through by the providers that do so. */
export const UNIFIED_SEARCH_PARAMS: ReadonlySet<string> = new Set(['max_results', 'search_domain_filter', 'country', 'max_tokens_per_page']);

export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
  /** Null when the provider gives none (LiteLLM's pydantic model serialises the unset field as null). */
  date: string | null;
  last_updated: string | null;
}

export interface SearchResponse {
  object: 'search';
  results: SearchResult[];
}
