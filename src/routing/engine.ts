/**
 * The router: resolve the requested model to a group, pick a deployment (cooldowns, rpm/tpm and
 * parallel limits, `order` tiers, the routing strategy), run the attempt up to its first event,
 * and on failure retry — another healthy deployment at once, the same one after a backoff that
 * honours the upstream's `retry-after` — then fall back to other groups, each with its own retries.
 * Failures feed the cooldown rules; answers feed usage, in-flight counts and latencies. All of it
 * lives in `RoutingState`, so several instances can share it.
 */
import { deploymentSecrets, type Deployment } from '../core/deployment.js';
import { errors, redactSecrets, toGatewayError, type GatewayError } from '../core/errors.js';
import { totalTokens } from '../core/usage.js';
import { AttemptSignal, attemptTimeout, type ClientSignal, effectiveTimeoutMs, failedAttempt, withDeadline, type AttemptLog, type AttemptTarget, type Lease, type LeaseResult } from './attempts.js';
import { cooldownRule } from './cooldown.js';
import { classifyError, type ErrorClass } from './error-class.js';
import { fallbackTargets } from './fallbacks.js';
import { filterByRegion } from './region.js';
import { filterByTags } from './tags.js';
import { mockGroupFailure, mockRateLimitError, type MockGroupFailure } from './test-hooks.js';
import { backoffMs, goesStraightToFallbacks, mayRetrySameDeployment, retryBudget } from './retry.js';
import { pickDeployment, upstreamModelFor, type ModelTable, type ResolvedGroup } from './router.js';
import type { FallbackRule, RetryPolicy, RouterSettings } from './settings.js';
import { unavailability, type DeploymentLoad, type LatencyKind, type MaybePromise, type RoutingState, type Unavailability } from './state.js';
import { abortableSleep, modelNotFound, NoDeploymentsAvailable, noDeployments, type Blocked } from './route-errors.js';
import { chooseDeployment, limitsOf, numberParam, type Candidate } from './strategies.js';

export { NoDeploymentsAvailable } from './route-errors.js';

export interface RouterDeps {
  models: ModelTable;
  settings: RouterSettings;
  state: RoutingState;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  sleep?: ((ms: number, signal: ClientSignal) => Promise<void>) | undefined;
  /** USD per token (input + output) of a deployment serving `upstreamModel`, for cost-based-routing. */
  costPerToken?: ((deployment: Deployment, upstreamModel: string) => number | undefined) | undefined;
  /** Told each time a deployment enters cooldown (`litellm_deployment_cooled_down`). */
  onCooldown?: ((deployment: Deployment, status: number | undefined, until: number) => void) | undefined;
}

/** Router options a request (or its key) may set; read from the body by the HTTP layer. */
export interface RouteControls {
  disableFallbacks?: boolean | undefined;
  numRetries?: number | undefined;
  /** Fallback groups for this request only, replacing the configured ones. */
  fallbacks?: string[] | undefined;
  /** Fallback rules for this request only (`[{"gpt-4": ["gpt-3.5"]}]`), replacing the configured ones. */
  fallbackRules?: FallbackRule[] | undefined;
  /** The request's tags (its own, its key's and its team's), for tag-based routing. */
  tags?: readonly string[] | undefined;
  /** The end user's `allowed_model_region`: only deployments in that region may serve. */
  allowedRegion?: string | undefined;
  /**
   * The deployment that holds what this request continues (a managed `previous_response_id`): the
   * requested group is narrowed to it while it is one of its deployments.
   */
  deploymentId?: string | undefined;
  /** `x-litellm-timeout`: replaces the deployments' `timeout` and `stream_timeout`, in ms. */
  timeoutMs?: number | undefined;
  /** `mock_testing_*_fallbacks`: the requested group fails this way before any deployment is called. */
  mockFailure?: MockGroupFailure | undefined;
  /** `mock_testing_rate_limit_error`: the first attempt of the requested group fails with a 429. */
  mockRateLimit?: boolean | undefined;
}

export interface RouteRequest<T> {
  model: string;
  /**
   * A group already resolved (and filtered) by the caller — the native Bedrock/Vertex routes, whose
   * body only some deployments can take. Used instead of resolving `model`, and such a request never
   * falls back: fallback groups may hold deployments the caller could not have accepted.
   */
  group?: ResolvedGroup | undefined;
  stream: boolean;
  log: AttemptLog;
  /** The client's signal: aborting it stops the attempt loop and the answering attempt. */
  signal: ClientSignal;
  controls?: RouteControls | undefined;
  /** Rough input size, for deployments with a tpm limit. */
  estimatedInputTokens?: number | undefined;
  /** Called when a group starts being tried (the client's, then each fallback). */
  onGroup?: ((group: ResolvedGroup) => void) | undefined;
  /** Runs the call up to its first event; throws a GatewayError on failure. */
  attempt: (target: AttemptTarget, signal: AbortSignal) => Promise<T>;
}

export interface Routed<T> {
  value: T;
  target: AttemptTarget;
  lease: Lease;
}

type Loaded = Candidate & { blocked: Blocked | undefined };
type Picked = { deployment: Deployment } | { error: GatewayError };

export class Router {
  readonly settings: RouterSettings;
  readonly models: ModelTable;
  private readonly state: RoutingState;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: ClientSignal) => Promise<void>;
  /** Latencies are kept only for the strategy that reads them (each sample is a write to the shared state). */
  private readonly tracksLatency: boolean;

  constructor(private readonly deps: RouterDeps) {
    this.settings = deps.settings;
    this.models = deps.models;
    this.state = deps.state;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.sleep = deps.sleep ?? abortableSleep;
    this.tracksLatency = deps.settings.strategy === 'latency-based-routing';
  }

  /** A failure seen outside a request (a health probe): the same cooldown rules apply. */
  async reportFailure(deployment: Deployment, error: GatewayError): Promise<void> {
    const groupSize = this.models.all().filter((d) => d.modelGroup === deployment.modelGroup).length;
    await this.noteFailure(deployment, groupSize, classifyError(error), error);
  }

  /** `x-litellm-max-retries` for a request to `group`. */
  maxRetries(group: ResolvedGroup, controls?: RouteControls): number {
    return this.numRetriesFor(group, controls) ?? Math.max(0, group.deployments.length - 1);
  }

  async route<T>(req: RouteRequest<T>): Promise<Routed<T>> {
    const first = req.group ?? this.models.resolve(req.model);
    if (first === undefined) throw modelNotFound(req.model, this.models.publicNames());
    req.log.maxRetries = this.maxRetries(first, req.controls);
    const visited = new Set<string>([first.name]);
    const fallbacksOff = req.group !== undefined || (req.controls?.disableFallbacks ?? this.settings.disableFallbacks);

    const tryGroup = async (group: ResolvedGroup, requested: string, first = false): Promise<Routed<T>> => {
      try {
        const mock = first ? req.controls?.mockFailure : undefined;
        if (mock !== undefined) {
          const cls: ErrorClass = mock === 'fallbacks' ? 'server' : mock;
          throw mockGroupFailure(mock, group.name, fallbackTargets(this.settings, group.name, requested, cls, req.controls?.fallbacks, req.controls?.fallbackRules));
        }
        return await this.runGroup(group, requested, req, first);
      } catch (err) {
        const error = toGatewayError(err);
        const cls = classifyError(error);
        if (fallbacksOff || req.signal.aborted || cls === 'client_abort' || cls === 'internal' || cls === 'bad_request') throw error;
        let last = error;
        for (const name of fallbackTargets(this.settings, group.name, requested, cls, req.controls?.fallbacks, req.controls?.fallbackRules)) {
          if (req.log.fallbacks >= this.settings.maxFallbacks) break;
          const next = this.models.resolve(name);
          if (next === undefined || visited.has(next.name)) continue;
          visited.add(next.name);
          req.log.fallbacks++;
          try {
            return await tryGroup(next, this.models.routedName(name));
          } catch (fallbackErr) {
            const fallbackError = toGatewayError(fallbackErr);
            if (req.signal.aborted) throw fallbackError;
            // A fallback group with nothing available says less than the failure that sent us there.
            if (!(fallbackError instanceof NoDeploymentsAvailable) || last instanceof NoDeploymentsAvailable) last = fallbackError;
          }
        }
        throw last;
      }
    };
    return tryGroup(first, req.group !== undefined ? req.model : this.models.routedName(req.model), true);
  }

  /**
   * A deployment of `group` for a call that is not routed (count_tokens): a weighted pick among the
   * deployments not cooling down; nothing is admitted or counted. 429 when all are cooling down.
   */
  async pickAvailable(group: ResolvedGroup): Promise<Deployment> {
    const now = this.now();
    const loads = await this.state.load(group.deployments.map((d) => d.id), undefined, now);
    const blocked: { reason: Unavailability; retryAt: number | undefined }[] = [];
    const open = group.deployments.filter((d) => {
      const until = loads.get(d.id)?.cooldownUntil;
      if (until === undefined || until <= now) return true;
      blocked.push({ reason: 'cooldown', retryAt: until });
      return false;
    });
    if (open.length === 0) throw noDeployments(group.name, blocked, now);
    return pickDeployment(open, this.random);
  }

  /** The deployments of a group this request may use: its pinned deployment, tag-based routing, then the end user's region. */
  private eligible<T>(group: ResolvedGroup, requested: string, req: RouteRequest<T>): ResolvedGroup {
    let deployments: readonly Deployment[] = group.deployments;
    const pinned = req.controls?.deploymentId;
    if (pinned !== undefined && deployments.some((d) => d.id === pinned)) deployments = deployments.filter((d) => d.id === pinned);
    const tags = req.controls?.tags ?? [];
    if (tags.length > 0 || this.settings.tagFiltering.enabled === true) deployments = filterByTags(deployments, tags, this.settings.tagFiltering, requested);
    const region = req.controls?.allowedRegion;
    if (region !== undefined) deployments = filterByRegion(deployments, region, requested);
    return deployments === group.deployments ? group : { ...group, deployments: [...deployments] };
  }

  private async runGroup<T>(whole: ResolvedGroup, requested: string, req: RouteRequest<T>, first: boolean): Promise<Routed<T>> {
    req.onGroup?.(whole);
    const group = this.eligible(whole, requested, req);
    const failed = new Set<string>();
    // Deployments that cannot answer this request (bad key, unknown model), however long we wait.
    const excluded = new Set<string>();
    let lastError: GatewayError | undefined;
    let retries = 0;
    let freshOnly = false;
    if (first && req.controls?.mockRateLimit === true) {
      // LiteLLM raises it before the first call (no deployment is charged with it); retries then run as usual.
      lastError = mockRateLimitError(group.name);
      const budget = retryBudget('rate_limit', this.numRetriesFor(group, req.controls), this.retryPolicyFor(group));
      if (budget.limit < 1) throw lastError;
    }
    for (;;) {
      if (req.signal.aborted) throw errors.clientDisconnected();
      const pending = this.pick(group, requested, req, failed, excluded, freshOnly);
      // In-memory state answers at once: no await (and no microtask) on one instance's hot path.
      const picked = pending instanceof Promise ? await pending : pending;
      if (!('deployment' in picked)) throw lastError ?? picked.error;
      if (lastError !== undefined) {
        retries++;
        req.log.retries++;
      }
      try {
        return await this.attemptOn(picked.deployment, group, requested, req);
      } catch (err) {
        const error = req.signal.aborted ? errors.clientDisconnected(err) : toGatewayError(err);
        const cls = classifyError(error);
        if (cls === 'client_abort') throw error;
        await this.noteFailure(picked.deployment, group.deployments.length, cls, error);
        failed.add(picked.deployment.id);
        if (!mayRetrySameDeployment(cls)) excluded.add(picked.deployment.id);
        lastError = error;
        const lists = { contextWindow: this.settings.contextWindowFallbacks !== undefined, contentPolicy: this.settings.contentPolicyFallbacks !== undefined };
        if (goesStraightToFallbacks(cls, lists)) throw error;
        const budget = retryBudget(cls, this.numRetriesFor(group, req.controls), this.retryPolicyFor(group));
        if (retries >= budget.limit) throw error;
        freshOnly = budget.failoverOnly;
        const now = this.now();
        const loads = await this.loadsOf(group, req, excluded, now);
        // Another healthy deployment: re-pick at once.
        if (loads.some((c) => c.blocked === undefined && !failed.has(c.deployment.id))) continue;
        if (budget.failoverOnly) throw error;
        const wait = backoffMs(error, retries, this.settings.backoff, this.settings.retryAfterMs, this.random);
        if (wait === undefined) throw error;
        // Waiting only makes sense if some deployment can take the request when the wait is over.
        const soonest = Math.min(...loads.map((c) => (c.blocked === undefined ? now : (c.blocked.retryAt ?? now + 1000))));
        if (!(soonest <= now + wait)) throw error;
        await this.sleep(wait, req.signal);
      }
    }
  }

  private loadsOf<T>(group: ResolvedGroup, req: RouteRequest<T>, excluded: ReadonlySet<string>, now: number): MaybePromise<Loaded[]> {
    const deployments = group.deployments.filter((d) => !excluded.has(d.id));
    const kind: LatencyKind | undefined = this.tracksLatency ? (req.stream ? 'stream' : 'json') : undefined;
    const loads = this.state.load(deployments.map((d) => d.id), kind, now);
    const candidates = (byId: Map<string, DeploymentLoad>): Loaded[] =>
      deployments.map((deployment) => {
        const load = byId.get(deployment.id) ?? { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0, latencyMs: undefined };
        return { deployment, load, blocked: unavailability(load, limitsOf(deployment, this.settings.defaultMaxParallel), req.estimatedInputTokens ?? 0, now) };
      });
    return loads instanceof Promise ? loads.then(candidates) : candidates(loads);
  }

  /** Choose and admit a deployment; deployments not yet failed in this request come first (or alone, with `freshOnly`). */
  private pick<T>(group: ResolvedGroup, requested: string, req: RouteRequest<T>, failed: ReadonlySet<string>, excluded: ReadonlySet<string>, freshOnly: boolean): MaybePromise<Picked> {
    const now = this.now();
    const loads = this.loadsOf(group, req, excluded, now);
    const choose = (candidates: Loaded[]): MaybePromise<Picked> => {
      const blocked: Blocked[] = candidates.flatMap((c) => (c.blocked === undefined ? [] : [c.blocked]));
      let pool: Candidate[] = candidates.filter((c) => c.blocked === undefined);
      const fresh = pool.filter((c) => !failed.has(c.deployment.id));
      if (fresh.length > 0 || freshOnly) pool = fresh;
      return this.admitFrom(pool, blocked, group, requested, req, now);
    };
    return loads instanceof Promise ? loads.then(choose) : choose(loads);
  }

  /** The strategy's choice from `pool`, admitted; the next choice when another request took its last slot. */
  private admitFrom<T>(pool: Candidate[], blocked: Blocked[], group: ResolvedGroup, requested: string, req: RouteRequest<T>, now: number): MaybePromise<Picked> {
    while (pool.length > 0) {
      const deployment = chooseDeployment(pool, {
        strategy: this.settings.strategy,
        latencyBuffer: this.settings.latencyBuffer,
        random: this.random,
        costPerToken: (d) => this.deps.costPerToken?.(d, upstreamModelFor(d, requested, group.wildcardMatch)),
      });
      if (deployment === undefined) break;
      const admission = this.state.admit(deployment.id, limitsOf(deployment, this.settings.defaultMaxParallel), req.estimatedInputTokens ?? 0, now);
      const rest = pool.filter((c) => c.deployment !== deployment);
      if (admission instanceof Promise) {
        return admission.then((a) => (a.ok ? { deployment } : this.admitFrom(rest, [...blocked, { reason: a.reason, retryAt: a.retryAt }], group, requested, req, now)));
      }
      if (admission.ok) return { deployment };
      // Another request took the last slot between our read and the admission.
      blocked.push({ reason: admission.reason, retryAt: admission.retryAt });
      pool = rest;
    }
    return { error: noDeployments(group.name, blocked, now) };
  }

  private async attemptOn<T>(deployment: Deployment, group: ResolvedGroup, requested: string, req: RouteRequest<T>): Promise<Routed<T>> {
    const target: AttemptTarget = { deployment, group, requestedModel: requested, upstreamModel: upstreamModelFor(deployment, requested, group.wildcardMatch) };
    const startedAt = this.now();
    const t0 = performance.now();
    const attempt = new AttemptSignal(req.signal);
    try {
      const deadline = effectiveTimeoutMs(deployment, req.stream, req.controls?.timeoutMs);
      const value = await withDeadline(req.attempt(target, attempt.signal), deadline, attempt, () => attemptTimeout(deployment, req.stream, req.controls?.timeoutMs));
      const committedMs = performance.now() - t0;
      req.log.attempts.push({ deploymentId: deployment.id, startedAt, durationMs: committedMs, outcome: 'success' });
      return { value, target, lease: this.lease(deployment, group, req.stream, attempt, committedMs) };
    } catch (err) {
      const durationMs = performance.now() - t0;
      attempt.release(true);
      // Every attempt's failure passes here: an upstream that quoted the deployment's credentials
      // has them scrubbed before the record, the logs, the router or the client see the error.
      const error = req.signal.aborted ? errors.clientDisconnected(err) : redactSecrets(toGatewayError(err), deploymentSecrets(deployment));
      req.log.attempts.push(failedAttempt(deployment.id, startedAt, durationMs, error));
      const now = this.now();
      await this.state.release(deployment.id, 0, now);
      // LiteLLM's latency strategy charges a timeout to the deployment, so it stops being the fastest.
      if (error.code === 'timeout' && this.tracksLatency) await this.state.recordLatency(deployment.id, req.stream ? 'stream' : 'json', durationMs, now);
      throw error;
    }
  }

  private lease(deployment: Deployment, group: ResolvedGroup, stream: boolean, attempt: AttemptSignal, committedMs: number): Lease {
    let ended = false;
    return {
      signal: attempt.signal,
      committedMs,
      abort: () => attempt.release(true),
      end: (result: LeaseResult) => {
        if (ended) return;
        ended = true;
        attempt.release(false);
        try {
          this.settle(deployment, group, stream, committedMs, result);
        } catch {
          // Bookkeeping must never break the call record that ends the lease.
        }
      },
    };
  }

  /** After the answer: give back the slot, count its tokens and latency, and count a mid-stream failure. */
  private settle(deployment: Deployment, group: ResolvedGroup, stream: boolean, committedMs: number, result: LeaseResult): void {
    const now = this.now();
    const released = this.state.release(deployment.id, totalTokens(result.usage) ?? 0, now);
    if (released instanceof Promise) {
      void released.then(() => this.afterRelease(deployment, group, stream, committedMs, result, now)).catch(() => undefined);
      return;
    }
    this.afterRelease(deployment, group, stream, committedMs, result, now);
  }

  private afterRelease(deployment: Deployment, group: ResolvedGroup, stream: boolean, committedMs: number, result: LeaseResult, now: number): void {
    if (result.outcome === 'success') {
      if (!this.tracksLatency) return;
      // Streams: time to the first event. Whole answers: per output token, so long answers do not look slow.
      const latency = stream ? committedMs : committedMs / Math.max(1, result.usage.output ?? 1);
      const recorded = this.state.recordLatency(deployment.id, stream ? 'stream' : 'json', latency, now);
      if (recorded instanceof Promise) void recorded.catch(() => undefined);
      return;
    }
    const code = result.error?.code;
    if (code === undefined || code === 'client_disconnected' || code === 'internal') return;
    // The failure as the record kept it (code, status, message): enough for the cooldown rules.
    const error = errors.upstreamAs(code, result.httpStatus, { message: result.error?.message ?? '' });
    void this.noteFailure(deployment, group.deployments.length, classifyError(error), error).catch(() => undefined);
  }

  /** The cooldown rules for one failure of `deployment`. */
  private async noteFailure(deployment: Deployment, groupSize: number, cls: ErrorClass, error: GatewayError): Promise<void> {
    const rule = cooldownRule(cls, error, deployment, groupSize, this.settings);
    if (rule.kind === 'none') return;
    const now = this.now();
    if (rule.kind === 'count') {
      const fails = await this.state.recordFailure(deployment.id, now);
      if (fails <= rule.allowed) return;
    }
    const until = now + rule.ms;
    if (await this.state.startCooldown(deployment.id, until, now)) this.deps.onCooldown?.(deployment, error.status, until);
  }

  /** A request's own `num_retries`, then the group's deployments', then router_settings / litellm_settings. */
  private numRetriesFor(group: ResolvedGroup, controls: RouteControls | undefined): number | undefined {
    if (controls?.numRetries !== undefined) return controls.numRetries;
    for (const d of group.deployments) {
      const own = numberParam(d, 'num_retries');
      if (own !== undefined) return own;
    }
    return this.settings.numRetries;
  }

  private retryPolicyFor(group: ResolvedGroup): RetryPolicy | undefined {
    return this.settings.groupRetryPolicy[group.name] ?? this.settings.retryPolicy;
  }
}
