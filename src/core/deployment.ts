/** A configured upstream: one `model_list` entry, resolved. */
export interface Deployment {
  /** `model_info.id`, or a stable hash of the entry's params. */
  id: string;
  /** The public alias (`model_name`); several deployments with one name form a group. */
  modelGroup: string;
  /** Provider name, e.g. `openai`, `anthropic`, `mock`. */
  provider: string;
  /** Upstream model id; `*` (or a `prefix/*`) forwards the model the client asked for. */
  model: string;
  apiBase?: string | undefined;
  apiKey?: string | undefined;
  apiVersion?: string | undefined;
  timeoutMs: number;
  streamTimeoutMs: number;
  /** Default `max_tokens` when the client sends none (Anthropic requires one). */
  defaultMaxTokens?: number | undefined;
  /** Pricing lookup key (`model_info.base_model`). */
  baseModel?: string | undefined;
  maxInputTokens?: number | undefined;
  /** The entry's `litellm_params`, for provider-specific options. */
  params: Readonly<Record<string, unknown>>;
}
