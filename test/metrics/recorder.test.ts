/**
 * CallRecord → samples, with every expected number worked out by hand in the test. Prices used:
 * claude-sonnet-4-5 at $3/MTok input, $3.75 cache write (5m), $6 cache write (1h), $0.30 cache
 * read, $15 output.
 */
import { describe, expect, it } from 'vitest';
import type { CallRecord, DeploymentRef } from '../../src/core/call-record.js';
import { createMetrics, resolveMetricsConfig, type Metrics } from '../../src/observability/metrics/index.js';
import { callRecord, find, parseExposition, SONNET, total, type Sample } from './helpers.js';

async function samplesOf(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.render());
}

describe('the seed scenario: a cache write, then a cache read of the same 1802-token prefix', () => {
  // Write: 3 × $3 + 1802 × $3.75 + 25 × $15 per MTok = 9 000 + 6 757 500 + 375 000 nano-USD.
  const write = callRecord({ requestId: 'w', usage: { inputUncached: 3, cacheWrite5m: 1802, output: 25 }, costNanoUsd: 7_141_500 });
  // Read: 3 × $3 + 1802 × $0.30 + 25 × $15 = 9 000 + 540 600 + 375 000 nano-USD.
  const read = callRecord({ requestId: 'r', usage: { inputUncached: 3, cacheRead: 1802, output: 25 }, costNanoUsd: 924_600 });

  it('counts cache reads and 5m cache writes exactly once each', async () => {
    const metrics = createMetrics();
    metrics.observe(write);
    const before = await samplesOf(metrics);
    expect(total(before, 'litellm_input_cached_tokens_metric_total')).toBeUndefined(); // sparse: no read yet
    expect(total(before, 'litellm_input_cache_creation_tokens_metric_total', { cache_ttl: '5m' })).toBe(1802);

    metrics.observe(read);
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_input_cached_tokens_metric_total')).toBe(1802);
    expect(total(s, 'litellm_input_cache_creation_tokens_metric_total', { cache_ttl: '5m' })).toBe(1802);
    expect(find(s, 'litellm_input_cache_creation_tokens_metric_total', { cache_ttl: '1h' })).toEqual([]);
    // Input is all input, as OpenAI's prompt_tokens: (3 + 1802) per call.
    expect(total(s, 'litellm_input_tokens_metric_total')).toBe(3610);
    expect(total(s, 'litellm_output_tokens_metric_total')).toBe(50);
    expect(total(s, 'litellm_total_tokens_metric_total')).toBe(3660);
    expect(find(s, 'litellm_output_reasoning_tokens_metric_total')).toEqual([]);
  });

  it('adds the cost of both calls to the spend metric, in USD', async () => {
    const metrics = createMetrics();
    metrics.observe(write);
    metrics.observe(read);
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_spend_metric_total')).toBeCloseTo(0.0080661, 12);
    expect(find(s, 'litellm_zero_cost_requests_total')).toEqual([]);
  });
});

describe('token detail', () => {
  it('counts cache writes once per non-zero TTL bucket, and reasoning tokens', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ usage: { inputUncached: 1, cacheWrite5m: 100, cacheWrite1h: 200, cacheWriteUnknownTtl: 7, output: 40, reasoning: 12 } }));
    metrics.observe(callRecord({ usage: { inputUncached: 1, cacheWrite5m: 0, cacheWrite1h: 0, output: 1, reasoning: 0 } }));
    const s = await samplesOf(metrics);
    expect(find(s, 'litellm_input_cache_creation_tokens_metric_total').map((x) => [x.labels.cache_ttl, x.value])).toEqual([
      ['5m', 100],
      ['1h', 200],
      ['unknown', 7],
    ]);
    expect(total(s, 'litellm_output_reasoning_tokens_metric_total')).toBe(12);
    expect(total(s, 'litellm_input_tokens_metric_total')).toBe(309); // 1 + 100 + 200 + 7, then 1
    expect(total(s, 'litellm_output_tokens_metric_total')).toBe(41); // reasoning is part of output
  });
});

describe('labels', () => {
  it('carries the principal, the deployment and the request, in LiteLLM terms', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord());
    const [sample] = find(await samplesOf(metrics), 'litellm_proxy_total_requests_metric_total');
    expect(sample?.labels).toEqual({
      end_user: 'None', // off unless enable_end_user_cost_tracking_prometheus_only
      hashed_api_key: 'hash-abc',
      api_key_alias: 'ci-key',
      requested_model: 'claude-sonnet',
      team: 'team-1',
      team_alias: 'None',
      user: 'user-1',
      status_code: '200',
      user_email: 'None',
      route: '/v1/messages',
      client_ip: 'None',
      user_agent: 'vitest',
      model_id: 'dep-sonnet-1',
      api_provider: 'anthropic',
    });
    expect(sample?.value).toBe(1);
  });

  it('fills end_user only when opted in, and reads optional principal facts when present', async () => {
    const metrics = createMetrics({ config: resolveMetricsConfig({ enable_end_user_cost_tracking_prometheus_only: true }) });
    const principal = { ...callRecord().principal, teamAlias: 'platform', userEmail: 'a@example.com' };
    metrics.observe({ ...callRecord({ principal }), clientIp: '10.0.0.7' } as CallRecord);
    const [sample] = find(await samplesOf(metrics), 'litellm_spend_metric_total');
    expect(sample?.labels).toMatchObject({ end_user: 'customer-9', team_alias: 'platform', user_email: 'a@example.com', client_ip: '10.0.0.7', service_tier: '' });
  });

  it('writes "None" for missing values and turns newlines into spaces', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ principal: { isMaster: false }, userAgent: 'bad\nagent\r\u2028' }));
    const [sample] = find(await samplesOf(metrics), 'litellm_proxy_total_requests_metric_total');
    expect(sample?.labels).toMatchObject({ hashed_api_key: 'None', api_key_alias: 'None', team: 'None', user: 'None', user_email: 'None', user_agent: 'bad agent' });
  });

  it("labels master-key traffic as LiteLLM does: user default_user_id, hashed_api_key litellm_proxy_master_key", async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ principal: { isMaster: true, keyHash: 'sha-of-master' } }));
    const s = await samplesOf(metrics);
    expect(find(s, 'litellm_proxy_total_requests_metric_total')[0]?.labels).toMatchObject({ user: 'default_user_id', hashed_api_key: 'litellm_proxy_master_key', team: 'None' });
    expect(JSON.stringify(s)).not.toContain('sha-of-master');
  });

  it('fills team_alias and user_email from the tenancy lookup; facts on the principal win', async () => {
    const seen: unknown[] = [];
    const metrics = createMetrics({
      lookupPrincipal: (p) => {
        seen.push(p);
        return { teamAlias: `alias-of-${p.teamId ?? ''}`, userEmail: `${p.userId ?? ''}@example.com` };
      },
    });
    metrics.observe(callRecord());
    metrics.observe(callRecord({ requestId: 'r2', principal: { ...callRecord().principal, userId: 'user-2', teamAlias: 'own' } as CallRecord['principal'] }));
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { user: 'user-1', user_email: 'user-1@example.com', team_alias: 'alias-of-team-1' })).toBe(1);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { user: 'user-2', user_email: 'user-2@example.com', team_alias: 'own' })).toBe(1);
    expect(seen).toHaveLength(2); // once per call, shared by every metric it feeds
  });
});

describe('failures', () => {
  it('counts a failed request in both request counters, with status and LiteLLM exception class', async () => {
    const metrics = createMetrics();
    metrics.observe(
      callRecord({
        outcome: 'failure',
        httpStatus: 429,
        error: { code: 'rate_limit', message: 'slow down' },
        attempts: [{ deploymentId: SONNET.id, startedAt: 0, durationMs: 20, outcome: 'failure', status: 429, errorCode: 'rate_limit' }],
        usage: {},
        costNanoUsd: 0,
      }),
    );
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { status_code: '429' })).toBe(1);
    expect(find(s, 'litellm_proxy_failed_requests_metric_total')[0]?.labels).toMatchObject({ exception_status: '429', exception_class: 'Anthropic.RateLimitError' });
    expect(find(s, 'litellm_requests_metric_total')).toEqual([]); // successes only
    expect(total(s, 'litellm_deployment_failure_responses_total', { model_id: SONNET.id, exception_status: '429' })).toBe(1);
    expect(total(s, 'litellm_deployment_state', { model_id: SONNET.id })).toBe(1);
    expect(find(s, 'litellm_request_total_latency_metric_count')).toEqual([]); // latency: successes only
  });

  it('still counts a client that hung up (499), with the tokens it consumed, without blaming the deployment', async () => {
    const metrics = createMetrics();
    metrics.observe(
      callRecord({ stream: true, outcome: 'failure', httpStatus: 499, clientDisconnected: true, error: { code: 'client_disconnected', message: 'gone' }, usage: { inputUncached: 40, output: 7 }, costNanoUsd: 225_000 }),
    );
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_proxy_total_requests_metric_total', { status_code: '499' })).toBe(1);
    expect(total(s, 'litellm_proxy_failed_requests_metric_total', { exception_status: '499' })).toBe(1);
    expect(total(s, 'litellm_input_tokens_metric_total')).toBe(40);
    expect(total(s, 'litellm_output_tokens_metric_total')).toBe(7);
    expect(total(s, 'litellm_spend_metric_total')).toBeCloseTo(0.000225, 12); // 40 × $3 + 7 × $15 per MTok
    expect(total(s, 'litellm_deployment_success_responses_total')).toBe(1);
    expect(find(s, 'litellm_deployment_failure_responses_total')).toEqual([]);
  });

  it('treats a stream that broke upstream after the first byte as a deployment failure', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ stream: true, outcome: 'failure', httpStatus: 529, error: { code: 'overloaded', message: 'overloaded' } }));
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_deployment_failure_responses_total', { exception_status: '529', exception_class: 'Anthropic.InternalServerError' })).toBe(1);
    expect(find(s, 'litellm_deployment_success_responses_total')).toEqual([]);
  });

  it('leaves requests rejected for a bad gateway key out, as LiteLLM does', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ outcome: 'failure', httpStatus: 401, error: { code: 'authentication', message: 'bad key' }, deployment: undefined, attempts: [] }));
    expect(find(await samplesOf(metrics), 'litellm_proxy_total_requests_metric_total')).toEqual([]);
  });

  it('counts a provider 401 (a deployment with a bad credential), unlike LiteLLM, which skips every 401', async () => {
    const metrics = createMetrics();
    metrics.observe(
      callRecord({
        outcome: 'failure',
        httpStatus: 401,
        error: { code: 'authentication', message: 'invalid x-api-key' },
        attempts: [{ deploymentId: SONNET.id, startedAt: 0, durationMs: 5, outcome: 'failure', status: 401, errorCode: 'authentication' }],
        usage: {},
        costNanoUsd: 0,
      }),
    );
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_proxy_failed_requests_metric_total', { exception_status: '401', exception_class: 'Anthropic.AuthenticationError' })).toBe(1);
    expect(total(s, 'litellm_deployment_failure_responses_total', { model_id: SONNET.id, exception_status: '401' })).toBe(1);
  });

  it('skips any 401 the gateway answered itself, whatever its error code', async () => {
    const metrics = createMetrics();
    const untouched = await samplesOf(createMetrics());
    metrics.observe(callRecord({ outcome: 'failure', httpStatus: 401, error: { code: 'permission_denied', message: 'no default models' }, deployment: undefined, attempts: [] }));
    expect(await samplesOf(metrics)).toEqual(untouched);
  });
});

describe('cost', () => {
  it('an unpriced call is a zero-cost request with the reason, and its model still has a spend series at 0', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ costNanoUsd: null, costMissingReason: 'no_price' }));
    metrics.observe(callRecord({ costNanoUsd: null, costMissingReason: 'missing_rate' }));
    // Rejected before routing (no deployment, no model): no spend series for model "None".
    metrics.observe(callRecord({ costNanoUsd: null, deployment: undefined, upstreamModel: undefined, attempts: [], outcome: 'failure', httpStatus: 400, error: { code: 'budget_exceeded', message: 'over' }, usage: {} }));
    const s = await samplesOf(metrics);
    const spend = find(s, 'litellm_spend_metric_total');
    expect(spend.map((x) => [x.labels.model, x.labels.requested_model, x.value])).toEqual([['claude-sonnet-4-5', 'claude-sonnet', 0]]);
    expect(total(s, 'litellm_zero_cost_requests_total', { reason: 'missing_pricing_key', requested_model: 'claude-sonnet', model: 'claude-sonnet-4-5' })).toBe(1);
    expect(total(s, 'litellm_zero_cost_requests_total', { reason: 'pricing_not_applied' })).toBe(1);
  });
});

describe('latency', () => {
  it('observes total, upstream, overhead and time to first token in seconds, in LiteLLM buckets', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ stream: true, durationMs: 1500, upstreamMs: 1200, timeToFirstTokenMs: 300 }));
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_request_total_latency_metric_sum')).toBeCloseTo(1.5, 9);
    expect(total(s, 'litellm_request_total_latency_metric_bucket', { le: '1.0' })).toBe(0);
    expect(total(s, 'litellm_request_total_latency_metric_bucket', { le: '1.5' })).toBe(1);
    expect(total(s, 'litellm_llm_api_latency_metric_sum')).toBeCloseTo(1.2, 9);
    expect(total(s, 'litellm_overhead_latency_metric_sum')).toBeCloseTo(0.3, 9);
    expect(total(s, 'litellm_llm_api_time_to_first_token_metric_sum')).toBeCloseTo(0.3, 9);
    // Streaming: time to first token / output tokens = 0.3 s / 5.
    expect(total(s, 'litellm_deployment_latency_per_output_token_sum')).toBeCloseTo(0.06, 9);
    // Bucket bounds spelt as Python's prometheus_client does, since dashboards select on them.
    expect(find(s, 'litellm_request_total_latency_metric_bucket').map((b) => b.labels.le)).toEqual(['0.005', '0.00625', '0.0125', '0.025', '0.05', '0.1', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0', '3.5', '4.0', '4.5', '5.0', '5.5', '6.0', '6.5', '7.0', '7.5', '8.0', '8.5', '9.0', '9.5', '10.0', '15.0', '20.0', '25.0', '30.0', '60.0', '120.0', '180.0', '240.0', '300.0', '+Inf']);
  });

  it('has no time to first token for a non-streaming call', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord({ stream: false, timeToFirstTokenMs: 800 }));
    expect(find(await samplesOf(metrics), 'litellm_llm_api_time_to_first_token_metric_count')).toEqual([]);
  });
});

describe('retries and fallbacks', () => {
  const OPUS: DeploymentRef = { id: 'dep-opus-1', modelGroup: 'claude-opus', provider: 'bedrock', model: 'anthropic.claude-opus-4', apiBase: 'https://bedrock.example' };
  const lookupDeployment = (id: string): DeploymentRef | undefined => [SONNET, OPUS].find((d) => d.id === id);
  const overloaded = { status: 529, errorCode: 'overloaded' as const, outcome: 'failure' as const, startedAt: 0, durationMs: 10 };

  it('counts every attempt per deployment and the fallback that answered', async () => {
    const metrics = createMetrics({ lookupDeployment });
    metrics.observe(
      callRecord({
        requestedModel: 'claude-sonnet',
        modelGroup: 'claude-opus',
        deployment: OPUS,
        upstreamModel: OPUS.model,
        retries: 1,
        fallbacks: 1,
        attempts: [
          { deploymentId: SONNET.id, ...overloaded },
          { deploymentId: SONNET.id, ...overloaded },
          { deploymentId: OPUS.id, startedAt: 0, durationMs: 900, outcome: 'success' },
        ],
      }),
    );
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_deployment_failure_responses_total', { model_id: SONNET.id, exception_status: '529', exception_class: 'Anthropic.InternalServerError' })).toBe(2);
    expect(total(s, 'litellm_deployment_total_requests_total', { model_id: SONNET.id })).toBe(2);
    expect(total(s, 'litellm_deployment_success_responses_total', { model_id: OPUS.id, api_base: 'https://bedrock.example', api_provider: 'bedrock' })).toBe(1);
    expect(total(s, 'litellm_deployment_state', { model_id: SONNET.id })).toBe(1);
    expect(total(s, 'litellm_deployment_state', { model_id: OPUS.id })).toBe(0);
    expect(find(s, 'litellm_deployment_successful_fallbacks_total')[0]).toMatchObject({
      value: 1,
      labels: { requested_model: 'claude-sonnet', fallback_model: 'claude-opus', exception_status: '529', exception_class: 'Anthropic.InternalServerError', model_id: OPUS.id },
    });
    expect(find(s, 'litellm_deployment_failed_fallbacks_total')).toEqual([]);
    expect(find(s, 'tollgate_deployment_answered_total')[0]).toMatchObject({
      value: 1,
      labels: { requested_model: 'claude-sonnet', model_group: 'claude-opus', model_id: OPUS.id, api_base: 'https://bedrock.example', api_provider: 'bedrock', fallback: 'true' },
    });
    expect(total(s, 'tollgate_request_retries_sum')).toBe(1);
    expect(total(s, 'tollgate_request_retries_bucket', { le: '0.0' })).toBe(0);
    expect(total(s, 'tollgate_request_retries_bucket', { le: '1.0' })).toBe(1);
    expect(total(s, 'tollgate_request_fallbacks_sum')).toBe(1);
    expect(total(s, 'litellm_proxy_total_requests_metric_total')).toBe(1); // one client request
  });

  it('counts a fallback that failed too', async () => {
    const metrics = createMetrics({ lookupDeployment });
    metrics.observe(
      callRecord({
        outcome: 'failure',
        httpStatus: 529,
        error: { code: 'overloaded', message: 'overloaded' },
        modelGroup: 'claude-opus',
        deployment: OPUS,
        fallbacks: 1,
        attempts: [
          { deploymentId: SONNET.id, ...overloaded },
          { deploymentId: OPUS.id, ...overloaded },
        ],
        usage: {},
        costNanoUsd: 0,
      }),
    );
    const s = await samplesOf(metrics);
    expect(find(s, 'litellm_deployment_failed_fallbacks_total')[0]).toMatchObject({ value: 1, labels: { fallback_model: 'claude-opus', model_id: OPUS.id, exception_status: '529' } });
    expect(find(s, 'litellm_deployment_successful_fallbacks_total')).toEqual([]);
    expect(find(s, 'tollgate_deployment_answered_total')).toEqual([]);
  });

  it('labels only the known group when the earlier attempts cannot be resolved', async () => {
    const metrics = createMetrics(); // no lookupDeployment
    metrics.observe(
      callRecord({
        modelGroup: 'claude-opus',
        deployment: OPUS,
        fallbacks: 2,
        attempts: [
          { deploymentId: 'dep-a', ...overloaded },
          { deploymentId: 'dep-b', ...overloaded },
          { deploymentId: OPUS.id, startedAt: 0, durationMs: 900, outcome: 'success' },
        ],
      }),
    );
    const s = await samplesOf(metrics);
    expect(find(s, 'litellm_deployment_failed_fallbacks_total').map((x) => [x.labels.fallback_model, x.labels.model_id, x.value])).toEqual([['None', 'None', 1]]);
    expect(find(s, 'litellm_deployment_successful_fallbacks_total').map((x) => [x.labels.fallback_model, x.labels.model_id, x.value])).toEqual([['claude-opus', OPUS.id, 1]]);
    // Unresolved attempts still count per deployment, by id.
    expect(total(s, 'litellm_deployment_failure_responses_total', { model_id: 'dep-a', api_base: 'None' })).toBe(1);
  });

  it('marks a direct answer as fallback="false"', async () => {
    const metrics = createMetrics();
    metrics.observe(callRecord());
    expect(total(await samplesOf(metrics), 'tollgate_deployment_answered_total', { fallback: 'false', api_base: 'https://api.anthropic.com' })).toBe(1);
  });
});

describe("Tollgate's response cache", () => {
  it('counts hits, misses and the tokens of cached responses, apart from provider prompt caching', async () => {
    const metrics = createMetrics();
    metrics.observe({ ...callRecord({ usage: { inputUncached: 10, cacheRead: 100, output: 5 } }), responseCache: 'hit' });
    metrics.observe({ ...callRecord(), responseCache: 'miss' });
    metrics.observe(callRecord()); // not cacheable: neither
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_cache_hits_metric_total')).toBe(1);
    expect(total(s, 'litellm_cache_misses_metric_total')).toBe(1);
    expect(total(s, 'litellm_cached_tokens_metric_total')).toBe(115);
  });
});

describe('state set by the gateway', () => {
  it('tracks in-flight requests and budgets', async () => {
    const metrics = createMetrics();
    metrics.inFlight.inc();
    metrics.inFlight.inc();
    metrics.inFlight.dec();
    const now = 1_700_000_000_000;
    metrics.setBudget({ kind: 'api_key', keyHash: 'hash-abc', keyAlias: 'ci-key' }, { spendUsd: 2.5, maxBudgetUsd: 10, resetAt: now + 2 * 3_600_000 }, now);
    metrics.setBudget({ kind: 'team', teamId: 'team-1' }, { spendUsd: 1 });
    metrics.setBudget({ kind: 'customer', endUser: 'customer-9' }, { spendUsd: 1, maxBudgetUsd: 5 }); // end_user tracking is off
    metrics.deploymentCooledDown(SONNET, 429);
    metrics.setKeyModelRemaining({ keyHash: 'hash-abc' }, 'claude-sonnet', undefined, { requests: 99 });
    const s = await samplesOf(metrics);
    expect(total(s, 'litellm_in_flight_requests')).toBe(1);
    expect(total(s, 'litellm_remaining_api_key_budget_metric', { hashed_api_key: 'hash-abc', api_key_alias: 'ci-key' })).toBe(7.5);
    expect(total(s, 'litellm_api_key_max_budget_metric')).toBe(10);
    expect(total(s, 'litellm_api_key_budget_remaining_hours_metric')).toBe(2);
    expect(total(s, 'litellm_remaining_team_budget_metric', { team: 'team-1', team_alias: 'None' })).toBe(Infinity);
    expect(find(s, 'litellm_team_max_budget_metric')).toEqual([]);
    expect(find(s, 'litellm_remaining_customer_budget_metric')).toEqual([]);
    expect(total(s, 'litellm_deployment_cooled_down_total', { model_id: SONNET.id, exception_status: '429' })).toBe(1);
    expect(total(s, 'litellm_remaining_api_key_requests_for_model', { model: 'claude-sonnet', model_id: 'None' })).toBe(99);
  });

  it('uses a private registry per instance', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observe(callRecord());
    expect(find(await samplesOf(b), 'litellm_proxy_total_requests_metric_total')).toEqual([]);
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
