/**
 * One CallRecord → every metric it feeds. This is the only place metric values are derived from a
 * call; tokens come from the canonical Usage and money from the record's integer nano-USD, so the
 * metrics agree with the spend log and the response headers by construction.
 */
import type { AttemptRecord, CallRecord, DeploymentRef } from '../../core/call-record.js';
import { totalInput, totalTokens } from '../../core/usage.js';
import type { Families } from './families.js';
import { attemptLabels, callLabels, exceptionClass, NONE, responseCacheOutcome, sanitizeLabelValue, type LabelOptions, type LabelValues } from './labels.js';

export type DeploymentLookup = (id: string) => DeploymentRef | undefined;

export interface ObserveContext extends LabelOptions {
  families: Families;
  /** Resolves the deployment of an attempt that did not answer (retried or fallen back from). */
  lookupDeployment?: DeploymentLookup | undefined;
}

/** Tollgate's null-cost reasons, as LiteLLM's `litellm_zero_cost_requests_total{reason}` values. */
const ZERO_COST_REASONS = {
  no_price: 'missing_pricing_key',
  missing_rate: 'pricing_not_applied',
  no_deployment: 'cost_calculation_error',
} as const;

export function observeCall(ctx: ObserveContext, call: CallRecord): void {
  // LiteLLM leaves every 401 out of every metric (prometheus.py, _should_skip_metrics_for_invalid_key):
  // a bad key's labels are attacker-controlled noise. Tollgate skips the 401s it answered itself; an
  // upstream 401 has a deployment and is counted (a deployment with a revoked credential must show).
  if (call.deployment === undefined && (call.httpStatus === 401 || call.error?.code === 'authentication')) return;
  const f = ctx.families;
  const v = callLabels(call, ctx);
  const ok = call.outcome === 'success';

  f.get('litellm_proxy_total_requests_metric')?.inc(v);
  if (ok) f.get('litellm_requests_metric')?.inc(v);
  else {
    f.get('litellm_proxy_failed_requests_metric')?.inc(v);
    if (call.deployment !== undefined) f.get('litellm_llm_api_failed_requests_metric')?.inc(v);
  }

  observeUsage(ctx, call, v);
  if (ok) observeLatency(ctx, call, v);
  observeAttempts(ctx, call, v);
  observeFallbacks(ctx, call, v);
  observeResponseCache(ctx, call, v);

  if (ok && call.deployment !== undefined) f.get('tollgate_deployment_answered_total')?.inc(v);
  if (call.attempts.length > 0 || call.deployment !== undefined) {
    f.get('tollgate_request_retries')?.observe(v, call.retries);
    f.get('tollgate_request_fallbacks')?.observe(v, call.fallbacks);
  }
}

/**
 * Tokens and spend are counted on every outcome: a stream cut off mid-way, or a client that went
 * away, still used (and is billed for) the tokens it got.
 */
function observeUsage(ctx: ObserveContext, call: CallRecord, v: LabelValues): void {
  const f = ctx.families;
  const u = call.usage;
  const input = totalInput(u);
  const total = totalTokens(u);
  if (total !== undefined) f.get('litellm_total_tokens_metric')?.inc(v, total);
  if (input !== undefined) f.get('litellm_input_tokens_metric')?.inc(v, input);
  if (u.output !== undefined) f.get('litellm_output_tokens_metric')?.inc(v, u.output);
  // Detail counters are sparse, as in LiteLLM: no series for a provider that never reports them.
  if ((u.cacheRead ?? 0) > 0) f.get('litellm_input_cached_tokens_metric')?.inc(v, u.cacheRead);
  const creation = f.get('litellm_input_cache_creation_tokens_metric');
  for (const [ttl, tokens] of [['5m', u.cacheWrite5m], ['1h', u.cacheWrite1h], ['unknown', u.cacheWriteUnknownTtl]] as const) {
    if (tokens !== undefined && tokens > 0) creation?.inc({ ...v, cache_ttl: ttl }, tokens);
  }
  if ((u.reasoning ?? 0) > 0) f.get('litellm_output_reasoning_tokens_metric')?.inc(v, u.reasoning);

  if (call.costNanoUsd !== null) {
    f.get('litellm_spend_metric')?.inc(v, call.costNanoUsd / 1e9);
  } else {
    // An unpriced model still gets its spend series, at 0, so dashboards that list models by
    // spend show it (LiteLLM increments by a response_cost of 0). The record keeps cost null.
    if (call.deployment !== undefined) f.get('litellm_spend_metric')?.inc(v, 0);
    if ((total ?? 0) > 0) {
      const reason = ZERO_COST_REASONS[call.costMissingReason ?? 'no_deployment'];
      f.get('litellm_zero_cost_requests_total')?.inc({ ...v, reason });
    }
  }
}

function observeLatency(ctx: ObserveContext, call: CallRecord, v: LabelValues): void {
  const f = ctx.families;
  f.get('litellm_request_total_latency_metric')?.observe(v, call.durationMs / 1000);
  if (call.upstreamMs !== undefined) {
    f.get('litellm_llm_api_latency_metric')?.observe(v, call.upstreamMs / 1000);
    f.get('litellm_overhead_latency_metric')?.observe(v, Math.max(0, call.durationMs - call.upstreamMs) / 1000);
  }
  const ttft = call.stream ? call.timeToFirstTokenMs : undefined;
  if (ttft !== undefined) f.get('litellm_llm_api_time_to_first_token_metric')?.observe(v, ttft / 1000);
  const output = call.usage.output ?? 0;
  if (output > 0) {
    // LiteLLM divides the time to first token when streaming, the whole call otherwise.
    const latencyMs = ttft ?? call.upstreamMs ?? call.durationMs;
    f.get('litellm_deployment_latency_per_output_token')?.observe(v, latencyMs / 1000 / output);
  }
}

/** The attempts the record describes; a record without any but with a deployment made one. */
function attemptsOf(call: CallRecord): readonly AttemptRecord[] {
  if (call.attempts.length > 0 || call.deployment === undefined) return call.attempts;
  return [{ deploymentId: call.deployment.id, startedAt: call.startedAt, durationMs: call.upstreamMs ?? call.durationMs, outcome: call.outcome, status: call.httpStatus, errorCode: call.error?.code }];
}

function refOf(ctx: ObserveContext, call: CallRecord, id: string): DeploymentRef | undefined {
  return call.deployment?.id === id ? call.deployment : ctx.lookupDeployment?.(id);
}

/** One deployment count per upstream attempt, as LiteLLM logs each LLM API call. */
function observeAttempts(ctx: ObserveContext, call: CallRecord, v: LabelValues): void {
  const f = ctx.families;
  const attempts = attemptsOf(call);
  attempts.forEach((recorded, i) => {
    let attempt = recorded;
    // The answering attempt succeeded at its first byte; a stream that then broke upstream is a
    // deployment failure. A client hanging up, or a gateway bug, is not the deployment's fault.
    const code = call.error?.code;
    const brokeLater = i === attempts.length - 1 && attempt.outcome === 'success' && call.outcome === 'failure' && code !== undefined && code !== 'client_disconnected' && code !== 'internal';
    if (brokeLater) attempt = { ...attempt, status: call.httpStatus, errorCode: code };
    const failed = attempt.outcome === 'failure' || brokeLater;
    const labels = attemptLabels(v, refOf(ctx, call, attempt.deploymentId), attempt, failed);
    f.get('litellm_deployment_total_requests')?.inc(labels);
    f.get(failed ? 'litellm_deployment_failure_responses' : 'litellm_deployment_success_responses')?.inc(labels);
    f.get('litellm_deployment_state')?.set(labels, failed ? 1 : 0);
  });
}

/**
 * LiteLLM logs one event per fallback group tried: successful for the group that answered, failed
 * for the others, each labelled with the error that sent the request away from the original group.
 */
function observeFallbacks(ctx: ObserveContext, call: CallRecord, v: LabelValues): void {
  if (call.fallbacks <= 0) return;
  const attempts = attemptsOf(call).map((a) => ({ attempt: a, group: refOf(ctx, call, a.deploymentId)?.modelGroup }));
  const firstGroup = attempts[0]?.group;
  const tried: string[] = [];
  for (const { group } of attempts) if (group !== undefined && group !== firstGroup && !tried.includes(group)) tried.push(group);
  const original = attempts.filter((a) => a.attempt.outcome === 'failure' && (a.group === firstGroup || tried.length === 0));
  const trigger = original.at(-1)?.attempt ?? attempts.find((a) => a.attempt.outcome === 'failure')?.attempt;
  const exception = {
    exception_status: sanitizeLabelValue(trigger?.status),
    exception_class: trigger?.errorCode === undefined ? NONE : exceptionClass(trigger.errorCode, refOf(ctx, call, trigger.deploymentId)?.provider),
  };
  // Without every attempt's deployment resolved, only the last group tried (the record's) is known.
  const known = tried.length === call.fallbacks && attempts.every((a) => a.group !== undefined);
  for (let i = 0; i < call.fallbacks; i++) {
    const last = i === call.fallbacks - 1;
    const group = known ? tried[i] : last ? call.modelGroup : undefined;
    const answered = last && call.outcome === 'success';
    const lastInGroup = attempts.filter((a) => a.group !== undefined && a.group === group).at(-1)?.attempt.deploymentId;
    const labels = { ...v, ...exception, fallback_model: sanitizeLabelValue(group), model_id: answered ? v.model_id ?? NONE : sanitizeLabelValue(lastInGroup) };
    ctx.families.get(answered ? 'litellm_deployment_successful_fallbacks' : 'litellm_deployment_failed_fallbacks')?.inc(labels);
  }
}

function observeResponseCache(ctx: ObserveContext, call: CallRecord, v: LabelValues): void {
  const outcome = responseCacheOutcome(call);
  if (outcome === 'miss') ctx.families.get('litellm_cache_misses_metric')?.inc(v);
  if (outcome !== 'hit') return;
  ctx.families.get('litellm_cache_hits_metric')?.inc(v);
  const tokens = totalTokens(call.usage) ?? 0;
  if (tokens > 0) ctx.families.get('litellm_cached_tokens_metric')?.inc(v, tokens);
}
