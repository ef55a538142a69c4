/**
 * The LiteLLM-compatible `config.yaml` schema. Objects are `loose`: keys we do not model are kept,
 * and `unimplementedKeys` lists them so startup can warn once instead of failing a working LiteLLM
 * config. Types of the keys we do implement are checked strictly.
 */
import { z } from 'zod';
import { MAX_JSON_DEPTH_SETTING } from '../core/json-depth.js';
import { UNIT_PRICE_KEYS } from '../core/endpoint-units.js';
import { SEARCH_TOOL_ENTRY_KEYS, SEARCH_TOOL_PARAM_KEYS, searchToolsSchema } from './search-tools.js';

const positiveNumber = z.number().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const costOverrideKeys = [
  'input_cost_per_token',
  'output_cost_per_token',
  'cache_read_input_token_cost',
  'cache_creation_input_token_cost',
  'cache_creation_input_token_cost_above_1hr',
  'output_cost_per_reasoning_token',
  'input_cost_per_token_above_200k_tokens',
  'output_cost_per_token_above_200k_tokens',
  'cache_read_input_token_cost_above_200k_tokens',
  'cache_creation_input_token_cost_above_200k_tokens',
  'cache_creation_input_token_cost_above_1hr_above_200k_tokens',
] as const;

const costOverrides = Object.fromEntries([...costOverrideKeys, ...UNIT_PRICE_KEYS].map((k) => [k, z.number().nonnegative().optional()])) as {
  [K in (typeof costOverrideKeys)[number] | (typeof UNIT_PRICE_KEYS)[number]]: z.ZodOptional<z.ZodNumber>;
};

export const mockToolCallSchema = z.object({
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

export const litellmParamsSchema = z.looseObject({
  model: z.string().min(1),
  api_base: z.string().url().optional(),
  api_key: z.string().optional(),
  api_version: z.string().optional(),
  /** Seconds for the whole request. */
  timeout: positiveNumber.optional(),
  /** Seconds to the first byte of a stream and between chunks. */
  stream_timeout: positiveNumber.optional(),
  max_tokens: z.number().int().positive().optional(),
  rpm: nonNegativeInt.optional(),
  tpm: nonNegativeInt.optional(),
  weight: z.number().nonnegative().optional(),
  order: z.number().int().optional(),
  /** Router: concurrent requests this deployment takes. */
  max_parallel_requests: z.number().int().positive().optional(),
  /** Router: seconds this deployment cools down (over router_settings.cooldown_time). */
  cooldown_time: z.number().nonnegative().optional(),
  /** Router: retries of a call to this deployment's group (over router_settings.num_retries). */
  num_retries: nonNegativeInt.optional(),
  /** LiteLLM's canned reply; on the mock provider it is the reply text. */
  mock_response: z.string().optional(),
  mock_echo: z.boolean().optional(),
  mock_latency_ms: nonNegativeInt.optional(),
  mock_time_to_first_token_ms: nonNegativeInt.optional(),
  mock_tokens_per_second: positiveNumber.optional(),
  mock_tool_call: mockToolCallSchema.optional(),
  /** LiteLLM's test hook on any provider: calls to this deployment never answer (its timeout fires). */
  mock_timeout: z.boolean().optional(),
  /** Tag-based routing: requests carrying one of these tags go here (routing/tags.ts). */
  tags: z.array(z.string()).optional(),
  /** Region routing for end users with `allowed_model_region` (e.g. "eu"). */
  region_name: z.string().optional(),
  // AWS Bedrock
  aws_region_name: z.string().optional(),
  aws_access_key_id: z.string().optional(),
  aws_secret_access_key: z.string().optional(),
  aws_session_token: z.string().optional(),
  aws_profile_name: z.string().optional(),
  aws_role_name: z.string().optional(),
  aws_session_name: z.string().optional(),
  aws_web_identity_token: z.string().optional(),
  aws_bedrock_runtime_endpoint: z.string().url().optional(),
  // Azure OpenAI: an Entra ID token instead of api_key
  azure_ad_token: z.string().optional(),
  // Vertex AI
  vertex_project: z.string().optional(),
  vertex_location: z.string().optional(),
  /** Path to a service-account JSON file, or the JSON itself. */
  vertex_credentials: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  ...costOverrides,
});

export const modelInfoSchema = z.looseObject({
  id: z.string().min(1).optional(),
  base_model: z.string().optional(),
  max_input_tokens: z.number().int().positive().optional(),
  max_output_tokens: z.number().int().positive().optional(),
  mode: z.enum(['chat', 'completion', 'embedding', 'image_generation', 'audio_transcription', 'rerank', 'responses']).optional(),
});

export const modelEntrySchema = z.looseObject({
  model_name: z.string().min(1),
  litellm_params: litellmParamsSchema,
  model_info: modelInfoSchema.optional(),
});

export const generalSettingsSchema = z.looseObject({
  master_key: z.string().min(1).optional(),
  database_url: z.string().optional(),
  max_request_size_mb: positiveNumber.optional(),
  /** Levels of arrays and objects a request body may nest (default 64); bounded so the depth walk cannot overflow the stack. */
  max_json_depth: z.number().int().positive().max(MAX_JSON_DEPTH_SETTING).optional(),
  /** Most entries a request's `messages` may hold (default 10000). */
  max_request_messages: z.number().int().positive().optional(),
  /** Most entries a request's `tools` may hold (default 1000). */
  max_request_tools: z.number().int().positive().optional(),
  /** LiteLLM's: a request body may name its own `api_base` / `base_url` / `api_key` (refused otherwise). */
  allow_client_side_credentials: z.boolean().optional(),
  /** A key (and its team) must grant each search tool; any truthy value turns it on, as in LiteLLM. */
  search_tool_deny_by_default: z.unknown().optional(),
  background_health_checks: z.boolean().optional(),
  /** Seconds between background health checks (LiteLLM's default 300). */
  health_check_interval: positiveNumber.optional(),
  /** Tollgate: what a Redis outage means for admission (default fail_closed: refuse rather than overshoot). */
  redis_failure_mode: z.enum(['fail_closed', 'fail_open']).optional(),
  /** Seconds a shutdown (SIGTERM) lets requests in flight finish before cutting them (default 30). */
  graceful_shutdown_seconds: z.number().nonnegative().optional(),
  /**
   * Tollgate: where admission counters live on Postgres without Redis — `database` (default: exact
   * across every instance on it, a transaction per admission) or `memory` (this process only; for
   * one instance that wants the microseconds back).
   */
  shared_counters: z.enum(['database', 'memory']).optional(),
  /** Tollgate: prefix of every Redis key and channel (default `tollgate:`), so deployments can share one Redis. */
  redis_key_prefix: z.string().min(1).optional(),
});

/** LiteLLM callback names; only `prometheus` means something to Tollgate (metrics are always on). */
export const KNOWN_CALLBACKS = ['prometheus', 'otel', 'langfuse_otel'];

/** LiteLLM's fallback lists: `[{"group": ["fb1", "fb2"]}]`, or a bare list of group names (for every group). */
const fallbacksSchema = z.array(z.union([z.string().min(1), z.record(z.string(), z.union([z.array(z.string().min(1)), z.string().min(1)]))]));

const retryPolicyKeys = [
  'BadRequestErrorRetries',
  'AuthenticationErrorRetries',
  'TimeoutErrorRetries',
  'RateLimitErrorRetries',
  'ContentPolicyViolationErrorRetries',
  'InternalServerErrorRetries',
] as const;
const allowedFailsPolicyKeys = [
  'BadRequestErrorAllowedFails',
  'AuthenticationErrorAllowedFails',
  'TimeoutErrorAllowedFails',
  'RateLimitErrorAllowedFails',
  'ContentPolicyViolationErrorAllowedFails',
  'InternalServerErrorAllowedFails',
] as const;
const countsObject = <K extends string>(keys: readonly K[]) =>
  z.looseObject(Object.fromEntries(keys.map((k) => [k, nonNegativeInt.optional()])) as { [P in K]: z.ZodOptional<z.ZodNumber> });
const retryPolicySchema = countsObject(retryPolicyKeys);

/** Router keys LiteLLM also reads from litellm_settings (router_settings wins). */
const routerInLitellmSettings = {
  num_retries: nonNegativeInt.optional(),
  fallbacks: fallbacksSchema.optional(),
  context_window_fallbacks: fallbacksSchema.optional(),
  content_policy_fallbacks: fallbacksSchema.optional(),
  default_fallbacks: z.array(z.string().min(1)).optional(),
  max_fallbacks: nonNegativeInt.optional(),
  allowed_fails: nonNegativeInt.optional(),
  /** Turns fallbacks off for every request (a request can also send `disable_fallbacks: true`). */
  disable_fallbacks: z.boolean().optional(),
};

export const litellmSettingsSchema = z.looseObject({
  drop_params: z.boolean().optional(),
  request_timeout: positiveNumber.optional(),
  ...routerInLitellmSettings,
  callbacks: z.union([z.array(z.string()), z.string()]).optional(),
  success_callback: z.union([z.array(z.string()), z.string()]).optional(),
  failure_callback: z.union([z.array(z.string()), z.string()]).optional(),
  require_auth_for_metrics_endpoint: z.boolean().optional(),
  /** Tollgate: the separate --metrics-port listener also needs a key (default: open, as LiteLLM's). */
  require_auth_for_metrics_port: z.boolean().optional(),
  // Validated in detail by the metrics module (it names the bad metric or label).
  prometheus_metrics_config: z.unknown().optional(),
  prometheus_exclude_metrics: z.unknown().optional(),
  prometheus_exclude_labels: z.unknown().optional(),
  custom_prometheus_metadata_labels: z.unknown().optional(),
  prometheus_emit_stream_label: z.unknown().optional(),
  enable_end_user_cost_tracking_prometheus_only: z.unknown().optional(),
  // The response cache: validated in detail by config/response-cache.ts (it names the bad key).
  cache: z.unknown().optional(),
  cache_params: z.unknown().optional(),
});

export const routerSettingsSchema = z.looseObject({
  timeout: positiveNumber.optional(),
  stream_timeout: positiveNumber.optional(),
  routing_strategy: z
    .enum(['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing', 'usage-based-routing-v2', 'cost-based-routing'])
    .optional(),
  routing_strategy_args: z
    .looseObject({ lowest_latency_buffer: z.number().nonnegative().optional(), ttl: positiveNumber.optional(), max_latency_list_size: z.number().int().positive().optional() })
    .optional(),
  ...routerInLitellmSettings,
  /** Minimum seconds before a retry. */
  retry_after: z.number().nonnegative().optional(),
  retry_policy: retryPolicySchema.optional(),
  model_group_retry_policy: z.record(z.string(), retryPolicySchema).optional(),
  allowed_fails_policy: countsObject(allowedFailsPolicyKeys).optional(),
  cooldown_time: z.number().nonnegative().optional(),
  disable_cooldowns: z.boolean().optional(),
  model_group_alias: z.record(z.string(), z.union([z.string().min(1), z.looseObject({ model: z.string().min(1), hidden: z.boolean().optional() })])).optional(),
  default_max_parallel_requests: z.number().int().positive().optional(),
  /** Tag-based routing (LiteLLM's rules); unset = lenient, see routing/tags.ts. */
  enable_tag_filtering: z.boolean().optional(),
  tag_filtering_match_any: z.boolean().optional(),
  // The Redis that shared state lives in; validated (naming the field) by config/redis.ts.
  redis_host: z.unknown().optional(),
  redis_port: z.unknown().optional(),
  redis_password: z.unknown().optional(),
  redis_url: z.unknown().optional(),
  redis_username: z.unknown().optional(),
  redis_ssl: z.unknown().optional(),
});

export const configSchema = z.looseObject({
  model_list: z.array(modelEntrySchema).default([]),
  general_settings: generalSettingsSchema.default({}),
  litellm_settings: litellmSettingsSchema.default({}),
  router_settings: routerSettingsSchema.default({}),
  environment_variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  search_tools: searchToolsSchema.default([]),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type LitellmParams = z.infer<typeof litellmParamsSchema>;

/** Keys each section implements; anything else in the file is listed in one startup warning. */
const implemented: Record<string, readonly string[]> = {
  '': ['model_list', 'general_settings', 'litellm_settings', 'router_settings', 'environment_variables', 'search_tools'],
  'search_tools[]': SEARCH_TOOL_ENTRY_KEYS,
  'search_tools[].litellm_params': SEARCH_TOOL_PARAM_KEYS,
  general_settings: Object.keys(generalSettingsSchema.shape),
  litellm_settings: Object.keys(litellmSettingsSchema.shape),
  router_settings: Object.keys(routerSettingsSchema.shape),
  'model_list[].litellm_params': Object.keys(litellmParamsSchema.shape),
  'model_list[].model_info': Object.keys(modelInfoSchema.shape),
  'model_list[]': Object.keys(modelEntrySchema.shape),
};

/** Dotted paths of keys present in the file that Tollgate accepts but does not act on yet. */
export function unimplementedKeys(config: RawConfig): string[] {
  const found = new Set<string>();
  const check = (section: string, obj: object | undefined): void => {
    if (obj === undefined) return;
    const known = implemented[section] ?? [];
    for (const key of Object.keys(obj)) if (!known.includes(key)) found.add(section === '' ? key : `${section}.${key}`);
  };
  check('', config);
  check('general_settings', config.general_settings);
  check('litellm_settings', config.litellm_settings);
  check('router_settings', config.router_settings);
  for (const entry of config.model_list) {
    check('model_list[]', entry);
    check('model_list[].litellm_params', entry.litellm_params);
    check('model_list[].model_info', entry.model_info);
  }
  for (const tool of config.search_tools) {
    check('search_tools[]', tool);
    check('search_tools[].litellm_params', tool.litellm_params);
  }
  return [...found].sort();
}
