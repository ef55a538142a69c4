/**
 * The router's configuration, resolved once at startup from LiteLLM's `router_settings` (and the
 * router keys LiteLLM also reads from `litellm_settings` and `general_settings`). Routing may not
 * import the config layer, so the input is described structurally here; the zod schema guarantees
 * the types before anything reaches this file.
 */
import type { TagSettings } from './tags.js';

export type RoutingStrategy = 'simple-shuffle' | 'least-busy' | 'latency-based-routing' | 'usage-based-routing-v2' | 'cost-based-routing';

/** LiteLLM's RetryPolicy: retries per exception class, over num_retries. */
export interface RetryPolicy {
  BadRequestErrorRetries?: number | undefined;
  AuthenticationErrorRetries?: number | undefined;
  TimeoutErrorRetries?: number | undefined;
  RateLimitErrorRetries?: number | undefined;
  ContentPolicyViolationErrorRetries?: number | undefined;
  InternalServerErrorRetries?: number | undefined;
}

/** LiteLLM's AllowedFailsPolicy: failures per minute tolerated per exception class. */
export interface AllowedFailsPolicy {
  BadRequestErrorAllowedFails?: number | undefined;
  AuthenticationErrorAllowedFails?: number | undefined;
  TimeoutErrorAllowedFails?: number | undefined;
  RateLimitErrorAllowedFails?: number | undefined;
  ContentPolicyViolationErrorAllowedFails?: number | undefined;
  InternalServerErrorAllowedFails?: number | undefined;
}

export type FallbacksInput = (string | Record<string, string[] | string>)[];

interface RouterKeys {
  num_retries?: number | undefined;
  fallbacks?: FallbacksInput | undefined;
  context_window_fallbacks?: FallbacksInput | undefined;
  content_policy_fallbacks?: FallbacksInput | undefined;
  default_fallbacks?: string[] | undefined;
  max_fallbacks?: number | undefined;
  allowed_fails?: number | undefined;
  disable_fallbacks?: boolean | undefined;
}

export interface RouterSettingsInput extends RouterKeys {
  routing_strategy?: string | undefined;
  routing_strategy_args?: { lowest_latency_buffer?: number | undefined; ttl?: number | undefined; max_latency_list_size?: number | undefined } | undefined;
  retry_after?: number | undefined;
  retry_policy?: RetryPolicy | undefined;
  model_group_retry_policy?: Record<string, RetryPolicy> | undefined;
  allowed_fails_policy?: AllowedFailsPolicy | undefined;
  cooldown_time?: number | undefined;
  disable_cooldowns?: boolean | undefined;
  model_group_alias?: Record<string, string | { model: string; hidden?: boolean | undefined }> | undefined;
  default_max_parallel_requests?: number | undefined;
  enable_tag_filtering?: boolean | undefined;
  tag_filtering_match_any?: boolean | undefined;
}

export interface ConfigSections {
  router_settings: RouterSettingsInput;
  litellm_settings: RouterKeys;
  general_settings: { background_health_checks?: boolean | undefined; health_check_interval?: number | undefined };
}

/** One fallback rule: requests for `key` (a group, a provider-less name, or `*`) go to `targets`. */
export interface FallbackRule {
  key: string;
  targets: string[];
}

export interface ModelAlias {
  target: string;
  /** Hidden aliases route but are not listed in /v1/models. */
  hidden: boolean;
}

export interface RouterSettings {
  strategy: RoutingStrategy;
  /** latency-based-routing: deployments within (1 + buffer) × the lowest latency share the traffic. */
  latencyBuffer: number;
  /** latency-based-routing: samples older than this are forgotten. */
  latencyTtlMs: number;
  /** latency-based-routing: samples kept per deployment. */
  latencyWindow: number;
  /**
   * Retries of a failed call within its group. Undefined (not configured): fail over to each other
   * deployment of the group once, immediately, and never retry the same one.
   */
  numRetries: number | undefined;
  /** Minimum wait before a retry of the same deployment (`retry_after`). */
  retryAfterMs: number;
  retryPolicy: RetryPolicy | undefined;
  groupRetryPolicy: Readonly<Record<string, RetryPolicy>>;
  allowedFails: number;
  allowedFailsPolicy: AllowedFailsPolicy | undefined;
  cooldownMs: number;
  disableCooldowns: boolean;
  fallbacks: FallbackRule[];
  contextWindowFallbacks: FallbackRule[] | undefined;
  contentPolicyFallbacks: FallbackRule[] | undefined;
  defaultFallbacks: string[];
  maxFallbacks: number;
  disableFallbacks: boolean;
  aliases: ReadonlyMap<string, ModelAlias>;
  defaultMaxParallel: number | undefined;
  backoff: BackoffSettings;
  healthChecks: { background: boolean; intervalMs: number };
  /** Tag-based routing (`enable_tag_filtering`, `tag_filtering_match_any`); see tags.ts. */
  tagFiltering: TagSettings;
}

export interface BackoffSettings {
  /** First exponential step (LiteLLM and the OpenAI SDK: 0.5 s), doubled per retry. */
  initialMs: number;
  /** Cap of one exponential step (8 s). */
  maxMs: number;
  /** Longest wait the router accepts before retrying the same deployment (an upstream `retry-after` above it is not waited for). */
  maxWaitMs: number;
}

/** LiteLLM's defaults (DEFAULT_COOLDOWN_TIME_SECONDS, litellm.allowed_fails, ROUTER_MAX_FALLBACKS). */
export const ROUTER_DEFAULTS = {
  cooldownSeconds: 5,
  allowedFails: 3,
  maxFallbacks: 5,
  latencyTtlSeconds: 3600,
  latencyWindow: 10,
  healthCheckIntervalSeconds: 300,
  backoff: { initialMs: 500, maxMs: 8000, maxWaitMs: 60_000 },
} as const;

export function resolveRouterSettings(sections: ConfigSections): RouterSettings {
  const r = sections.router_settings;
  const l = sections.litellm_settings;
  const args = r.routing_strategy_args ?? {};
  const contextWindow = r.context_window_fallbacks ?? l.context_window_fallbacks;
  const contentPolicy = r.content_policy_fallbacks ?? l.content_policy_fallbacks;
  return {
    strategy: strategyOf(r.routing_strategy),
    latencyBuffer: args.lowest_latency_buffer ?? 0,
    latencyTtlMs: (args.ttl ?? ROUTER_DEFAULTS.latencyTtlSeconds) * 1000,
    latencyWindow: args.max_latency_list_size ?? ROUTER_DEFAULTS.latencyWindow,
    numRetries: r.num_retries ?? l.num_retries,
    retryAfterMs: (r.retry_after ?? 0) * 1000,
    retryPolicy: r.retry_policy,
    groupRetryPolicy: r.model_group_retry_policy ?? {},
    allowedFails: r.allowed_fails ?? l.allowed_fails ?? ROUTER_DEFAULTS.allowedFails,
    allowedFailsPolicy: r.allowed_fails_policy,
    cooldownMs: (r.cooldown_time ?? ROUTER_DEFAULTS.cooldownSeconds) * 1000,
    disableCooldowns: r.disable_cooldowns === true,
    fallbacks: fallbackRules(r.fallbacks ?? l.fallbacks),
    contextWindowFallbacks: contextWindow === undefined ? undefined : fallbackRules(contextWindow),
    contentPolicyFallbacks: contentPolicy === undefined ? undefined : fallbackRules(contentPolicy),
    defaultFallbacks: r.default_fallbacks ?? l.default_fallbacks ?? [],
    maxFallbacks: r.max_fallbacks ?? l.max_fallbacks ?? ROUTER_DEFAULTS.maxFallbacks,
    disableFallbacks: (r.disable_fallbacks ?? l.disable_fallbacks) === true,
    aliases: aliasesOf(r.model_group_alias),
    defaultMaxParallel: r.default_max_parallel_requests,
    backoff: { ...ROUTER_DEFAULTS.backoff },
    healthChecks: {
      background: sections.general_settings.background_health_checks === true,
      intervalMs: (sections.general_settings.health_check_interval ?? ROUTER_DEFAULTS.healthCheckIntervalSeconds) * 1000,
    },
    tagFiltering: { enabled: r.enable_tag_filtering, matchAny: r.tag_filtering_match_any !== false },
  };
}

/** Settings with every default, for tests and callers without a config. */
export function defaultRouterSettings(overrides: Partial<RouterSettings> = {}): RouterSettings {
  return { ...resolveRouterSettings({ router_settings: {}, litellm_settings: {}, general_settings: {} }), ...overrides };
}

function strategyOf(name: string | undefined): RoutingStrategy {
  switch (name) {
    case undefined:
    case 'simple-shuffle':
      return 'simple-shuffle';
    // LiteLLM's v1 usage strategy is deprecated in favour of v2; both pick the least-used deployment.
    case 'usage-based-routing':
    case 'usage-based-routing-v2':
      return 'usage-based-routing-v2';
    case 'least-busy':
    case 'latency-based-routing':
    case 'cost-based-routing':
      return name;
    default:
      throw new Error(`unknown routing_strategy "${name}"`);
  }
}

/**
 * `[{"gpt-4": ["a", "b"]}]` → rules; a bare string in the list is a fallback for every group, as in
 * LiteLLM's non-standard list form.
 */
export function fallbackRules(input: FallbacksInput | undefined): FallbackRule[] {
  const rules: FallbackRule[] = [];
  const generic: string[] = [];
  for (const item of input ?? []) {
    if (typeof item === 'string') generic.push(item);
    else for (const [key, targets] of Object.entries(item)) rules.push({ key, targets: typeof targets === 'string' ? [targets] : [...targets] });
  }
  if (generic.length > 0) rules.push({ key: '*', targets: generic });
  return rules;
}

function aliasesOf(input: RouterSettingsInput['model_group_alias']): Map<string, ModelAlias> {
  const aliases = new Map<string, ModelAlias>();
  for (const [name, value] of Object.entries(input ?? {})) {
    aliases.set(name, typeof value === 'string' ? { target: value, hidden: false } : { target: value.model, hidden: value.hidden === true });
  }
  return aliases;
}
