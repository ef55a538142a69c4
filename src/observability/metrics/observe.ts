/**
 * One CallRecord → every metric it feeds. This is the only place metric values are derived from a
 * call; tokens come from the canonical Usage and money from the record's integer nano-USD, so the
 * metrics agree with the spend log and the response headers by construction.
 *
 * Per call the labels are written into one reused array and the call's label combination is
 * looked up in a trie (one Map step per label some enabled metric uses); its leaf holds the series
 * of every metric for that combination, resolved on first use. A repeated combination costs the
 * trie walk and a few additions: no label objects, no hashing of label sets, no allocation.
 */
import type { AttemptRecord, CallRecord, DeploymentRef } from '../../core/call-record.js';
import type { ErrorCode } from '../../core/errors.js';
import type { Usage } from '../../core/usage.js';
import type { Families } from './families.js';
import { ATTEMPT_LABELS, callSchema, exceptionClass, fillAttemptLabels, fillCallLabels, L, NONE, responseCacheOutcome, sanitizeLabelValue, VARIANT_LABELS, withAttempt, type CallLabel, type LabelOptions } from './labels.js';
import { counterOf, count, countPending, Leaf, sample, samplePending, type Slot } from './leaf.js';
import { add, pending, type CounterFamily, type HistogramFamily, type LabelView } from './series.js';
import { Trie } from './trie.js';

export type DeploymentLookup = (id: string) => DeploymentRef | undefined;

export interface ObserveOptions extends LabelOptions {
  /** Resolves the deployment of an attempt that did not answer (retried or fallen back from). */
  lookupDeployment?: DeploymentLookup | undefined;
}

/** Tollgate's null-cost reasons, as LiteLLM's `litellm_zero_cost_requests_total{reason}` values. */
const ZERO_COST_REASONS = {
  no_price: 'missing_pricing_key',
  missing_rate: 'pricing_not_applied',
  no_deployment: 'cost_calculation_error',
} as const;

// Each number is read from the record and divided where it is written to `pending`, never passed
// on as an argument, so it is never boxed.

function sampleLatency(leaf: Leaf, s: Slot<HistogramFamily>, call: CallRecord): void {
  pending[0] = call.durationMs / 1000;
  samplePending(leaf, s);
}

function sampleUpstream(leaf: Leaf, s: Slot<HistogramFamily>, call: CallRecord): void {
  if (call.upstreamMs === undefined) return;
  pending[0] = call.upstreamMs / 1000;
  samplePending(leaf, s);
}

function sampleOverhead(leaf: Leaf, s: Slot<HistogramFamily>, call: CallRecord): void {
  if (call.upstreamMs === undefined) return;
  pending[0] = Math.max(0, call.durationMs - call.upstreamMs) / 1000;
  samplePending(leaf, s);
}

function sampleTimeToFirstToken(leaf: Leaf, s: Slot<HistogramFamily>, call: CallRecord): void {
  if (!call.stream || call.timeToFirstTokenMs === undefined) return;
  pending[0] = call.timeToFirstTokenMs / 1000;
  samplePending(leaf, s);
}

function samplePerOutputToken(leaf: Leaf, s: Slot<HistogramFamily>, call: CallRecord): void {
  const output = call.usage.output ?? 0;
  if (!(output > 0)) return;
  // LiteLLM divides the time to first token when streaming, the whole call otherwise, in this
  // order. (Branches, not `??`: a double picked through `??` is boxed.)
  if (call.stream && call.timeToFirstTokenMs !== undefined) pending[0] = call.timeToFirstTokenMs / 1000 / output;
  else if (call.upstreamMs !== undefined) pending[0] = call.upstreamMs / 1000 / output;
  else pending[0] = call.durationMs / 1000 / output;
  samplePending(leaf, s);
}

function countSpend(leaf: Leaf, s: Slot<CounterFamily>, call: CallRecord): void {
  if (call.costNanoUsd === null) return;
  pending[0] = call.costNanoUsd / 1e9;
  countPending(leaf, s);
}

/** Every metric a call feeds, with its slot in a call leaf (`call`) or an attempt leaf (`attempt`). */
function buildSlots(f: Families, schema: readonly string[]) {
  const all: Slot<CounterFamily | HistogramFamily>[] = [];
  let counters = 0;
  let histograms = 0;
  const c = (family: CounterFamily, variant?: readonly [CallLabel, string]): Slot<CounterFamily> => {
    const slot = { slot: counters++, family, view: family.view(schema), variant: variant === undefined ? -1 : L[variant[0]], variantValue: variant?.[1] ?? '' };
    all.push(slot);
    return slot;
  };
  const h = (family: HistogramFamily): Slot<HistogramFamily> => {
    const slot = { slot: histograms++, family, view: family.view(schema), variant: -1, variantValue: '' };
    all.push(slot);
    return slot;
  };
  const creation = f.litellm_input_cache_creation_tokens_metric;
  const zero = f.litellm_zero_cost_requests_total;
  const call = {
    total: c(f.litellm_proxy_total_requests_metric),
    requests: c(f.litellm_requests_metric),
    failed: c(f.litellm_proxy_failed_requests_metric),
    apiFailed: c(f.litellm_llm_api_failed_requests_metric),
    totalTokens: c(f.litellm_total_tokens_metric),
    inputTokens: c(f.litellm_input_tokens_metric),
    outputTokens: c(f.litellm_output_tokens_metric),
    cachedTokens: c(f.litellm_input_cached_tokens_metric),
    creation5m: c(creation, ['cache_ttl', '5m']),
    creation1h: c(creation, ['cache_ttl', '1h']),
    creationUnknown: c(creation, ['cache_ttl', 'unknown']),
    reasoning: c(f.litellm_output_reasoning_tokens_metric),
    spend: c(f.litellm_spend_metric),
    zeroCost: {
      no_price: c(zero, ['reason', ZERO_COST_REASONS.no_price]),
      missing_rate: c(zero, ['reason', ZERO_COST_REASONS.missing_rate]),
      no_deployment: c(zero, ['reason', ZERO_COST_REASONS.no_deployment]),
    },
    totalLatency: h(f.litellm_request_total_latency_metric),
    apiLatency: h(f.litellm_llm_api_latency_metric),
    overhead: h(f.litellm_overhead_latency_metric),
    ttft: h(f.litellm_llm_api_time_to_first_token_metric),
    perToken: h(f.litellm_deployment_latency_per_output_token),
    answered: c(f.tollgate_deployment_answered_total),
    retries: h(f.tollgate_request_retries),
    fallbacks: h(f.tollgate_request_fallbacks),
    cacheHits: c(f.litellm_cache_hits_metric),
    cacheMisses: c(f.litellm_cache_misses_metric),
    cacheTokens: c(f.litellm_cached_tokens_metric),
  };
  const callCounters = counters;
  const callSlots = all.length;
  counters = 0; // attempt leaves number their slots afresh
  const attempt = {
    total: c(f.litellm_deployment_total_requests),
    success: c(f.litellm_deployment_success_responses),
    failure: c(f.litellm_deployment_failure_responses),
    state: c(f.litellm_deployment_state),
  };
  // Fallback series are resolved from a leaf's values without a slot (fallbacks are rare).
  const fallbackOf = (family: CounterFamily) => ({ family, view: family.view(schema) });
  const fallback = { success: fallbackOf(f.litellm_deployment_successful_fallbacks), failure: fallbackOf(f.litellm_deployment_failed_fallbacks) };
  // Key the tries by every label an enabled metric fed from a leaf shows, and only those, so an
  // excluded high-cardinality label (user_agent, client_ip) costs no memory here either.
  const labelsOf = (slots: readonly { family: { enabled: boolean }; view: LabelView }[]): Set<number> => {
    const used = new Set<number>();
    for (const s of slots) if (s.family.enabled) for (const i of s.view) if (i >= 0 && !VARIANT_LABELS.includes(i)) used.add(i);
    return used;
  };
  const attemptUsed = labelsOf(all.slice(callSlots));
  return {
    call,
    attempt,
    callCounters,
    callHistograms: histograms,
    attemptCounters: counters,
    fallback,
    path: Int32Array.from([...labelsOf([...all, fallback.success, fallback.failure])].sort((x, y) => x - y)),
    attemptPath: Int32Array.from(ATTEMPT_LABELS.flatMap((label, k) => (attemptUsed.has(label) ? [k] : []))),
  };
}

export class CallObserver {
  private readonly raw: string[];
  private readonly attemptRaw: string[] = ATTEMPT_LABELS.map(() => NONE);
  private readonly slots: ReturnType<typeof buildSlots>;
  private readonly s: ReturnType<typeof buildSlots>['call'];
  private readonly a: ReturnType<typeof buildSlots>['attempt'];
  private readonly leaves: Trie<Leaf>;

  constructor(
    families: Families,
    private readonly options: ObserveOptions,
  ) {
    const schema = callSchema(options.customLabels);
    this.raw = schema.map(() => NONE);
    this.slots = buildSlots(families, schema);
    this.s = this.slots.call;
    this.a = this.slots.attempt;
    this.leaves = new Trie((raw) => new Leaf(raw.map((v) => sanitizeLabelValue(v)), this.slots.callCounters, this.slots.callHistograms));
  }

  observe(call: CallRecord): void {
    // LiteLLM leaves every 401 out of every metric (prometheus.py, _should_skip_metrics_for_invalid_key):
    // a bad key's labels are attacker-controlled noise. Tollgate skips the 401s it answered itself; an
    // upstream 401 has a deployment and is counted (a deployment with a revoked credential must show).
    if (call.deployment === undefined && (call.httpStatus === 401 || call.error?.code === 'authentication')) return;
    fillCallLabels(call, this.options, this.raw);
    const leaf = this.leaves.get(this.raw, this.slots.path);
    const s = this.s;
    const ok = call.outcome === 'success';

    count(leaf, s.total, 1);
    if (ok) count(leaf, s.requests, 1);
    else {
      count(leaf, s.failed, 1);
      if (call.deployment !== undefined) count(leaf, s.apiFailed, 1);
    }

    this.usage(leaf, call);
    if (ok) this.latency(leaf, call);
    this.attempts(leaf, call);
    if (call.fallbacks > 0) this.fallbacks(leaf, call);
    this.responseCache(leaf, call);

    if (ok && call.deployment !== undefined) count(leaf, s.answered, 1);
    if (call.attempts.length > 0 || call.deployment !== undefined) {
      sample(leaf, s.retries, call.retries);
      sample(leaf, s.fallbacks, call.fallbacks);
    }
  }

  /**
   * Tokens and spend are counted on every outcome: a stream cut off mid-way, or a client that went
   * away, still used (and is billed for) the tokens it got.
   */
  private usage(leaf: Leaf, call: CallRecord): void {
    const s = this.s;
    const u = call.usage;
    const input = inputTokens(u);
    const total = sum(input, u.output);
    if (total !== undefined) count(leaf, s.totalTokens, total);
    if (input !== undefined) count(leaf, s.inputTokens, input);
    if (u.output !== undefined) count(leaf, s.outputTokens, u.output);
    // Detail counters are sparse, as in LiteLLM: no series for a provider that never reports them.
    if (u.cacheRead !== undefined && u.cacheRead > 0) count(leaf, s.cachedTokens, u.cacheRead);
    if (u.cacheWrite5m !== undefined && u.cacheWrite5m > 0) count(leaf, s.creation5m, u.cacheWrite5m);
    if (u.cacheWrite1h !== undefined && u.cacheWrite1h > 0) count(leaf, s.creation1h, u.cacheWrite1h);
    if (u.cacheWriteUnknownTtl !== undefined && u.cacheWriteUnknownTtl > 0) count(leaf, s.creationUnknown, u.cacheWriteUnknownTtl);
    if (u.reasoning !== undefined && u.reasoning > 0) count(leaf, s.reasoning, u.reasoning);

    if (call.costNanoUsd !== null) {
      countSpend(leaf, s.spend, call);
    } else {
      // An unpriced model still gets its spend series, at 0, so dashboards that list models by
      // spend show it (LiteLLM increments by a response_cost of 0). The record keeps cost null.
      if (call.deployment !== undefined) count(leaf, s.spend, 0);
      if ((total ?? 0) > 0) count(leaf, s.zeroCost[call.costMissingReason ?? 'no_deployment'], 1);
    }
  }

  private latency(leaf: Leaf, call: CallRecord): void {
    const s = this.s;
    sampleLatency(leaf, s.totalLatency, call);
    sampleUpstream(leaf, s.apiLatency, call);
    sampleOverhead(leaf, s.overhead, call);
    sampleTimeToFirstToken(leaf, s.ttft, call);
    samplePerOutputToken(leaf, s.perToken, call);
  }

  private ref(call: CallRecord, id: string): DeploymentRef | undefined {
    return call.deployment?.id === id ? call.deployment : this.options.lookupDeployment?.(id);
  }

  /** One deployment count per upstream attempt, as LiteLLM logs each LLM API call. */
  private attempts(leaf: Leaf, call: CallRecord): void {
    const n = call.attempts.length;
    // A record without attempts but with a deployment made one, which answered as the call did.
    if (n === 0) {
      if (call.deployment !== undefined) this.attempt(leaf, call, call.deployment.id, call.outcome, call.httpStatus, call.error?.code, true);
      return;
    }
    for (let i = 0; i < n; i++) {
      const a = call.attempts[i] as AttemptRecord;
      this.attempt(leaf, call, a.deploymentId, a.outcome, a.status, a.errorCode, i === n - 1);
    }
  }

  private attempt(leaf: Leaf, call: CallRecord, deploymentId: string, outcome: AttemptRecord['outcome'], status: number | undefined, errorCode: ErrorCode | undefined, last: boolean): void {
    // The answering attempt succeeded at its first byte; a stream that then broke upstream is a
    // deployment failure. A client hanging up, or a gateway bug, is not the deployment's fault.
    const code = call.error?.code;
    const brokeLater = last && outcome === 'success' && call.outcome === 'failure' && code !== undefined && code !== 'client_disconnected' && code !== 'internal';
    if (brokeLater) {
      status = call.httpStatus;
      errorCode = code;
    }
    const failed = outcome === 'failure' || brokeLater;
    const o = this.attemptRaw;
    fillAttemptLabels(this.ref(call, deploymentId), deploymentId, failed, status, errorCode, o);
    const at = (leaf.attempts ?? this.attemptTrie(leaf)).get(o, this.slots.attemptPath);
    const a = this.a;
    count(at, a.total, 1);
    count(at, failed ? a.failure : a.success, 1);
    counterOf(at, a.state).value = failed ? 1 : 0;
  }

  /** Made apart from `attempt`: a closure there would cost a context object on every call. */
  private attemptTrie(leaf: Leaf): Trie<Leaf> {
    const counters = this.slots.attemptCounters;
    leaf.attempts = new Trie((ov) => new Leaf(withAttempt(leaf.values, ov), counters, 0));
    return leaf.attempts;
  }

  /**
   * LiteLLM logs one event per fallback group tried: successful for the group that answered, failed
   * for the others, each labelled with the error that sent the request away from the original group.
   * Rare enough (only calls that fell back) to resolve its series directly, without a cache.
   */
  private fallbacks(leaf: Leaf, call: CallRecord): void {
    const attempts: { attempt: { deploymentId: string; outcome: string; status?: number | undefined; errorCode?: ErrorCode | undefined }; group: string | undefined }[] =
      call.attempts.length > 0 || call.deployment === undefined
        ? call.attempts.map((a) => ({ attempt: a, group: this.ref(call, a.deploymentId)?.modelGroup }))
        : [{ attempt: { deploymentId: call.deployment.id, outcome: call.outcome, status: call.httpStatus, errorCode: call.error?.code }, group: call.deployment.modelGroup }];
    const firstGroup = attempts[0]?.group;
    const tried: string[] = [];
    for (const { group } of attempts) if (group !== undefined && group !== firstGroup && !tried.includes(group)) tried.push(group);
    const original = attempts.filter((a) => a.attempt.outcome === 'failure' && (a.group === firstGroup || tried.length === 0));
    const trigger = original.at(-1)?.attempt ?? attempts.find((a) => a.attempt.outcome === 'failure')?.attempt;
    const values = leaf.values.slice();
    values[L.exception_status] = sanitizeLabelValue(trigger?.status);
    values[L.exception_class] = trigger?.errorCode === undefined ? NONE : exceptionClass(trigger.errorCode, this.ref(call, trigger.deploymentId)?.provider);
    // Without every attempt's deployment resolved, only the last group tried (the record's) is known.
    const known = tried.length === call.fallbacks && attempts.every((a) => a.group !== undefined);
    const { success, failure } = this.slots.fallback;
    const modelId = leaf.values[L.model_id] ?? NONE;
    for (let i = 0; i < call.fallbacks; i++) {
      const last = i === call.fallbacks - 1;
      const group = known ? tried[i] : last ? call.modelGroup : undefined;
      const answered = last && call.outcome === 'success';
      const lastInGroup = attempts.filter((a) => a.group !== undefined && a.group === group).at(-1)?.attempt.deploymentId;
      values[L.fallback_model] = sanitizeLabelValue(group);
      values[L.model_id] = answered ? modelId : sanitizeLabelValue(lastInGroup);
      const target = answered ? success : failure;
      add(target.family.seriesIn(values, target.view), 1);
    }
  }

  private responseCache(leaf: Leaf, call: CallRecord): void {
    const outcome = responseCacheOutcome(call);
    if (outcome === 'miss') count(leaf, this.s.cacheMisses, 1);
    if (outcome !== 'hit') return;
    count(leaf, this.s.cacheHits, 1);
    const tokens = sum(inputTokens(call.usage), call.usage.output) ?? 0;
    if (tokens > 0) count(leaf, this.s.cacheTokens, tokens);
  }
}

/** Adds the defined parts; undefined when none is (core/usage.ts's sumDefined). */
function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : a + b;
}

/**
 * core/usage.ts's totalInput, without its array per sum (≈250 bytes per call on this path):
 * uncached + cache reads + cache writes of every TTL, undefined when the provider said none.
 * test/metrics/observe-usage.test.ts checks it against core's on every combination.
 */
export function inputTokens(u: Usage): number | undefined {
  return sum(sum(u.inputUncached, u.cacheRead), sum(sum(u.cacheWrite5m, u.cacheWrite1h), u.cacheWriteUnknownTtl));
}
