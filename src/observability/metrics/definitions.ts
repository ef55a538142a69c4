/**
 * Every Prometheus metric Tollgate exposes, in one table. Names, types, label lists (in LiteLLM's
 * order) and buckets follow LiteLLM's `litellm/types/integrations/prometheus.py` and its v1.101+
 * metrics reference, so dashboards and alerts built on LiteLLM keep working. The config validator,
 * the recorder and docs/metrics.md are all derived from this table; nothing else names a metric.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition<N extends string = string, T extends MetricType = MetricType> {
  /** The name as written in `prometheus_metrics_config` (LiteLLM's name, without `_total`). */
  readonly name: N;
  readonly type: T;
  /** The `# HELP` text (LiteLLM's wording where it has one). */
  readonly help: string;
  /** Default labels, in LiteLLM's order. */
  readonly labels: readonly string[];
  /** Histogram buckets in the metric's unit (seconds for latencies); `+Inf` is implied. */
  readonly buckets?: readonly number[];
  /**
   * `call`: fed from each CallRecord (so custom metadata labels apply); `state`: set by the gateway
   * parts that own the state (budgets, limits, cooldowns, in-flight count).
   */
  readonly source: 'call' | 'state';
  /** What the number means in Tollgate, for docs/metrics.md. */
  readonly meaning: string;
  /** Exposed only when the gateway uses this service (LiteLLM registers its service metrics only then, too). */
  readonly requires?: 'redis';
}

/** LiteLLM's LATENCY_BUCKETS, in seconds (its trailing +Inf is added by the client library). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5,
  10, 15, 20, 25, 30, 60, 120, 180, 240, 300,
];

/** prometheus_client's default buckets: LiteLLM passes none for the per-output-token histogram. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Per-request retry and fallback counts are small integers. */
export const COUNT_BUCKETS: readonly number[] = [0, 1, 2, 3, 5, 10];

// Shared label sets, as LiteLLM's PrometheusMetricLabels composes them.
const TOKENS = ['end_user', 'hashed_api_key', 'api_key_alias', 'model', 'team', 'team_alias', 'user', 'user_email', 'requested_model', 'model_id', 'api_provider'] as const;
const REQUESTS = ['end_user', 'hashed_api_key', 'api_key_alias', 'model', 'team', 'team_alias', 'user', 'user_email', 'client_ip', 'user_agent', 'requested_model', 'model_id', 'api_provider'] as const;
const PROXY_TOTAL = ['end_user', 'hashed_api_key', 'api_key_alias', 'requested_model', 'team', 'team_alias', 'user', 'status_code', 'user_email', 'route', 'client_ip', 'user_agent', 'model_id', 'api_provider'] as const;
const PROXY_FAILED = ['end_user', 'hashed_api_key', 'api_key_alias', 'requested_model', 'team', 'team_alias', 'user', 'user_email', 'exception_status', 'exception_class', 'route', 'client_ip', 'user_agent', 'model_id', 'api_provider'] as const;
const TOTAL_LATENCY = ['end_user', 'hashed_api_key', 'api_key_alias', 'requested_model', 'team', 'team_alias', 'user', 'model', 'model_id', 'api_provider', 'service_tier'] as const;
const API_LATENCY = ['model', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'requested_model', 'end_user', 'user', 'model_id', 'api_provider', 'service_tier'] as const;
const OVERHEAD = ['model_group', 'api_provider', 'api_base', 'litellm_model_name', 'hashed_api_key', 'api_key_alias', 'model_id'] as const;
const DEPLOY = ['requested_model', 'litellm_model_name', 'model_id', 'api_base', 'api_provider', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'client_ip', 'user_agent'] as const;
const DEPLOY_FAILED = ['requested_model', 'litellm_model_name', 'model_id', 'api_base', 'api_provider', 'exception_status', 'exception_class', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'client_ip', 'user_agent'] as const;
const DEP4 = ['litellm_model_name', 'model_id', 'api_base', 'api_provider'] as const;
const FALLBACKS = ['requested_model', 'fallback_model', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'exception_status', 'exception_class', 'model_id'] as const;
const CACHE = ['model', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'end_user', 'user', 'model_id', 'api_provider'] as const;
const KEY_MODEL_LIMIT = ['hashed_api_key', 'api_key_alias', 'model', 'model_id'] as const;
const ROUTING = ['requested_model', 'model_group', 'model_id', 'api_base', 'api_provider', 'fallback'] as const;

// The helpers keep each name as a literal type, so the recorder's handles are checked names.
type Spec = Omit<MetricDefinition, 'name' | 'type'>;
const counter = <N extends string>(name: N, d: Spec): MetricDefinition<N, 'counter'> => ({ name, type: 'counter', ...d });
const gauge = <N extends string>(name: N, d: Spec): MetricDefinition<N, 'gauge'> => ({ name, type: 'gauge', ...d });
const histogram = <N extends string>(name: N, d: Spec): MetricDefinition<N, 'histogram'> => ({ name, type: 'histogram', ...d });

/** Whose budget a budget gauge describes, as it appears in the metric names. */
export type BudgetEntity = 'api_key' | 'team' | 'user' | 'customer' | 'org';

const budget = <E extends BudgetEntity>(entity: E, labels: readonly string[], owner: string) => [
  gauge(`litellm_remaining_${entity}_budget_metric` as const, { help: `Remaining budget for ${owner}`, labels, source: 'state', meaning: `Max budget minus spend of the ${owner}, in USD, after its latest request (+Inf when it has no max budget).` }),
  gauge(`litellm_${entity}_max_budget_metric` as const, { help: `Maximum budget set for ${owner}`, labels, source: 'state', meaning: `The ${owner}'s max budget in USD; only set when it has one.` }),
  gauge(`litellm_${entity}_budget_remaining_hours_metric` as const, { help: `Remaining hours for ${owner} budget to be reset`, labels, source: 'state', meaning: `Hours until the ${owner}'s budget resets; only set when a reset time is known.` }),
] as const;

const DEFINITIONS = [
  // Requests as the client saw them.
  counter('litellm_proxy_total_requests_metric', { help: 'Total number of requests made to the proxy server - track number of client side requests', labels: PROXY_TOTAL, source: 'call', meaning: 'Every request, once, success or failure, streaming or not; `status_code` is the HTTP status the client got (499 when it disconnected).' }),
  counter('litellm_proxy_failed_requests_metric', { help: 'Total number of failed responses from proxy - the client did not get a success response from litellm proxy', labels: PROXY_FAILED, source: 'call', meaning: 'Requests that ended in an error (including mid-stream failures and client disconnects); `exception_status` is the HTTP status, `exception_class` the LiteLLM-style error class.' }),
  counter('litellm_requests_metric', { help: 'deprecated - use litellm_proxy_total_requests_metric. Total number of LLM calls to litellm - track total per API Key, team, user', labels: REQUESTS, source: 'call', meaning: 'Deprecated in LiteLLM: successful LLM calls only. Prefer litellm_proxy_total_requests_metric.' }),
  counter('litellm_llm_api_failed_requests_metric', { help: 'deprecated - use litellm_proxy_failed_requests_metric', labels: ['end_user', 'hashed_api_key', 'api_key_alias', 'model', 'team', 'team_alias', 'user', 'model_id'], source: 'call', meaning: 'Deprecated in LiteLLM: requests whose LLM call failed. Prefer litellm_proxy_failed_requests_metric.' }),
  counter('litellm_zero_cost_requests_total', { help: 'Requests that carried usage but could not be priced', labels: ['requested_model', 'model', 'model_id', 'api_provider', 'reason'], source: 'call', meaning: 'Requests with tokens but no cost (Tollgate records null, never $0). `reason`: `missing_pricing_key` (no price for the model), `pricing_not_applied` (a rate for one of the token kinds is missing), `cost_calculation_error` (no deployment to price against).' }),

  // Spend and tokens.
  counter('litellm_spend_metric', { help: 'Total spend on LLM requests', labels: [...REQUESTS, 'service_tier'], source: 'call', meaning: 'Cost in USD, the same number as the spend log and `x-litellm-response-cost` (integer nano-USD / 1e9). Priced requests only; see litellm_zero_cost_requests_total.' }),
  counter('litellm_total_tokens_metric', { help: 'Total number of input + output tokens from LLM requests', labels: TOKENS, source: 'call', meaning: 'Input (all kinds) plus output tokens.' }),
  counter('litellm_input_tokens_metric', { help: 'Total number of input tokens from LLM requests', labels: TOKENS, source: 'call', meaning: "All input tokens, as OpenAI's `prompt_tokens`: uncached + cache reads + cache writes." }),
  counter('litellm_output_tokens_metric', { help: 'Total number of output tokens from LLM requests', labels: TOKENS, source: 'call', meaning: 'All output tokens, reasoning included.' }),
  counter('litellm_input_cached_tokens_metric', { help: 'Total number of input tokens served from the provider prompt cache', labels: TOKENS, source: 'call', meaning: "Provider prompt-cache reads (`cached_tokens`, Anthropic's `cache_read_input_tokens`). Sparse: only incremented when above 0." }),
  counter('litellm_input_cache_creation_tokens_metric', { help: 'Total number of input tokens written to the provider prompt cache', labels: [...TOKENS, 'cache_ttl'], source: 'call', meaning: 'Provider prompt-cache writes, one increment per non-zero TTL bucket: `cache_ttl` = `5m`, `1h`, or `unknown` when the provider gave no breakdown.' }),
  counter('litellm_output_reasoning_tokens_metric', { help: 'Total number of reasoning tokens from LLM requests', labels: TOKENS, source: 'call', meaning: 'The reasoning part of the output tokens. Sparse: only incremented when above 0.' }),

  // Latency.
  histogram('litellm_request_total_latency_metric', { help: 'Total latency (seconds) for a request to LiteLLM', labels: TOTAL_LATENCY, buckets: LATENCY_BUCKETS, source: 'call', meaning: 'Arrival to the last byte sent, for successful requests.' }),
  histogram('litellm_llm_api_latency_metric', { help: 'Total latency (seconds) for a models LLM API call', labels: API_LATENCY, buckets: LATENCY_BUCKETS, source: 'call', meaning: "The winning attempt's upstream time: request sent to its last byte, for successful requests." }),
  histogram('litellm_llm_api_time_to_first_token_metric', { help: 'Time to first token for a models LLM API call', labels: API_LATENCY, buckets: LATENCY_BUCKETS, source: 'call', meaning: 'Streaming requests only: arrival to the first byte of the answer sent to the client.' }),
  histogram('litellm_overhead_latency_metric', { help: 'Latency overhead (seconds) added by LiteLLM processing', labels: OVERHEAD, buckets: LATENCY_BUCKETS, source: 'call', meaning: "Total time minus the winning attempt's upstream time: what the gateway added, retries and backoff included." }),
  histogram('litellm_deployment_latency_per_output_token', { help: 'LLM Deployment Analytics - Latency per output token', labels: ['litellm_model_name', 'model_id', 'api_base', 'api_provider', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias'], buckets: DEFAULT_BUCKETS, source: 'call', meaning: 'Upstream time (time to first token when streaming, as LiteLLM does) divided by output tokens, for successful requests with output.' }),

  // Deployments (one count per upstream attempt).
  counter('litellm_deployment_success_responses', { help: 'LLM Deployment Analytics - Total number of successful LLM API calls via litellm', labels: DEPLOY, source: 'call', meaning: 'Successful upstream attempts, per deployment.' }),
  counter('litellm_deployment_failure_responses', { help: 'LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deployment. exception_status is the status of the exception from the llm api', labels: DEPLOY_FAILED, source: 'call', meaning: 'Failed upstream attempts (retried or not), per deployment, with the upstream status and error class.' }),
  counter('litellm_deployment_total_requests', { help: 'LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure', labels: DEPLOY, source: 'call', meaning: 'Upstream attempts, success + failure, per deployment.' }),
  counter('litellm_deployment_successful_fallbacks', { help: 'LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model', labels: FALLBACKS, source: 'call', meaning: 'Fallbacks to another model group that answered; `requested_model` is the original group, `fallback_model` the one that answered, the exception labels the error that caused the fallback.' }),
  counter('litellm_deployment_failed_fallbacks', { help: 'LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model', labels: FALLBACKS, source: 'call', meaning: 'Fallbacks to another model group that failed too.' }),
  gauge('litellm_deployment_state', { help: 'LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage', labels: DEP4, source: 'call', meaning: "Set to 0 after a deployment's successful attempt and to 1 after a failed one." }),
  counter('litellm_deployment_cooled_down', { help: 'LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic. exception_status is the status of the exception that caused the deployment to be cooled down', labels: [...DEP4, 'exception_status'], source: 'state', meaning: 'Each time the router puts a deployment in cooldown.' }),
  gauge('litellm_deployment_tpm_limit', { help: 'Deployment TPM limit', labels: DEP4, source: 'state', meaning: "The deployment's configured tokens-per-minute limit." }),
  gauge('litellm_deployment_rpm_limit', { help: 'Deployment RPM limit', labels: DEP4, source: 'state', meaning: "The deployment's configured requests-per-minute limit." }),

  // Budgets and key limits.
  ...budget('api_key', ['hashed_api_key', 'api_key_alias'], 'api key'),
  ...budget('team', ['team', 'team_alias'], 'team'),
  ...budget('user', ['user'], 'user'),
  ...budget('customer', ['end_user'], 'customer'),
  // LiteLLM's organization gauges (prometheus.py `_set_org_budget_metrics`): the spend of the key's
  // organization, else its team's; LiteLLM sets them after every call, as here after every settlement.
  ...budget('org', ['org_id', 'org_alias'], 'org'),
  gauge('litellm_remaining_api_key_requests_for_model', { help: 'Remaining Requests API Key can make for model (model based rpm limit on key)', labels: KEY_MODEL_LIMIT, source: 'state', meaning: "Requests left in the key's per-model RPM window (`model` is the model group)." }),
  gauge('litellm_remaining_api_key_tokens_for_model', { help: 'Remaining Tokens API Key can make for model (model based tpm limit on key)', labels: KEY_MODEL_LIMIT, source: 'state', meaning: "Tokens left in the key's per-model TPM window (`model` is the model group)." }),

  // Pod health.
  gauge('litellm_in_flight_requests', { help: 'Number of HTTP requests currently in-flight on this instance', labels: [], source: 'state', meaning: 'Requests admitted and not yet finished on this instance.' }),
  // Redis, as LiteLLM's service logger names them (`litellm_<service>_…`, the service as the one label's name and value).
  histogram('litellm_redis_latency', { help: 'Latency for redis service', labels: ['redis'], buckets: LATENCY_BUCKETS, source: 'state', requires: 'redis', meaning: 'Seconds each successful shared-state command (admit, settle, read, load) took; only when Redis is configured.' }),
  counter('litellm_redis_failed_requests', { help: 'Total failed_requests for redis service', labels: ['redis', 'error_class', 'function_name'], source: 'state', requires: 'redis', meaning: 'Shared-state commands that failed (Redis unreachable, timed out), by error class and operation (`admit`, `add`, `get`, `set`); only when Redis is configured.' }),
  counter('litellm_redis_total_requests', { help: 'Total total_requests for redis service', labels: ['redis'], source: 'state', requires: 'redis', meaning: 'Shared-state commands sent to Redis, failed or not; only when Redis is configured.' }),

  // Tollgate's own response cache (not provider prompt caching).
  counter('litellm_cache_hits_metric', { help: 'Total number of LiteLLM cache hits', labels: CACHE, source: 'call', meaning: "Requests answered entirely from Tollgate's response cache (no provider call)." }),
  counter('litellm_cache_misses_metric', { help: 'Total number of LiteLLM cache misses', labels: CACHE, source: 'call', meaning: "Cacheable requests not found in Tollgate's response cache." }),
  counter('litellm_cached_tokens_metric', { help: 'Total tokens served from LiteLLM cache', labels: CACHE, source: 'call', meaning: "Total tokens of responses served from Tollgate's response cache." }),

  // Tollgate's routing detail.
  counter('tollgate_deployment_answered_total', { help: 'Successful requests by the deployment that answered and whether a fallback was used', labels: ROUTING, source: 'call', meaning: 'Each successful request once, with the backend that answered (`api_base`, `model_id`), the group it belongs to, and `fallback` = "true" when another group answered than the one requested.' }),
  histogram('tollgate_request_retries', { help: 'Retries per request', labels: ['requested_model'], buckets: COUNT_BUCKETS, source: 'call', meaning: 'Retries (same group) each routed request needed.' }),
  histogram('tollgate_request_fallbacks', { help: 'Fallbacks per request', labels: ['requested_model'], buckets: COUNT_BUCKETS, source: 'call', meaning: 'Fallbacks (to another group) each routed request needed.' }),
] as const;

export const METRICS: readonly MetricDefinition[] = DEFINITIONS;

type Definition = (typeof DEFINITIONS)[number];
/** Every metric name, as a type: a misspelt name in the recorder does not compile. */
export type MetricName = Definition['name'];
export type MetricNameOf<T extends MetricType> = Extract<Definition, { type: T }>['name'];

/**
 * LiteLLM metric names Tollgate knows but does not emit (guardrails, batches, spend queues, audio
 * tokens, …). A LiteLLM config naming them still loads: the names are dropped with a warning
 * rather than refusing to start on a valid LiteLLM config.
 */
export const LITELLM_METRICS_NOT_EMITTED: readonly string[] = [
  'litellm_remaining_requests_metric',
  'litellm_remaining_tokens_metric',
  'litellm_request_queue_time_seconds',
  'litellm_overhead_with_guardrails_latency_metric',
  'litellm_input_audio_tokens_metric',
  'litellm_output_audio_tokens_metric',
  'litellm_provider_remaining_budget_metric',
  'litellm_spend_capture_rate',
  'litellm_callback_logging_failures_metric',
  'litellm_guardrail_latency_seconds',
  'litellm_guardrail_errors_total',
  'litellm_guardrail_requests_total',
  'litellm_pod_lock_manager_size',
  'litellm_in_memory_daily_spend_update_queue_size',
  'litellm_redis_daily_spend_update_queue_size',
  'litellm_redis_daily_end_user_spend_update_queue_size',
  'litellm_redis_daily_agent_spend_update_queue_size',
  'litellm_in_memory_spend_update_queue_size',
  'litellm_redis_spend_update_queue_size',
  'litellm_admission_admitted_requests',
  'litellm_admission_queued_requests',
  'litellm_admission_rejected_requests_total',
];

export const METRICS_BY_NAME: ReadonlyMap<string, MetricDefinition> = new Map(METRICS.map((m) => [m.name, m]));

/**
 * The name in the exposition. Python's prometheus_client, which LiteLLM uses, appends `_total` to
 * counters (once), so dashboards query `litellm_spend_metric_total`; prom-client does not, so we do.
 */
export function exposedName(def: MetricDefinition): string {
  return def.type === 'counter' && !def.name.endsWith('_total') ? `${def.name}_total` : def.name;
}

/** Every label any metric can carry by default. */
export const ALL_DEFAULT_LABELS: readonly string[] = [...new Set(METRICS.flatMap((m) => m.labels))].sort();
