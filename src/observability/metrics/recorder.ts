/**
 * Tollgate's Prometheus metrics: a private registry (never prom-client's global one, so tests and
 * several gateways in one process do not share counters), fed by `observe(call)` for everything a
 * CallRecord knows and by a few setters for state that lives elsewhere (budgets, key limits,
 * cooldowns, in-flight requests).
 */
import { effectiveApiBase } from '../../core/deployment.js';
import { Registry } from 'prom-client';
import type { CallRecord, DeploymentRef } from '../../core/call-record.js';
import { resolveMetricsConfig, type ResolvedMetricsConfig } from './config.js';
import { buildFamilies } from './families.js';
import { sanitizeLabelValue, type LabelValues, type PrincipalLookup } from './labels.js';
import { observeCall, type DeploymentLookup } from './observe.js';

export interface MetricsOptions {
  /** From `resolveMetricsConfig(litellm_settings)`; all metrics with default labels when absent. */
  config?: ResolvedMetricsConfig | undefined;
  /** Resolves deployments of retried / fallen-back attempts for the per-deployment metrics. */
  lookupDeployment?: DeploymentLookup | undefined;
  /** Team alias and user email of a call's principal (from the tenancy cache), for their labels. */
  lookupPrincipal?: PrincipalLookup | undefined;
}

/** Whose budget a budget gauge describes. */
export type BudgetOwner =
  | { kind: 'api_key'; keyHash: string; keyAlias?: string | undefined }
  | { kind: 'team'; teamId: string; teamAlias?: string | undefined }
  | { kind: 'user'; userId: string }
  | { kind: 'customer'; endUser: string };

export interface BudgetState {
  spendUsd: number;
  /** Undefined = no max budget (remaining is +Inf, as in LiteLLM). */
  maxBudgetUsd?: number | undefined;
  /** When the budget resets (epoch ms), if it does. */
  resetAt?: number | undefined;
}

export interface Metrics {
  readonly registry: Registry;
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
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const config = options.config ?? resolveMetricsConfig();
  const registry = new Registry();
  const families = buildFamilies(config, registry);
  const ctx = { families, lookupDeployment: options.lookupDeployment, lookupPrincipal: options.lookupPrincipal, endUser: config.endUser, customLabels: config.customLabels };
  const inFlight = families.get('litellm_in_flight_requests');
  const noLabels: LabelValues = {};

  return {
    registry,
    contentType: registry.contentType,
    config,
    observe(call) {
      try {
        observeCall(ctx, call);
      } catch {
        // Metrics must never break the request path; a malformed record loses its own samples only.
      }
    },
    inFlight: {
      inc: () => inFlight?.inc(noLabels),
      dec: () => inFlight?.dec(noLabels),
    },
    setBudget(owner, state, now = Date.now()) {
      // End users are unbounded cardinality: LiteLLM emits their gauges only when opted in.
      if (owner.kind === 'customer' && !config.endUser) return;
      const [entity, labels] = budgetLabels(owner);
      const remaining = state.maxBudgetUsd === undefined ? Infinity : state.maxBudgetUsd - state.spendUsd;
      families.get(`litellm_remaining_${entity}_budget_metric`)?.set(labels, remaining);
      if (state.maxBudgetUsd !== undefined) families.get(`litellm_${entity}_max_budget_metric`)?.set(labels, state.maxBudgetUsd);
      if (state.resetAt !== undefined) {
        families.get(`litellm_${entity}_budget_remaining_hours_metric`)?.set(labels, Math.max(0, state.resetAt - now) / 3_600_000);
      }
    },
    setKeyModelRemaining(key, model, modelId, remaining) {
      const labels = { hashed_api_key: key.keyHash, api_key_alias: sanitizeLabelValue(key.keyAlias), model: sanitizeLabelValue(model), model_id: sanitizeLabelValue(modelId) };
      if (remaining.requests !== undefined) families.get('litellm_remaining_api_key_requests_for_model')?.set(labels, remaining.requests);
      if (remaining.tokens !== undefined) families.get('litellm_remaining_api_key_tokens_for_model')?.set(labels, remaining.tokens);
    },
    deploymentCooledDown(deployment, exceptionStatus) {
      families.get('litellm_deployment_cooled_down')?.inc({ ...deploymentLabels(deployment), exception_status: sanitizeLabelValue(exceptionStatus) });
    },
    setDeploymentLimits(deployment, limits) {
      const labels = deploymentLabels(deployment);
      if (limits.tpm !== undefined) families.get('litellm_deployment_tpm_limit')?.set(labels, limits.tpm);
      if (limits.rpm !== undefined) families.get('litellm_deployment_rpm_limit')?.set(labels, limits.rpm);
    },
    render: async () => pythonBucketBounds(await registry.metrics()),
  };
}

/**
 * prom-client writes whole-number bucket bounds as `le="1"`; LiteLLM's prometheus_client writes
 * `le="1.0"`, and dashboards select buckets by that string (Prometheus 2 stores it verbatim).
 * Label values cannot contain an unescaped quote, so `{le="` / `,le="` only ever starts the label.
 */
function pythonBucketBounds(text: string): string {
  return text.replace(/([{,])le="(\d+)"/g, '$1le="$2.0"');
}

function budgetLabels(owner: BudgetOwner): [entity: string, labels: LabelValues] {
  switch (owner.kind) {
    case 'api_key':
      return ['api_key', { hashed_api_key: owner.keyHash, api_key_alias: sanitizeLabelValue(owner.keyAlias) }];
    case 'team':
      return ['team', { team: sanitizeLabelValue(owner.teamId), team_alias: sanitizeLabelValue(owner.teamAlias) }];
    case 'user':
      return ['user', { user: sanitizeLabelValue(owner.userId) }];
    case 'customer':
      return ['customer', { end_user: sanitizeLabelValue(owner.endUser) }];
  }
}

/** LiteLLM's [dep4] labels. */
function deploymentLabels(d: DeploymentRef): LabelValues {
  return { litellm_model_name: sanitizeLabelValue(d.model), model_id: sanitizeLabelValue(d.id), api_base: sanitizeLabelValue(effectiveApiBase(d)), api_provider: sanitizeLabelValue(d.provider) };
}
