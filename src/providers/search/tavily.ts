/**
 * Tavily (`POST https://api.tavily.com/search`, `Authorization: Bearer`), as LiteLLM maps it
 * (litellm/llms/tavily/search/transformation.py): a list query is joined with spaces,
 * `max_results` kept, `search_domain_filter` → `include_domains`, `country` lower-cased (Tavily
 * takes country names), `max_tokens_per_page` dropped, every other field passed through by its
 * own name (`search_depth`, `topic`, `include_answer`, …). Results: `content` → `snippet`; Tavily
 * gives no dates.
 */
import type { JsonObject } from '../../core/json.js';
import { UNIFIED_SEARCH_PARAMS, type SearchRequest, type SearchResponse, type SearchTool } from '../../core/search.js';
import { baseOf, exchange, keyOf, resultsOf, searchUrl, singleQuery, text } from './http.js';

export function tavilyBody(request: SearchRequest): JsonObject {
  const { params } = request;
  const body: JsonObject = { query: singleQuery(request.query) };
  if ('max_results' in params) body.max_results = params.max_results;
  if ('search_domain_filter' in params) body.include_domains = params.search_domain_filter;
  if (typeof params.country === 'string') body.country = params.country.toLowerCase();
  for (const [name, value] of Object.entries(params)) {
    if (!UNIFIED_SEARCH_PARAMS.has(name) && !(name in body)) body[name] = value;
  }
  return body;
}

export async function tavilySearch(tool: SearchTool, request: SearchRequest, signal: AbortSignal): Promise<SearchResponse> {
  const key = keyOf(tool, 'TAVILY_API_KEY');
  const answer = await exchange(tool, { url: searchUrl(baseOf(tool)), method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: tavilyBody(request) }, signal);
  return {
    object: 'search',
    results: resultsOf(answer).map((r) => ({ title: text(r, 'title'), url: text(r, 'url'), snippet: text(r, 'content'), date: null, last_updated: null })),
  };
}
