/**
 * LiteLLM management request fields → Tollgate change sets. Money arrives in USD and becomes
 * integer nano-USD here, at the edge; durations are checked here so a bad one is a 400 naming the
 * field. A field absent from the body is left unchanged; an explicit null clears it.
 */
import { errors } from '../../../core/errors.js';
import { addDuration, requireDuration } from '../../../policy/budget-period.js';
import type { BudgetSettings, ModelBudget, TeamMember } from '../../../policy/records.js';

export type Body = Record<string, unknown>;

export function bodyOf(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidRequest('The request body must be a JSON object');
  return value as Body;
}

const has = (b: Body, field: string): boolean => Object.prototype.hasOwnProperty.call(b, field) && b[field] !== undefined;

/** USD → nano-USD. `""` counts as null (LiteLLM's `max_budget: ""`). */
export function usd(b: Body, field: string): number | null | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw errors.invalidRequest(`${field}: must be a non-negative number (USD)`, field);
  return Math.round(n * 1e9);
}

export function int(b: Body, field: string): number | null | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw errors.invalidRequest(`${field}: must be a non-negative integer`, field);
  return v;
}

export function str(b: Body, field: string): string | null | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null) return null;
  if (typeof v !== 'string') throw errors.invalidRequest(`${field}: must be a string`, field);
  return v;
}

export function requiredStr(b: Body, field: string): string {
  const v = str(b, field);
  if (v === undefined || v === null || v === '') throw errors.invalidRequest(`${field}: required`, field);
  return v;
}

export function bool(b: Body, field: string): boolean | undefined {
  if (!has(b, field) || b[field] === null) return undefined;
  if (typeof b[field] !== 'boolean') throw errors.invalidRequest(`${field}: must be true or false`, field);
  return b[field];
}

export function strings(b: Body, field: string): string[] | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw errors.invalidRequest(`${field}: must be a list of strings`, field);
  return v;
}

export function object(b: Body, field: string): Record<string, unknown> | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw errors.invalidRequest(`${field}: must be an object`, field);
  return v as Record<string, unknown>;
}

export function intMap(b: Body, field: string): Record<string, number> | undefined {
  const o = object(b, field);
  if (o === undefined) return undefined;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw errors.invalidRequest(`${field}.${k}: must be a non-negative integer`, field);
  }
  return o as Record<string, number>;
}

export function duration(b: Body, field: string): string | null | undefined {
  const v = str(b, field);
  if (v === undefined || v === null) return v;
  if (v === '') return null;
  requireDuration(v, field);
  return v;
}

/** `duration` (a key's lifetime) → its expiry time. */
export function expiry(b: Body, now: number): number | null | undefined {
  const v = duration(b, 'duration');
  if (v === undefined || v === null) return v;
  return addDuration(now, requireDuration(v, 'duration'));
}

/**
 * `model_max_budget`: `{"gpt-4o": 5}` or `{"gpt-4o": {"budget_limit": 5, "time_period": "1d"}}`
 * (LiteLLM's BudgetConfig also says `max_budget` / `budget_duration`).
 */
export function modelBudgets(b: Body, field = 'model_max_budget'): Record<string, ModelBudget> | undefined {
  const o = object(b, field);
  if (o === undefined) return undefined;
  const out: Record<string, ModelBudget> = {};
  for (const [model, raw] of Object.entries(o)) {
    const entry: Body = typeof raw === 'number' ? { budget_limit: raw } : bodyOf(raw);
    const limitField = has(entry, 'budget_limit') ? 'budget_limit' : 'max_budget';
    const max = usd(entry, limitField);
    if (max === undefined || max === null) throw errors.invalidRequest(`${field}.${model}: needs budget_limit (USD)`, field);
    const period = duration(entry, has(entry, 'time_period') ? 'time_period' : 'budget_duration');
    out[model] = { max_budget_nano: max, budget_duration: period ?? null };
  }
  return out;
}

/** The budget and limit fields keys, users, teams and customers share. */
export function budgetChanges(b: Body): { [K in keyof BudgetSettings]?: BudgetSettings[K] | undefined } & { spend_nano?: number | undefined } {
  return {
    max_budget_nano: usd(b, 'max_budget'),
    soft_budget_nano: usd(b, 'soft_budget'),
    budget_duration: duration(b, 'budget_duration'),
    model_max_budget: modelBudgets(b),
    tpm_limit: int(b, 'tpm_limit'),
    rpm_limit: int(b, 'rpm_limit'),
    max_parallel_requests: int(b, 'max_parallel_requests'),
    spend_nano: usd(b, 'spend') ?? undefined,
  };
}

/** LiteLLM fields accepted and echoed back but not acted on; copied as given into `extra`. */
export function extras(b: Body, fields: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (has(b, f)) out[f] = b[f];
  return Object.keys(out).length === 0 ? undefined : out;
}

export const KEY_EXTRAS = [
  'aliases', 'config', 'permissions', 'guardrails', 'policies', 'prompts', 'allowed_cache_controls', 'key_type', 'enforced_params',
  'allowed_routes', 'allowed_passthrough_routes', 'allowed_vector_store_indexes', 'budget_id', 'organization_id', 'project_id', 'agent_id',
  'object_permission', 'router_settings', 'rpm_limit_type', 'tpm_limit_type', 'auto_rotate', 'rotation_interval', 'send_invite_email',
  'access_group_ids', 'budget_limits', 'budget_fallbacks', 'temp_budget_increase', 'temp_budget_expiry',
] as const;

export const USER_EXTRAS = [
  'aliases', 'config', 'permissions', 'guardrails', 'policies', 'prompts', 'allowed_cache_controls', 'blocked', 'sso_user_id',
  'organizations', 'object_permission', 'send_invite_email', 'model_rpm_limit', 'model_tpm_limit', 'agent_id',
] as const;

export const TEAM_EXTRAS = [
  'organization_id', 'admins', 'members', 'team_member_permissions', 'model_aliases', 'guardrails', 'policies', 'prompts', 'object_permission',
  'allowed_passthrough_routes', 'secret_manager_settings', 'model_rpm_limit', 'model_tpm_limit', 'rpm_limit_type', 'tpm_limit_type',
  'team_member_budget', 'team_member_rpm_limit', 'team_member_tpm_limit', 'team_member_key_duration', 'team_member_budget_duration',
  'router_settings', 'access_group_ids',
] as const;

export const CUSTOMER_EXTRAS = ['budget_id', 'object_permission'] as const;

/** `members_with_roles: [{user_id | user_email, role}]`. */
export function members(b: Body, field = 'members_with_roles'): TeamMember[] | undefined {
  if (!has(b, field)) return undefined;
  const v = b[field];
  if (v === null) return [];
  if (!Array.isArray(v)) throw errors.invalidRequest(`${field}: must be a list of {user_id | user_email, role}`, field);
  return v.map((raw) => member(bodyOf(raw), field));
}

export function member(m: Body, field = 'member'): TeamMember {
  const userId = str(m, 'user_id') ?? null;
  const email = str(m, 'user_email') ?? null;
  if (userId === null && email === null) throw errors.invalidRequest(`${field}: Either user id or user email must be provided`, field);
  const role = str(m, 'role') ?? 'user';
  if (role !== 'admin' && role !== 'user') throw errors.invalidRequest(`${field}.role: must be "admin" or "user"`, field);
  return { user_id: userId, user_email: email, role };
}

export const USER_ROLES = ['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer'];

export function userRole(b: Body): string | null | undefined {
  const role = str(b, 'user_role');
  if (role !== undefined && role !== null && !USER_ROLES.includes(role)) throw errors.invalidRequest(`user_role: must be one of ${USER_ROLES.join(', ')}`, 'user_role');
  return role;
}

/** A query parameter as a string (first value when repeated). */
export function queryParam(query: unknown, name: string): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  const value = Array.isArray(raw) ? (raw[0] as unknown) : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function pageParams(query: unknown, sizeName: string, defaultSize: number): { page: number; size: number } {
  const page = Number(queryParam(query, 'page') ?? 1);
  const size = Number(queryParam(query, sizeName) ?? defaultSize);
  if (!Number.isInteger(page) || page < 1) throw errors.invalidRequest('page: must be an integer >= 1', 'page');
  if (!Number.isInteger(size) || size < 1 || size > 100) throw errors.invalidRequest(`${sizeName}: must be an integer from 1 to 100`, sizeName);
  return { page, size };
}
