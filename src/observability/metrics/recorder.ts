/**
 * Tollgate's Prometheus metrics: cells of its own per instance (so tests and several gateways in
 * one process do not share counters), fed by `observe(call)` for everything a CallRecord knows and
 * by a few setters for state that lives elsewhere (budgets, key limits, cooldowns, in-flight
 * requests). The exposition text is only built when /metrics is read.
 */
import type { CallRecord, DeploymentRef } from '../../core/call-record.js';
import { effectiveApiBase } from '../../core/deployment.js';
import { resolveMetricsConfig, type ResolvedMetricsConfig } from './config.js';
import type { BudgetEntity } from './definitions.js';
import { CONTENT_TYPE } from './exposition.js';
import { buildFamilies, type Families } from './families.js';
import { NONE, sanitizeLabelValue, statusText, type PrincipalLookup } from './labels.js';
import { CallObserver, type DeploymentLookup } from './observe.js';
import { add, observePending, pending, validPending, type CounterFamily, type GaugeFamily, type LabelView, type NumberSeries } from './series.js';
import { Trie } from './trie.js';

export interface MetricsOptions {
  /** From `resolveMetricsConfig(litellm_settings)`; all metrics with default labels when absent. */
  config?: ResolvedMetricsConfig | undefined;
  /** Resolves deployments of retried / fallen-back attempts for the per-deployment metrics. */
  lookupDeployment?: DeploymentLookup | undefined;
  /** Team alias and user email of a call's principal (from the tenancy cache), for their labels. */
  lookupPrincipal?: PrincipalLookup | undefined;
  /** Redis is configured: its `litellm_redis_*` metrics are exposed. */
  redis?: boolean | undefined;
}

/** Whose budget a budget gauge describes. */
export type BudgetOwner =
  | { kind: 'api_key'; keyHash: string; keyAlias?: string | undefined }
  | { kind: 'team'; teamId: string; teamAlias?: string | undefined }
  | { kind: 'user'; userId: string }
  | { kind: 'customer'; endUser: string }
  | { kind: 'org'; orgId: string; orgAlias?: string | undefined };

export interface BudgetState {
  spendUsd: number;
  /** Undefined = no max budget (remaining is +Inf, as in LiteLLM). */
  maxBudgetUsd?: number | undefined;
  /** When the budget resets (epoch ms), if it does. */
  resetAt?: number | undefined;
}

export interface Metrics {
  readonly contentType: string;
  /** The resolved configuration (warnings included, for the startup log). */
  readonly config: ResolvedMetricsConfig;
  /** Feed one finished call; subscribe this to the CallLog. Never throws. */
  observe(call: CallRecord): void;
  /** Around each admitted request (`litellm_in_flight_requests`). */
  readonly inFlight: { inc(): void; dec(): void };
  setBudget(owner: BudgetOwner, state: BudgetState, now?: number): void;
  /** Remaining per-model RPM/TPM of a key; `model` is the model group. */
  setKeyModelRemaining(key: { keyHash: string; keyAlias?: string | undefined }, model: string, modelId: string | undefined, remaining: { requests?: number | undefined; tokens?: number | undefined }): void;
  deploymentCooledDown(deployment: DeploymentRef, exceptionStatus: number | undefined): void;
  setDeploymentLimits(deployment: DeploymentRef, limits: { tpm?: number | undefined; rpm?: number | undefined }): void;
  /** One shared-state command sent to Redis (`litellm_redis_*`). */
  redisCommand(event: { latencyMs: number; ok: boolean; operation: string; errorClass?: string | undefined }): void;
  /** The exposition text (Prometheus text format 0.0.4), built from the cells when called. */
  render(): Promise<string>;
  /**
   * The same exposition as UTF-8 bytes, for a server to send as is: with many series it skips
   * making one very large string (about a third of the scrape's time).
   */
  renderBuffer(): Buffer;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const config = options.config ?? resolveMetricsConfig();
  const { families: f, render } = buildFamilies(config, { redis: options.redis });
  const calls = new CallObserver(f, { lookupDeployment: options.lookupDeployment, lookupPrincipal: options.lookupPrincipal, endUser: config.endUser, customLabels: config.customLabels });
  // In-flight is inc'ed and dec'ed around every request: a plain number cell.
  const inFlight = f.litellm_in_flight_requests.seriesOf([]);
  const budgets = {
    api_key: new StateCells(['hashed_api_key', 'api_key_alias'], budgetFamilies(f, 'api_key')),
    team: new StateCells(['team', 'team_alias'], budgetFamilies(f, 'team')),
    user: new StateCells(['user'], budgetFamilies(f, 'user')),
    customer: new StateCells(['end_user'], budgetFamilies(f, 'customer')),
    org: new StateCells(['org_id', 'org_alias'], budgetFamilies(f, 'org')),
  };
  const keyModel = new StateCells(KEY_MODEL, [f.litellm_remaining_api_key_requests_for_model, f.litellm_remaining_api_key_tokens_for_model]);
  const cooledDown = new StateCells([...DEP4, 'exception_status'], [f.litellm_deployment_cooled_down]);
  const limits = new StateCells(DEP4, [f.litellm_deployment_tpm_limit, f.litellm_deployment_rpm_limit]);
  const scratch: string[] = [];

  return {
    contentType: CONTENT_TYPE,
    config,
    observe(call) {
      try {
        calls.observe(call);
      } catch {
        // Metrics must never break the request path; a malformed record loses its own samples only.
      }
    },
    inFlight: {
      inc: () => void (inFlight.value += 1),
      dec: () => void (inFlight.value -= 1),
    },
    setBudget(owner, state, now = Date.now()) {
      // End users are unbounded cardinality: LiteLLM emits their gauges only when opted in.
      if (owner.kind === 'customer' && !config.endUser) return;
      const cells = budgets[owner.kind];
      budgetKey(owner, scratch);
      cells.at(scratch, 0).value = state.maxBudgetUsd === undefined ? Infinity : state.maxBudgetUsd - state.spendUsd;
      if (state.maxBudgetUsd !== undefined) cells.at(scratch, 1).value = state.maxBudgetUsd;
      if (state.resetAt !== undefined) cells.at(scratch, 2).value = Math.max(0, state.resetAt - now) / 3_600_000;
    },
    setKeyModelRemaining(key, model, modelId, remaining) {
      scratch[0] = key.keyHash;
      scratch[1] = key.keyAlias ?? NONE;
      scratch[2] = model;
      scratch[3] = modelId ?? NONE;
      if (remaining.requests !== undefined) keyModel.at(scratch, 0).value = remaining.requests;
      if (remaining.tokens !== undefined) keyModel.at(scratch, 1).value = remaining.tokens;
    },
    deploymentCooledDown(deployment, exceptionStatus) {
      deploymentKey(deployment, scratch);
      scratch[4] = statusText(exceptionStatus);
      add(cooledDown.at(scratch, 0), 1);
    },
    setDeploymentLimits(deployment, l) {
      deploymentKey(deployment, scratch);
      if (l.tpm !== undefined) limits.at(scratch, 0).value = l.tpm;
      if (l.rpm !== undefined) limits.at(scratch, 1).value = l.rpm;
    },
    redisCommand(event) {
      add(f.litellm_redis_total_requests.seriesOf(REDIS), 1);
      if (event.ok) {
        pending[0] = event.latencyMs / 1000;
        if (validPending()) observePending(f.litellm_redis_latency.seriesOf(REDIS), f.litellm_redis_latency.bounds);
      } else add(f.litellm_redis_failed_requests.seriesOf(['redis', event.errorClass ?? 'Error', event.operation]), 1);
    },
    render: () => Promise.resolve(render().text()),
    renderBuffer: () => render().bytesWritten(),
  };
}

/** LiteLLM labels its service metrics with the service's name, valued with the name. */
const REDIS = ['redis'];
const KEY_MODEL = ['hashed_api_key', 'api_key_alias', 'model', 'model_id'];
/** LiteLLM's [dep4] labels. */
const DEP4 = ['litellm_model_name', 'model_id', 'api_base', 'api_provider'];

function budgetFamilies(f: Families, entity: BudgetEntity): GaugeFamily[] {
  return [f[`litellm_remaining_${entity}_budget_metric`], f[`litellm_${entity}_max_budget_metric`], f[`litellm_${entity}_budget_remaining_hours_metric`]];
}

function budgetKey(owner: BudgetOwner, out: string[]): void {
  switch (owner.kind) {
    case 'api_key':
      out[0] = owner.keyHash;
      out[1] = owner.keyAlias ?? NONE;
      return;
    case 'team':
      out[0] = owner.teamId;
      out[1] = owner.teamAlias ?? NONE;
      return;
    case 'user':
      out[0] = owner.userId;
      return;
    case 'customer':
      out[0] = owner.endUser;
      return;
    case 'org':
      out[0] = owner.orgId;
      out[1] = owner.orgAlias ?? NONE;
      return;
  }
}

function deploymentKey(d: DeploymentRef, out: string[]): void {
  out[0] = d.model;
  out[1] = d.id;
  out[2] = effectiveApiBase(d) ?? NONE;
  out[3] = d.provider;
}

/**
 * Gauges (and the cooldown counter) set by the parts of the gateway that own the state, keyed by
 * their few label values: after the first time, a set is a trie walk and one assignment.
 */
class StateCells {
  private readonly trie: Trie<{ values: readonly string[]; cells: (NumberSeries | undefined)[] }>;
  private readonly views: readonly LabelView[];
  private readonly path: Int32Array;

  constructor(
    schema: readonly string[],
    private readonly families: readonly CounterFamily[],
  ) {
    this.views = families.map((fam) => fam.view(schema));
    this.path = Int32Array.from(schema.keys());
    this.trie = new Trie((raw) => ({ values: raw.slice(0, schema.length).map((v) => sanitizeLabelValue(v)), cells: families.map(() => undefined) }));
  }

  /** The series of family `i` for `values` (in schema order). */
  at(values: readonly string[], i: number): NumberSeries {
    const leaf = this.trie.get(values, this.path);
    let cell = leaf.cells[i];
    if (cell === undefined) {
      const family = this.families[i];
      const view = this.views[i];
      if (family === undefined || view === undefined) throw new Error(`no state family ${i}`);
      leaf.cells[i] = cell = family.seriesIn(leaf.values, view);
    }
    return cell;
  }
}
