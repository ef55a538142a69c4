/**
 * Tenancy records ↔ the `doc` JSON of `tenancy_records`. Decoding fills defaults for any field a
 * document lacks, so a document written by an older Tollgate (or edited by hand) still loads.
 */
import type { BudgetSettings, CustomerRecord, KeyRecord, ModelBudget, ModelRecord, TeamMember, TeamRecord, UserRecord } from '../tenancy-ports.js';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function numberMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

function modelBudgets(value: unknown): Record<string, ModelBudget> {
  const out: Record<string, ModelBudget> = {};
  for (const [model, raw] of Object.entries(obj(value))) {
    const b = obj(raw);
    const max = num(b.max_budget_nano);
    if (max !== null) out[model] = { max_budget_nano: max, budget_duration: str(b.budget_duration) };
  }
  return out;
}

function budgetSettings(d: Obj): BudgetSettings {
  return {
    max_budget_nano: num(d.max_budget_nano),
    soft_budget_nano: num(d.soft_budget_nano),
    budget_duration: str(d.budget_duration),
    model_max_budget: modelBudgets(d.model_max_budget),
    tpm_limit: num(d.tpm_limit),
    rpm_limit: num(d.rpm_limit),
    max_parallel_requests: num(d.max_parallel_requests),
  };
}

function times(d: Obj): { created_at: number; updated_at: number } {
  const created = num(d.created_at) ?? 0;
  return { created_at: created, updated_at: num(d.updated_at) ?? created };
}

export function decodeKey(raw: unknown): KeyRecord {
  const d = obj(raw);
  return {
    ...budgetSettings(d),
    token: str(d.token) ?? '',
    key_name: str(d.key_name) ?? '',
    key_alias: str(d.key_alias),
    user_id: str(d.user_id),
    team_id: str(d.team_id),
    models: strings(d.models),
    model_rpm_limit: numberMap(d.model_rpm_limit),
    model_tpm_limit: numberMap(d.model_tpm_limit),
    metadata: obj(d.metadata),
    tags: strings(d.tags),
    blocked: d.blocked === true,
    expires: num(d.expires),
    extra: obj(d.extra),
    ...times(d),
    created_by: str(d.created_by),
    updated_by: str(d.updated_by),
  };
}

export function decodeUser(raw: unknown): UserRecord {
  const d = obj(raw);
  return {
    ...budgetSettings(d),
    user_id: str(d.user_id) ?? '',
    user_alias: str(d.user_alias),
    user_email: str(d.user_email),
    user_role: str(d.user_role),
    teams: strings(d.teams),
    models: strings(d.models),
    metadata: obj(d.metadata),
    extra: obj(d.extra),
    ...times(d),
  };
}

function members(value: unknown): TeamMember[] {
  if (!Array.isArray(value)) return [];
  return value.map((m) => {
    const o = obj(m);
    return { user_id: str(o.user_id), user_email: str(o.user_email), role: o.role === 'admin' ? 'admin' : 'user' };
  });
}

export function decodeTeam(raw: unknown): TeamRecord {
  const d = obj(raw);
  return {
    ...budgetSettings(d),
    team_id: str(d.team_id) ?? '',
    team_alias: str(d.team_alias),
    models: strings(d.models),
    members_with_roles: members(d.members_with_roles),
    metadata: obj(d.metadata),
    tags: strings(d.tags),
    blocked: d.blocked === true,
    extra: obj(d.extra),
    ...times(d),
  };
}

export function decodeCustomer(raw: unknown): CustomerRecord {
  const d = obj(raw);
  return {
    ...budgetSettings(d),
    user_id: str(d.user_id) ?? '',
    alias: str(d.alias),
    blocked: d.blocked === true,
    allowed_model_region: str(d.allowed_model_region),
    default_model: str(d.default_model),
    extra: obj(d.extra),
    ...times(d),
  };
}

export function decodeModel(raw: unknown): ModelRecord {
  const d = obj(raw);
  return {
    model_id: str(d.model_id) ?? '',
    model_name: str(d.model_name) ?? '',
    litellm_params: obj(d.litellm_params),
    model_info: obj(d.model_info),
    ...times(d),
    created_by: str(d.created_by),
    updated_by: str(d.updated_by),
  };
}

export function parseDoc(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}
