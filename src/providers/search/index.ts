/** The search providers by LiteLLM's `search_provider` name. */
import type { SearchProviderName, SearchRequest, SearchResponse, SearchTool } from '../../core/search.js';
import { braveSearch } from './brave.js';
import { exaSearch } from './exa.js';
import { perplexitySearch } from './perplexity.js';
import { tavilySearch } from './tavily.js';

export type SearchFunction = (tool: SearchTool, request: SearchRequest, signal: AbortSignal) => Promise<SearchResponse>;

export const SEARCH_PROVIDER_FUNCTIONS: Readonly<Record<SearchProviderName, SearchFunction>> = {
  perplexity: perplexitySearch,
  tavily: tavilySearch,
  exa_ai: exaSearch,
  brave: braveSearch,
};

export function runSearch(tool: SearchTool, request: SearchRequest, signal: AbortSignal): Promise<SearchResponse> {
  return SEARCH_PROVIDER_FUNCTIONS[tool.provider](tool, request, signal);
}
