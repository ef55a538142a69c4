/**
 * Scripted traffic for the exposition-format test: every kind of sample the recorder writes
 * (counters, gauges set and re-set, histograms on, between and above bucket bounds, +Inf and NaN
 * values, label values needing escaping, label filtering down to no labels at all), driven only
 * through the public Metrics interface so the same script ran against the prom-client recorder
 * that produced the golden files in fixtures/exposition/.
 */
import type { CallRecord, DeploymentRef } from '../../src/core/call-record.js';
import type { Metrics, MetricsSettings } from '../../src/observability/metrics/index.js';
import { callRecord, SONNET } from './helpers.js';

const OPUS: DeploymentRef = { id: 'dep-opus-1', modelGroup: 'claude-opus', provider: 'bedrock', model: 'anthropic.claude-opus-4', apiBase: 'https://bedrock.example' };
const GPT: DeploymentRef = { id: 'dep-gpt-1', modelGroup: 'gpt', provider: 'openai', model: 'gpt-4o', apiBase: undefined };
export const WORKLOAD_DEPLOYMENTS: readonly DeploymentRef[] = [SONNET, OPUS, GPT];

const overloaded = { status: 529, errorCode: 'overloaded' as const, outcome: 'failure' as const, startedAt: 0, durationMs: 10 };

/** A small deterministic generator (mulberry32), so the script is the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function calls(): CallRecord[] {
  const random = rng(42);
  const out: CallRecord[] = [];
  const principals = [
    callRecord().principal,
    { keyHash: 'hash-def', keyAlias: 'alias "quoted" \\ back', userId: 'user-2', teamId: 'team-2', endUser: 'cust\nline', isMaster: false },
    { isMaster: true, keyHash: 'sha-of-master' },
    { ...callRecord().principal, teamAlias: 'platform', userEmail: 'a@example.com' },
  ];
  const agents = ['vitest', 'curl/8.5', 'bad\r\nagent\u2028', undefined];
  for (let i = 0; i < 40; i++) {
    const principal = principals[Math.floor(random() * principals.length)]!;
    const stream = random() < 0.5;
    // Latencies on, between and above the bucket bounds (300 s is the last finite one).
    const durationMs = [5, 6.25, 999, 1000, 1001, 2500, 301_000, 0][i % 8]!;
    const upstreamMs = durationMs === 0 ? undefined : durationMs * 0.9;
    const base = callRecord({
      requestId: `req-${i}`,
      principal,
      stream,
      durationMs,
      upstreamMs,
      timeToFirstTokenMs: stream ? durationMs / 4 : undefined,
      userAgent: agents[i % agents.length],
      usage: { inputUncached: 1 + Math.floor(random() * 1000), output: Math.floor(random() * 200), cacheRead: i % 3 === 0 ? 17 : undefined, cacheWrite5m: i % 5 === 0 ? 3 : undefined, reasoning: i % 4 === 0 ? 9 : undefined },
      costNanoUsd: i % 7 === 0 ? null : Math.floor(random() * 1e7),
      costMissingReason: i % 14 === 0 ? 'no_price' : i % 7 === 0 ? 'missing_rate' : undefined,
      metadata: { foo: i % 2 === 0 ? 'bar' : { nested: [1, 2] }, tags: { env: i % 3 === 0 ? 'prod' : undefined } },
    });
    const kind = i % 10;
    if (kind === 3) {
      out.push(callRecord({ ...base, outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit', message: 'slow' }, attempts: [{ deploymentId: SONNET.id, ...overloaded, status: 429, errorCode: 'rate_limit' }], usage: {}, costNanoUsd: 0 }));
    } else if (kind === 5) {
      out.push(callRecord({ ...base, requestedModel: 'claude-sonnet', modelGroup: 'claude-opus', deployment: OPUS, upstreamModel: OPUS.model, retries: 1, fallbacks: 1, attempts: [{ deploymentId: SONNET.id, ...overloaded }, { deploymentId: SONNET.id, ...overloaded }, { deploymentId: OPUS.id, startedAt: 0, durationMs: 900, outcome: 'success' }] }));
    } else if (kind === 6) {
      out.push(callRecord({ ...base, outcome: 'failure', httpStatus: 529, error: { code: 'overloaded', message: 'o' }, modelGroup: 'claude-opus', deployment: OPUS, fallbacks: 1, attempts: [{ deploymentId: SONNET.id, ...overloaded }, { deploymentId: OPUS.id, ...overloaded }], usage: {}, costNanoUsd: 0 }));
    } else if (kind === 7) {
      out.push({ ...callRecord({ ...base, deployment: GPT, modelGroup: 'gpt', requestedModel: 'gpt', upstreamModel: undefined, route: '/v1/chat/completions', attempts: [] }), responseCache: i % 20 === 7 ? 'hit' : 'miss', clientIp: '10.0.0.7', serviceTier: 'priority' } as CallRecord);
    } else if (kind === 8) {
      out.push(callRecord({ ...base, stream: true, outcome: 'failure', httpStatus: 499, clientDisconnected: true, error: { code: 'client_disconnected', message: 'gone' } }));
    } else if (kind === 9) {
      // Rejected before routing; a 401 the gateway answered is left out entirely.
      out.push(callRecord({ ...base, deployment: undefined, upstreamModel: undefined, attempts: [], outcome: 'failure', httpStatus: i % 20 === 9 ? 401 : 400, error: { code: i % 20 === 9 ? 'authentication' : 'budget_exceeded', message: 'no' }, usage: {}, costNanoUsd: null }));
    } else {
      out.push(base);
    }
  }
  return out;
}

/** The state setters, with +Inf, NaN, re-set values and every budget owner kind. */
function state(metrics: Metrics): void {
  const now = 1_700_000_000_000;
  metrics.inFlight.inc();
  metrics.inFlight.inc();
  metrics.inFlight.inc();
  metrics.inFlight.dec();
  metrics.setBudget({ kind: 'api_key', keyHash: 'hash-abc', keyAlias: 'ci-key' }, { spendUsd: 2.5, maxBudgetUsd: 10, resetAt: now + 2 * 3_600_000 }, now);
  metrics.setBudget({ kind: 'api_key', keyHash: 'hash-def' }, { spendUsd: 0.1 + 0.2 }, now);
  metrics.setBudget({ kind: 'api_key', keyHash: 'hash-abc', keyAlias: 'ci-key' }, { spendUsd: 3.25, maxBudgetUsd: 10, resetAt: now - 5 }, now);
  metrics.setBudget({ kind: 'team', teamId: 'team-1', teamAlias: 'platform' }, { spendUsd: 1, maxBudgetUsd: 1e21 }, now);
  metrics.setBudget({ kind: 'user', userId: 'user-1' }, { spendUsd: Number.NaN, maxBudgetUsd: 4 }, now);
  metrics.setBudget({ kind: 'customer', endUser: 'customer-9' }, { spendUsd: 1, maxBudgetUsd: 5 }, now);
  metrics.setKeyModelRemaining({ keyHash: 'hash-abc' }, 'claude-sonnet', undefined, { requests: 99, tokens: 12_345 });
  metrics.setKeyModelRemaining({ keyHash: 'hash-abc', keyAlias: 'ci-key' }, 'gpt', 'dep-gpt-1', { tokens: -3 });
  metrics.setKeyModelRemaining({ keyHash: 'hash-abc' }, 'claude-sonnet', undefined, { requests: 98 });
  metrics.deploymentCooledDown(SONNET, 429);
  metrics.deploymentCooledDown(SONNET, 429);
  metrics.deploymentCooledDown(OPUS, undefined);
  metrics.setDeploymentLimits(SONNET, { tpm: 100_000, rpm: 60 });
  metrics.setDeploymentLimits(GPT, { rpm: 0.5 });
}

export function runWorkload(metrics: Metrics): void {
  const all = calls();
  for (const [i, call] of all.entries()) {
    metrics.observe(call);
    if (i === 20) state(metrics);
  }
  state(metrics);
}

/** One golden file per configuration: the default, and the settings that reshape label sets. */
export const WORKLOAD_CONFIGS: Readonly<Record<string, MetricsSettings>> = {
  default: {},
  custom: {
    custom_prometheus_metadata_labels: ['metadata.foo', 'metadata.tags.env'],
    prometheus_emit_stream_label: true,
    enable_end_user_cost_tracking_prometheus_only: true,
    prometheus_exclude_labels: ['user_agent'],
    prometheus_exclude_metrics: ['litellm_request_total_latency_metric', 'litellm_remaining_team_budget_metric'],
  },
  groups: {
    prometheus_metrics_config: [
      { group: 'requests', metrics: ['litellm_proxy_total_requests_metric'], include_labels: ['requested_model', 'status_code'] },
      { group: 'spend', metrics: ['litellm_spend_metric'], include_labels: ['model', 'requested_model'] },
      { group: 'bare', metrics: ['litellm_input_tokens_metric', 'litellm_deployment_state', 'tollgate_request_retries', 'litellm_in_flight_requests'], include_labels: [] },
      { group: 'latency', metrics: ['litellm_llm_api_latency_metric'], include_labels: ['model'] },
      { group: 'fallbacks', metrics: ['litellm_deployment_successful_fallbacks', 'litellm_deployment_failed_fallbacks'], include_labels: ['fallback_model', 'exception_class'] },
      { group: 'budgets', metrics: ['litellm_remaining_api_key_budget_metric', 'litellm_deployment_cooled_down'] },
    ],
  },
};
