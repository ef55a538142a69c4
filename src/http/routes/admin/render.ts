/**
 * Tenancy records → LiteLLM's response objects (`LiteLLM_VerificationToken`, `LiteLLM_UserTable`,
 * `LiteLLM_TeamTable`, `LiteLLM_EndUserTable`, `LiteLLM_ProxyModelTable`): LiteLLM's field names,
 * USD floats, ISO times. `spend` is the current budget period's spend, unflushed spend included;
 * `budget_reset_at` is when that period ends. A key is only ever shown by its token (SHA-256) and
 * masked `key_name`.
 */
import { redactParams } from '../../../policy/admin/model-views.js';
import type { Tenancy } from '../../../policy/tenancy.js';
import type { BudgetSettings, CustomerRecord, KeyRecord, ModelBudget, ModelRecord, TeamRecord, UserRecord } from '../../../policy/records.js';

type Json = Record<string, unknown>;

export const usdOf = (nano: number | null): number | null => (nano === null ? null : nano / 1e9);
export const isoOf = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function modelBudgets(budgets: Record<string, ModelBudget>): Json {
  const out: Json = {};
  for (const [model, b] of Object.entries(budgets)) out[model] = { budget_limit: b.max_budget_nano / 1e9, time_period: b.budget_duration };
  return out;
}

function budgetFields(s: BudgetSettings, spendNano: number, resetAt: number | null): Json {
  return {
    spend: spendNano / 1e9,
    max_budget: usdOf(s.max_budget_nano),
    soft_budget: usdOf(s.soft_budget_nano),
    budget_duration: s.budget_duration,
    budget_reset_at: isoOf(resetAt),
    model_max_budget: modelBudgets(s.model_max_budget),
    tpm_limit: s.tpm_limit,
    rpm_limit: s.rpm_limit,
    max_parallel_requests: s.max_parallel_requests,
  };
}

/** LiteLLM's budget row (`litellm_budget_table`), present when any budget or limit is set. */
function budgetTable(s: BudgetSettings, resetAt: number | null): Json | null {
  const set = s.max_budget_nano !== null || s.soft_budget_nano !== null || s.tpm_limit !== null || s.rpm_limit !== null || s.max_parallel_requests !== null;
  if (!set) return null;
  return {
    max_budget: usdOf(s.max_budget_nano),
    soft_budget: usdOf(s.soft_budget_nano),
    max_parallel_requests: s.max_parallel_requests,
    tpm_limit: s.tpm_limit,
    rpm_limit: s.rpm_limit,
    model_max_budget: modelBudgets(s.model_max_budget),
    budget_duration: s.budget_duration,
    budget_reset_at: isoOf(resetAt),
  };
}

export class Renderer {
  constructor(private readonly tenancy: Tenancy) {}

  async key(k: KeyRecord): Promise<Json> {
    const spend = await this.tenancy.spendOf('key', k.token, k.budget_duration);
    const resetAt = this.tenancy.budgetResetAt(k.budget_duration);
    const metadata: Json = { ...k.metadata };
    if (k.tags.length > 0) metadata.tags = k.tags;
    if (Object.keys(k.model_rpm_limit).length > 0) metadata.model_rpm_limit = k.model_rpm_limit;
    if (Object.keys(k.model_tpm_limit).length > 0) metadata.model_tpm_limit = k.model_tpm_limit;
    return {
      token: k.token,
      key_name: k.key_name,
      key_alias: k.key_alias,
      ...budgetFields(k, spend, resetAt),
      expires: isoOf(k.expires),
      models: k.models,
      aliases: {},
      config: {},
      permissions: {},
      allowed_cache_controls: [],
      user_id: k.user_id,
      team_id: k.team_id,
      metadata,
      tags: k.tags,
      model_rpm_limit: k.model_rpm_limit,
      model_tpm_limit: k.model_tpm_limit,
      model_spend: {},
      soft_budget_cooldown: false,
      blocked: k.blocked,
      litellm_budget_table: budgetTable(k, resetAt),
      org_id: null,
      created_at: isoOf(k.created_at),
      created_by: k.created_by,
      updated_at: isoOf(k.updated_at),
      updated_by: k.updated_by,
      ...k.extra,
    };
  }

  async user(u: UserRecord): Promise<Json> {
    const spend = await this.tenancy.spendOf('user', u.user_id, u.budget_duration);
    return {
      user_id: u.user_id,
      user_alias: u.user_alias,
      user_email: u.user_email,
      user_role: u.user_role,
      teams: u.teams,
      models: u.models,
      ...budgetFields(u, spend, this.tenancy.budgetResetAt(u.budget_duration)),
      metadata: u.metadata,
      created_at: isoOf(u.created_at),
      updated_at: isoOf(u.updated_at),
      ...u.extra,
    };
  }

  async team(t: TeamRecord): Promise<Json> {
    const spend = await this.tenancy.spendOf('team', t.team_id, t.budget_duration);
    return {
      team_id: t.team_id,
      team_alias: t.team_alias,
      organization_id: null,
      // LiteLLM's legacy `admins` / `members` columns: stored as given at creation, never derived
      // from members_with_roles (member_add leaves them alone), so they default to empty.
      admins: [],
      members: [],
      members_with_roles: t.members_with_roles,
      models: t.models,
      ...budgetFields(t, spend, this.tenancy.budgetResetAt(t.budget_duration)),
      metadata: t.metadata,
      tags: t.tags,
      blocked: t.blocked,
      created_at: isoOf(t.created_at),
      updated_at: isoOf(t.updated_at),
      ...t.extra,
    };
  }

  async customer(c: CustomerRecord): Promise<Json> {
    const spend = await this.tenancy.spendOf('customer', c.user_id, c.budget_duration);
    const resetAt = this.tenancy.budgetResetAt(c.budget_duration);
    return {
      user_id: c.user_id,
      alias: c.alias,
      spend: spend / 1e9,
      allowed_model_region: c.allowed_model_region,
      default_model: c.default_model,
      budget_id: null,
      litellm_budget_table: budgetTable(c, resetAt),
      blocked: c.blocked,
      ...c.extra,
    };
  }

  model(m: ModelRecord): Json {
    return {
      model_id: m.model_id,
      model_name: m.model_name,
      litellm_params: redactParams(m.litellm_params),
      model_info: { ...m.model_info, id: m.model_id, db_model: true },
      created_at: isoOf(m.created_at),
      created_by: m.created_by,
      updated_at: isoOf(m.updated_at),
      updated_by: m.updated_by,
    };
  }
}

/** Credentials are never sent back (one rule for every model view). */
export { redactParams } from '../../../policy/admin/model-views.js';
