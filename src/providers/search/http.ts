/**
 * What the search providers share: one JSON exchange over the shared transport
 * (`shared/upstream-http.ts`: pooled, timeouts and error statuses typed), the error bodies of the
 * four APIs read into a message, and the small helpers LiteLLM's transformations lean on.
 */
import { errors } from '../../core/errors.js';
import { asObject, asString, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { SearchTool } from '../../core/search.js';
import { effectiveApiBase } from '../../core/deployment.js';
import { postUpstream, readBody, type UpstreamErrorInfo } from '../shared/upstream-http.js';

/**
 * The message of a search API's error body. Perplexity answers OpenAI's `{"error":{"message"}}`,
 * Tavily FastAPI's `{"detail":{"error"}}` (or a string `detail`), Exa `{"error":"…","tag":"…"}`,
 * Brave `{"type":"ErrorResponse","error":{"code","detail"}}`.
 */
export function parseSearchError(status: number, text: string): UpstreamErrorInfo {
  const body = asObject(tryParseJson(text));
  const error = body?.error;
  const detail = body?.detail;
  if (typeof error === 'string') return { message: error, type: asString(body?.tag) };
  if (isObject(error)) {
    const message = asString(error.message) ?? asString(error.detail) ?? asString(error.error);
    if (message !== undefined) return { message, type: asString(error.type) ?? asString(error.code) };
  }
  if (typeof detail === 'string') return { message: detail };
  if (isObject(detail) && typeof detail.error === 'string') return { message: detail.error };
  const message = asString(body?.message);
  return { message: message ?? (text.trim() === '' ? `HTTP ${status}` : text.slice(0, 500)) };
}

/** The tool's base URL: its `api_base` (or the provider's variable), else the provider's endpoint. */
export function baseOf(tool: SearchTool): string {
  return effectiveApiBase(tool.deployment) ?? '';
}

/** LiteLLM's rule for the POST providers: `/search` is appended unless the base already ends in it. */
export function searchUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/search') ? trimmed : `${trimmed}/search`;
}

/** The tool's key, or the error LiteLLM raises when neither the entry nor the environment has one. */
export function keyOf(tool: SearchTool, variable: string): string {
  const key = tool.deployment.apiKey;
  if (key === undefined || key === '') throw errors.misconfigured(`${variable} is not set. Set \`${variable}\` environment variable or the search tool's litellm_params.api_key (search tool "${tool.name}").`);
  return key;
}

/** A list query becomes one string for the providers that take a single query (LiteLLM joins with spaces). */
export function singleQuery(query: string | readonly string[]): string {
  return typeof query === 'string' ? query : query.join(' ');
}

export interface SearchExchange {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: JsonObject | undefined;
}

/** Send one search and parse its JSON answer; a non-2xx becomes a typed upstream error. */
export async function exchange(tool: SearchTool, request: SearchExchange, signal: AbortSignal): Promise<JsonObject> {
  const provider = tool.provider;
  const response = await postUpstream(
    request.url,
    request.headers,
    request.body === undefined ? '' : JSON.stringify(request.body),
    { deployment: tool.deployment, upstreamModel: `${provider}/search`, signal, clientHeaders: {} },
    { provider, stream: false, method: request.method, parseError: (status, text) => parseSearchError(status, text) },
  );
  const bytes = await readBody(response.body, provider, request.url);
  const parsed = asObject(tryParseJson(bytes.toString('utf8')));
  if (parsed === undefined) throw errors.badUpstreamAnswer(`${provider} answered ${response.status} with a body that is not a JSON object`, { upstream: { provider, status: response.status } });
  return parsed;
}

/** LiteLLM's `result.get(name, "")`, made total: a missing or null string field is empty. */
export function text(result: JsonObject, name: string): string {
  const value = result[name];
  return typeof value === 'string' ? value : '';
}

/** An optional string field: null unless it is a string. */
export function optionalText(result: JsonObject, name: string): string | null {
  const value = result[name];
  return typeof value === 'string' ? value : null;
}

/** The objects of a `results` array (anything else in it is skipped). */
export function resultsOf(body: JsonObject | undefined): JsonObject[] {
  const list = body?.results;
  return Array.isArray(list) ? list.filter(isObject) : [];
}
