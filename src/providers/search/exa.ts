/**
 * Exa (`POST https://api.exa.ai/search`, `x-api-key`), as LiteLLM maps it
 * (litellm/llms/exa_ai/search/transformation.py): a list query joined with spaces, `max_results` →
 * `numResults`, `search_domain_filter` → `includeDomains`, `country` → `userLocation`,
 * `max_tokens_per_page` dropped, other fields passed through (`type`, `category`, dates, …), and
 * `contents: {text: true}` unless the client chose its own — Exa returns no text otherwise.
 * Results: `text` → `snippet`, `publishedDate` → `date`.
 */
import type { JsonObject } from '../../core/json.js';
import { UNIFIED_SEARCH_PARAMS, type SearchRequest, type SearchResponse, type SearchTool } from '../../core/search.js';
import { baseOf, exchange, keyOf, optionalText, resultsOf, searchUrl, singleQuery, text } from './http.js';

export function exaBody(request: SearchRequest): JsonObject {
  const { params } = request;
  const body: JsonObject = { query: singleQuery(request.query) };
  if ('max_results' in params) body.numResults = params.max_results;
  if ('search_domain_filter' in params) body.includeDomains = params.search_domain_filter;
  if ('country' in params) body.userLocation = params.country;
  for (const [name, value] of Object.entries(params)) {
    if (!UNIFIED_SEARCH_PARAMS.has(name) && !(name in body)) body[name] = value;
  }
  if (!('contents' in body)) body.contents = { text: true };
  return body;
}

export async function exaSearch(tool: SearchTool, request: SearchRequest, signal: AbortSignal): Promise<SearchResponse> {
  const key = keyOf(tool, 'EXA_API_KEY');
  const answer = await exchange(tool, { url: searchUrl(baseOf(tool)), method: 'POST', headers: { 'x-api-key': key, 'Content-Type': 'application/json' }, body: exaBody(request) }, signal);
  return {
    object: 'search',
    results: resultsOf(answer).map((r) => ({ title: text(r, 'title'), url: text(r, 'url'), snippet: text(r, 'text'), date: optionalText(r, 'publishedDate'), last_updated: null })),
  };
}
