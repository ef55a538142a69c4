/**
 * Perplexity's Search API (`POST https://api.perplexity.ai/search`), LiteLLM's own search spec:
 * the request carries the query (a string or a list) and the four unified parameters as they are;
 * nothing else is sent (litellm/llms/perplexity/search/transformation.py). The answer is already
 * in the shape LiteLLM returns.
 */
import type { JsonObject } from '../../core/json.js';
import type { SearchRequest, SearchResponse, SearchTool } from '../../core/search.js';
import { baseOf, exchange, keyOf, optionalText, resultsOf, searchUrl, text } from './http.js';

const SENT = ['max_results', 'search_domain_filter', 'max_tokens_per_page', 'country'] as const;

export function perplexityBody(request: SearchRequest): JsonObject {
  const body: JsonObject = { query: request.query };
  for (const name of SENT) {
    const value = request.params[name];
    if (value !== undefined && value !== null) body[name] = value;
  }
  return body;
}

export async function perplexitySearch(tool: SearchTool, request: SearchRequest, signal: AbortSignal): Promise<SearchResponse> {
  const key = keyOf(tool, 'PERPLEXITYAI_API_KEY');
  const answer = await exchange(
    tool,
    { url: searchUrl(baseOf(tool)), method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: perplexityBody(request) },
    signal,
  );
  return {
    object: 'search',
    results: resultsOf(answer).map((r) => ({ title: text(r, 'title'), url: text(r, 'url'), snippet: text(r, 'snippet'), date: optionalText(r, 'date'), last_updated: optionalText(r, 'last_updated') })),
  };
}
