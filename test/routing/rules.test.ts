/**
 * The pure rules: error classes, retry budgets and backoff, cooldown decisions, fallback lists and
 * settings defaults.
 */
import { describe, expect, it } from 'vitest';
import { cooldownMs, cooldownRule } from '../../src/routing/cooldown.js';
import { classifyError, retriesFromPolicy } from '../../src/routing/error-class.js';
import { fallbackTargets, matchFallbacks } from '../../src/routing/fallbacks.js';
import { backoffMs, goesStraightToFallbacks, isClientNotFound, mayRetrySameDeployment, retryBudget } from '../../src/routing/retry.js';
import { defaultRouterSettings, fallbackRules, resolveRouterSettings } from '../../src/routing/settings.js';
import { dep, upstreamError } from './helpers.js';

describe('classifyError', () => {
  it('maps gateway codes to LiteLLM exception classes', () => {
    expect(classifyError(upstreamError(429, 'rate_limit'))).toBe('rate_limit');
    expect(classifyError(upstreamError(401, 'authentication'))).toBe('auth');
    expect(classifyError(upstreamError(403, 'permission_denied'))).toBe('auth');
    expect(classifyError(upstreamError(404, 'not_found'))).toBe('not_found');
    expect(classifyError(upstreamError(408, 'timeout'))).toBe('timeout');
    expect(classifyError(upstreamError(529, 'overloaded'))).toBe('server');
    expect(classifyError(upstreamError(502, 'upstream_connection'))).toBe('server');
    expect(classifyError(upstreamError(499, 'client_disconnected'))).toBe('client_abort');
    expect(classifyError(upstreamError(500, 'internal'))).toBe('internal');
    expect(classifyError(upstreamError(400, 'invalid_request'))).toBe('bad_request');
  });

  it('recognises context-window and content-policy 400s by their text', () => {
    expect(classifyError(upstreamError(400, 'invalid_request', { message: 'prompt is too long: 210000 tokens > 200000 maximum' }))).toBe('context_window');
    expect(classifyError(upstreamError(400, 'invalid_request', { message: "This model's maximum context length is 128000 tokens" }))).toBe('context_window');
    expect(classifyError(upstreamError(400, 'invalid_request', { message: 'The response was filtered due to the prompt triggering content management policy' }))).toBe('content_policy');
    expect(classifyError(upstreamError(400, 'context_window_exceeded'))).toBe('context_window');
  });

  it('retry_policy: the most specific key wins', () => {
    expect(retriesFromPolicy({ BadRequestErrorRetries: 1, ContentPolicyViolationErrorRetries: 4 }, 'content_policy')).toBe(4);
    expect(retriesFromPolicy({ BadRequestErrorRetries: 1 }, 'content_policy')).toBe(1);
    expect(retriesFromPolicy({ RateLimitErrorRetries: 7 }, 'rate_limit')).toBe(7);
    expect(retriesFromPolicy({ InternalServerErrorRetries: 2 }, 'server')).toBe(2);
    expect(retriesFromPolicy({ RateLimitErrorRetries: 7 }, 'timeout')).toBeUndefined();
  });
});

describe('retryBudget', () => {
  it('num_retries applies to upstream failures; retry_policy overrides it per class', () => {
    expect(retryBudget('server', 3, undefined)).toEqual({ limit: 3, failoverOnly: false });
    expect(retryBudget('rate_limit', 3, { RateLimitErrorRetries: 1 })).toEqual({ limit: 1, failoverOnly: false });
    expect(retryBudget('timeout', 0, { TimeoutErrorRetries: 5 })).toEqual({ limit: 5, failoverOnly: false });
  });

  it('a 400 the client caused is never retried unless retry_policy names it', () => {
    expect(retryBudget('bad_request', 5, undefined).limit).toBe(0);
    expect(retryBudget('context_window', 5, undefined).limit).toBe(0);
    expect(retryBudget('content_policy', 5, undefined).limit).toBe(0);
    expect(retryBudget('bad_request', 5, { BadRequestErrorRetries: 2 }).limit).toBe(2);
  });

  it('without num_retries: fail over to each other deployment once', () => {
    expect(retryBudget('server', undefined, undefined)).toEqual({ limit: Infinity, failoverOnly: true });
  });

  it('a client that went away or a gateway bug is never retried', () => {
    expect(retryBudget('client_abort', 5, { RateLimitErrorRetries: 5 }).limit).toBe(0);
    expect(retryBudget('internal', 5, undefined).limit).toBe(0);
  });

  it('bad keys and unknown models are not retried on the same deployment', () => {
    expect(mayRetrySameDeployment('auth')).toBe(false);
    expect(mayRetrySameDeployment('not_found')).toBe(false);
    expect(mayRetrySameDeployment('rate_limit')).toBe(true);
    expect(isClientNotFound('not_found', '*')).toBe(true);
    expect(isClientNotFound('not_found', 'claude-*')).toBe(true);
    expect(isClientNotFound('not_found', 'gpt-4o')).toBe(false);
  });

  it('context-window and content-policy failures go straight to their own fallbacks when configured', () => {
    expect(goesStraightToFallbacks('context_window', { contextWindow: true, contentPolicy: false })).toBe(true);
    expect(goesStraightToFallbacks('context_window', { contextWindow: false, contentPolicy: true })).toBe(false);
    expect(goesStraightToFallbacks('content_policy', { contextWindow: false, contentPolicy: true })).toBe(true);
  });
});

describe('backoffMs', () => {
  const settings = { initialMs: 500, maxMs: 8000, maxWaitMs: 60_000 };

  it('exponential from 0.5 s, doubling, capped at 8 s, with jitter × 0.75–1', () => {
    const err = upstreamError(500, 'upstream_error');
    expect([0, 1, 2, 3, 4, 5].map((i) => backoffMs(err, i, settings, 0, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffMs(err, 0, settings, 0, () => 1)).toBe(375);
    expect(backoffMs(err, 1, settings, 0, () => 0.5)).toBe(875);
  });

  it("the upstream's retry-after (seconds or retry-after-ms) wins over the exponential step", () => {
    expect(backoffMs(upstreamError(429, 'rate_limit', { retryAfterSeconds: 2 }), 0, settings, 0, () => 0)).toBe(2000);
    expect(backoffMs(upstreamError(529, 'overloaded', { retryAfterSeconds: 0.05 }), 3, settings, 0, () => 0)).toBe(50);
    expect(backoffMs(upstreamError(429, 'rate_limit', { retryAfterSeconds: 0 }), 3, settings, 0, () => 0)).toBe(0);
  });

  it('retry_after is a minimum', () => {
    expect(backoffMs(upstreamError(429, 'rate_limit', { retryAfterSeconds: 0.05 }), 0, settings, 300, () => 0)).toBe(300);
    expect(backoffMs(upstreamError(500, 'upstream_error'), 0, settings, 3000, () => 0)).toBe(3000);
  });

  it('a retry-after longer than the longest wait means: do not retry this deployment', () => {
    expect(backoffMs(upstreamError(429, 'rate_limit', { retryAfterSeconds: 120 }), 0, settings, 0, () => 0)).toBeUndefined();
  });
});

describe('cooldownRule', () => {
  const settings = { disableCooldowns: false, allowedFails: 3, allowedFailsPolicy: undefined, cooldownMs: 5000 };
  const d = dep('a', 'g');

  it('429, 401, 404 and 408 cool down at once; 5xx count against allowed_fails', () => {
    expect(cooldownRule('rate_limit', upstreamError(429, 'rate_limit'), d, 2, settings)).toEqual({ kind: 'immediate', ms: 5000 });
    expect(cooldownRule('auth', upstreamError(401, 'authentication'), d, 2, settings)).toEqual({ kind: 'immediate', ms: 5000 });
    expect(cooldownRule('not_found', upstreamError(404, 'not_found'), d, 2, settings)).toEqual({ kind: 'immediate', ms: 5000 });
    expect(cooldownRule('timeout', upstreamError(408, 'timeout'), d, 2, settings)).toEqual({ kind: 'immediate', ms: 5000 });
    expect(cooldownRule('server', upstreamError(500, 'upstream_error'), d, 2, settings)).toEqual({ kind: 'count', allowed: 3, ms: 5000 });
    expect(cooldownRule('auth', upstreamError(403, 'permission_denied'), d, 2, settings)).toEqual({ kind: 'count', allowed: 3, ms: 5000 });
  });

  it('allowed_fails_policy turns an immediate class into a counted one with its own allowance', () => {
    const policy = { ...settings, allowedFailsPolicy: { RateLimitErrorAllowedFails: 10, InternalServerErrorAllowedFails: 1 } };
    expect(cooldownRule('rate_limit', upstreamError(429, 'rate_limit'), d, 2, policy)).toEqual({ kind: 'count', allowed: 10, ms: 5000 });
    expect(cooldownRule('server', upstreamError(503, 'service_unavailable'), d, 2, policy)).toEqual({ kind: 'count', allowed: 1, ms: 5000 });
    expect(cooldownRule('auth', upstreamError(401, 'authentication'), d, 2, policy)).toEqual({ kind: 'immediate', ms: 5000 });
  });

  it('never: disable_cooldowns, the only deployment of a group, client-caused failures, client gone, gateway bugs', () => {
    expect(cooldownRule('rate_limit', upstreamError(429, 'rate_limit'), d, 2, { ...settings, disableCooldowns: true }).kind).toBe('none');
    expect(cooldownRule('rate_limit', upstreamError(429, 'rate_limit'), d, 1, settings).kind).toBe('none');
    expect(cooldownRule('bad_request', upstreamError(400, 'invalid_request'), d, 2, settings).kind).toBe('none');
    expect(cooldownRule('context_window', upstreamError(400, 'invalid_request'), d, 2, settings).kind).toBe('none');
    expect(cooldownRule('client_abort', upstreamError(499, 'client_disconnected'), d, 2, settings).kind).toBe('none');
    expect(cooldownRule('internal', upstreamError(500, 'internal'), d, 2, settings).kind).toBe('none');
    expect(cooldownRule('not_found', upstreamError(404, 'not_found'), dep('w', 'anthropic/*', {}, { model: '*' }), 2, settings).kind).toBe('none');
  });

  it("duration: the deployment's cooldown_time, else the upstream's retry-after, else the router's", () => {
    const err = upstreamError(429, 'rate_limit', { retryAfterSeconds: 2 });
    expect(cooldownMs(err, dep('a', 'g', { cooldown_time: 30 }), 5000)).toBe(30_000);
    expect(cooldownMs(err, d, 5000)).toBe(2000);
    expect(cooldownMs(upstreamError(429, 'rate_limit'), d, 5000)).toBe(5000);
    expect(cooldownRule('rate_limit', upstreamError(429, 'rate_limit', { retryAfterSeconds: 0 }), d, 2, settings).kind).toBe('none');
  });
});

describe('fallbacks', () => {
  const rules = fallbackRules([{ 'gpt-4o': ['gpt-4o-mini', 'claude'] }, { 'claude-*': 'haiku' }, { '*': ['last-resort'] }]);

  it('exact group, then the name without its provider, then *', () => {
    expect(matchFallbacks(rules, ['gpt-4o'])).toEqual(['gpt-4o-mini', 'claude']);
    expect(matchFallbacks(rules, ['openai/gpt-4o', 'openai/*'])).toEqual(['gpt-4o-mini', 'claude']);
    expect(matchFallbacks(rules, ['claude-*'])).toEqual(['haiku']);
    expect(matchFallbacks(rules, ['other'])).toEqual(['last-resort']);
    expect(matchFallbacks(fallbackRules([]), ['other'])).toBeUndefined();
  });

  it('a bare list of names is a fallback for every group', () => {
    expect(fallbackRules(['a', { x: ['y'] }, 'b'])).toEqual([{ key: 'x', targets: ['y'] }, { key: '*', targets: ['a', 'b'] }]);
  });

  it('context-window and content-policy lists first, then fallbacks, then default_fallbacks; a per-request list replaces all', () => {
    const settings = {
      fallbacks: fallbackRules([{ g: ['fb'] }]),
      contextWindowFallbacks: fallbackRules([{ g: ['big'] }]),
      contentPolicyFallbacks: fallbackRules([{ other: ['x'] }]),
      defaultFallbacks: ['default'],
    };
    expect(fallbackTargets(settings, 'g', 'g', 'context_window', undefined)).toEqual(['big']);
    expect(fallbackTargets(settings, 'g', 'g', 'content_policy', undefined)).toEqual(['fb']);
    expect(fallbackTargets(settings, 'g', 'g', 'server', undefined)).toEqual(['fb']);
    expect(fallbackTargets(settings, 'h', 'h', 'server', undefined)).toEqual(['default']);
    expect(fallbackTargets(settings, 'g', 'g', 'server', ['mine'])).toEqual(['mine']);
  });
});

describe('resolveRouterSettings', () => {
  it("LiteLLM's defaults", () => {
    const s = defaultRouterSettings();
    expect(s).toMatchObject({
      strategy: 'simple-shuffle', numRetries: undefined, retryAfterMs: 0, allowedFails: 3, cooldownMs: 5000, maxFallbacks: 5,
      disableCooldowns: false, disableFallbacks: false, latencyBuffer: 0, defaultFallbacks: [],
      healthChecks: { background: false, intervalMs: 300_000 }, backoff: { initialMs: 500, maxMs: 8000, maxWaitMs: 60_000 },
    });
  });

  it('router_settings win over litellm_settings; aliases and strategy args are read', () => {
    const s = resolveRouterSettings({
      router_settings: {
        routing_strategy: 'usage-based-routing', num_retries: 4, retry_after: 1.5, cooldown_time: 0.5, allowed_fails: 1,
        routing_strategy_args: { lowest_latency_buffer: 0.3, ttl: 10 }, model_group_alias: { gpt4: 'gpt-4o', hidden: { model: 'x', hidden: true } },
      },
      litellm_settings: { num_retries: 9, fallbacks: [{ a: ['b'] }], disable_fallbacks: true },
      general_settings: { background_health_checks: true, health_check_interval: 30 },
    });
    expect(s).toMatchObject({
      strategy: 'usage-based-routing-v2', numRetries: 4, retryAfterMs: 1500, cooldownMs: 500, allowedFails: 1, latencyBuffer: 0.3, latencyTtlMs: 10_000,
      fallbacks: [{ key: 'a', targets: ['b'] }], disableFallbacks: true, healthChecks: { background: true, intervalMs: 30_000 },
    });
    expect([...s.aliases]).toEqual([['gpt4', { target: 'gpt-4o', hidden: false }], ['hidden', { target: 'x', hidden: true }]]);
  });
});
