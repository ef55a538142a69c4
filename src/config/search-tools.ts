/**
 * `search_tools:` — LiteLLM's web-search tools (litellm/types/search.py `SearchTool`):
 *
 *   search_tools:
 *     - search_tool_name: web
 *       litellm_params: { search_provider: tavily, api_key: os.environ/TAVILY_API_KEY }
 *       search_tool_info: { description: "Tavily web search" }
 *
 * The loader has already resolved `os.environ/NAME` references (a missing variable fails startup
 * naming the entry and key, as for model_list); this file validates the entries (zod, so an error
 * names `search_tools[i].litellm_params.<key>`) and resolves them into `SearchTool`s, with the
 * provider's own environment variables as fallbacks the way LiteLLM reads them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Deployment } from '../core/deployment.js';
import { isSearchProvider, SEARCH_DEFAULT_BASES, SEARCH_PROVIDERS, type SearchProviderName, type SearchTool } from '../core/search.js';

/** LiteLLM's default request timeout (seconds), as for model_list. */
const DEFAULT_TIMEOUT_S = 600;

const searchProviderSchema = z.string().superRefine((value, ctx) => {
  if (!isSearchProvider(value)) {
    ctx.addIssue({ code: 'custom', message: `unknown search_provider "${value}"; Tollgate supports: ${SEARCH_PROVIDERS.join(', ')}` });
  }
});

export const searchToolParamsSchema = z.looseObject({
  search_provider: searchProviderSchema,
  api_key: z.string().optional(),
  api_base: z.string().url('api_base must be a URL (http:// or https://)').optional(),
  /** Seconds for the whole request (LiteLLM's SearchToolLiteLLMParams has it). */
  timeout: z.number().positive().optional(),
  /** Accepted as LiteLLM types it; retries follow router_settings.num_retries, as in LiteLLM's router. */
  max_retries: z.number().int().nonnegative().optional(),
  /** USD per query, replacing the provider's price (`input_cost_per_query`, LiteLLM's field name). */
  input_cost_per_query: z.number().nonnegative().optional(),
});

export const searchToolEntrySchema = z.looseObject({
  search_tool_name: z.string().min(1, 'search_tool_name must not be empty'),
  search_tool_id: z.string().min(1).optional(),
  litellm_params: searchToolParamsSchema,
  search_tool_info: z.looseObject({ description: z.string().optional() }).optional(),
});

export const searchToolsSchema = z.array(searchToolEntrySchema);

export type SearchToolEntry = z.infer<typeof searchToolEntrySchema>;

/** Keys of `search_tools[].litellm_params` that Tollgate acts on, for the startup warning about the rest. */
export const SEARCH_TOOL_PARAM_KEYS: readonly string[] = Object.keys(searchToolParamsSchema.shape);
export const SEARCH_TOOL_ENTRY_KEYS: readonly string[] = Object.keys(searchToolEntrySchema.shape);

/** The environment variables LiteLLM reads for each provider when the entry names no key or base. */
const ENV: Readonly<Record<SearchProviderName, { keys: readonly string[]; base: string }>> = {
  perplexity: { keys: ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY'], base: 'PERPLEXITY_API_BASE' },
  tavily: { keys: ['TAVILY_API_KEY'], base: 'TAVILY_API_BASE' },
  exa_ai: { keys: ['EXA_API_KEY'], base: 'EXA_API_BASE' },
  brave: { keys: ['BRAVE_API_KEY'], base: 'BRAVE_API_BASE' },
};

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);

/**
 * The tool's key: its own, else the provider's variable — but a variable's key only goes to the
 * provider's own endpoint (or the variable's base), never to an `api_base` the entry points
 * elsewhere, as LiteLLM's `resolve_server_api_key` guards it.
 */
function resolveKey(provider: SearchProviderName, apiKey: string | undefined, apiBase: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (nonEmpty(apiKey) !== undefined) return apiKey;
  const names = ENV[provider];
  const envBase = nonEmpty(env[names.base]);
  if (apiBase !== undefined && apiBase !== envBase && apiBase !== SEARCH_DEFAULT_BASES[provider]) return undefined;
  for (const name of names.keys) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

export interface SearchToolDefaults {
  /** `router_settings.timeout` ?? `litellm_settings.request_timeout`, seconds. */
  timeoutS?: number | undefined;
}

export function buildSearchTools(entries: readonly SearchToolEntry[], defaults: SearchToolDefaults = {}, env: NodeJS.ProcessEnv = process.env): SearchTool[] {
  return entries.map((entry) => {
    const params = entry.litellm_params;
    // The schema refused every other value.
    const provider = params.search_provider as SearchProviderName;
    const apiBase = nonEmpty(params.api_base) ?? nonEmpty(env[ENV[provider].base]);
    const timeoutMs = (params.timeout ?? defaults.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000;
    const id = entry.search_tool_id ?? createHash('sha256').update(JSON.stringify({ search_tool_name: entry.search_tool_name, ...params })).digest('hex');
    const deployment: Deployment = {
      id,
      modelGroup: entry.search_tool_name,
      provider,
      model: 'search',
      apiBase,
      defaultApiBase: apiBase === undefined ? SEARCH_DEFAULT_BASES[provider] : undefined,
      apiKey: resolveKey(provider, params.api_key, apiBase, env),
      timeoutMs,
      streamTimeoutMs: timeoutMs,
      params,
    };
    const description = entry.search_tool_info?.description;
    return { id, name: entry.search_tool_name, provider, deployment, costPerQueryUsd: params.input_cost_per_query, description };
  });
}
