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
  /**
   * Where calls actually go when `apiBase` is not configured (the provider's public endpoint), for
   * the `x-litellm-model-api-base` header, the `api_base` metric label and spend logs only.
   */
  defaultApiBase?: string | undefined;
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
  /** The entry's `model_info` as written (`supports_vision`, `access_groups`, …), for `/model/info`. */
  modelInfo?: Readonly<Record<string, unknown>> | undefined;
}

/** The base URL a deployment's calls go to: the configured one, else the provider's public endpoint. */
export function effectiveApiBase(d: { apiBase?: string | undefined; defaultApiBase?: string | undefined }): string | undefined {
  return d.apiBase ?? d.defaultApiBase;
}

/** The `litellm_params` fields that hold credentials (`api_key`, `aws_secret_access_key`, `vertex_credentials`, …). */
export function isSecretParam(name: string): boolean {
  return /(api_key|secret|(^|_)token$|credentials|password|access_key_id)/i.test(name);
}

/** Shorter values are not credentials worth scrubbing, and scrubbing them would mangle ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * The deployment's credential values: its api key and every secret-named param that is a string.
 * What an upstream echoes back (an error quoting the key it refused) is scrubbed of these.
 */
export function deploymentSecrets(d: Pick<Deployment, 'apiKey' | 'params'>): string[] {
  const found = new Set<string>();
  if (d.apiKey !== undefined && d.apiKey.length >= MIN_SECRET_LENGTH) found.add(d.apiKey);
  for (const [name, value] of Object.entries(d.params)) {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH && isSecretParam(name)) found.add(value);
  }
  return [...found];
}
