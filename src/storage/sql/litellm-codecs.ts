/**
 * Tenancy records ↔ rows of LiteLLM's tables. A record field LiteLLM has a column for goes to that
 * column (USD floats, TEXT[], JSONB, timestamps as LiteLLM writes them); what it has no column for
 * goes to Tollgate's `tollgate_record_extras` doc (a key's soft budget, a customer's inline limits,
 * `created_at` of tables without one, `extra` fields that are not columns). LiteLLM's own places
 * are kept: a key's `tags`, `model_rpm_limit` and `model_tpm_limit` live in its `metadata`.
 */
import type { BudgetSettings, CustomerRecord, KeyRecord, ModelRecord, RecordKind, TeamMember, TeamRecord, UserRecord } from '../tenancy-ports.js';
import type { ColumnKind } from './litellm-tables.js';
import { bool, decodeModelBudgets, encodeModelBudgets, int, list, meaningful, nanoToUsd, numberMap, obj, str, time, usdToNano, type Encoder, type Row } from './litellm-values.js';
import { decodeJson } from './spend-tables.js';

export type Obj = Record<string, unknown>;

export interface Encoded {
  row: Row;
  extras: Obj;
}

export interface Codec<R> {
  kind: RecordKind;
  table: string;
  /** Primary-key columns, in the order `id()` joins them with ':'. */
  key: readonly string[];
  id(record: R): string;
  /** Column giving newest-first order (null: the table has none; the key orders). */
  createdColumn: string | null;
  decode(row: Row, extras: Obj): R;
  encode(record: R, enc: Encoder): Encoded;
}

/** `extra` fields that are LiteLLM columns of the table, with their kinds. */
export type ExtraColumns = readonly (readonly [string, ColumnKind])[];

export function extraToColumns(extra: Obj, columns: ExtraColumns, enc: Encoder): { row: Row; rest: Obj } {
  const row: Row = {};
  const rest: Obj = { ...extra };
  for (const [name, kind] of columns) {
    if (!(name in extra)) continue;
    const v = extra[name];
    delete rest[name];
    if (kind === 'json') row[name] = v === null || v === undefined ? null : JSON.stringify(v);
    else if (kind === 'list') row[name] = enc.list(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    else if (kind === 'bool') row[name] = enc.bool(v === true);
    else if (kind === 'time') row[name] = enc.time(typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : null);
    else if (kind === 'int' || kind === 'bigint' || kind === 'float') row[name] = typeof v === 'number' ? v : null;
    else row[name] = typeof v === 'string' ? v : null;
  }
  return { row, rest };
}

export function columnsToExtra(row: Row, columns: ExtraColumns): Obj {
  const out: Obj = {};
  for (const [name, kind] of columns) {
    const raw = row[name];
    const v = kind === 'json' ? decodeJson(raw) : kind === 'list' ? list(raw) : kind === 'bool' ? bool(raw) : kind === 'time' ? time(raw) : raw;
    if (meaningful(v)) out[name] = v;
  }
  return out;
}

export function settingsFromRow(row: Row, extras: Obj): BudgetSettings {
  return {
    max_budget_nano: usdToNano(row.max_budget),
    soft_budget_nano: 'soft_budget' in row ? usdToNano(row.soft_budget) : int(extras.soft_budget_nano),
    budget_duration: str(row.budget_duration),
    model_max_budget: decodeModelBudgets(decodeJson(row.model_max_budget)),
    tpm_limit: int(row.tpm_limit),
    rpm_limit: int(row.rpm_limit),
    max_parallel_requests: int(row.max_parallel_requests),
  };
}

export function settingsToRow(s: BudgetSettings): Row {
  return {
    max_budget: nanoToUsd(s.max_budget_nano),
    budget_duration: s.budget_duration,
    model_max_budget: JSON.stringify(encodeModelBudgets(s.model_max_budget)),
    tpm_limit: s.tpm_limit,
    rpm_limit: s.rpm_limit,
    max_parallel_requests: s.max_parallel_requests,
  };
}

/** Settings of an entity LiteLLM keeps no inline limits for (end users): all in the extras doc. */
function settingsFromExtras(e: Obj): BudgetSettings {
  return {
    max_budget_nano: int(e.max_budget_nano),
    soft_budget_nano: int(e.soft_budget_nano),
    budget_duration: str(e.budget_duration),
    model_max_budget: decodeModelBudgets(e.model_max_budget),
    tpm_limit: int(e.tpm_limit),
    rpm_limit: int(e.rpm_limit),
    max_parallel_requests: int(e.max_parallel_requests),
  };
}

function settingsToExtras(s: BudgetSettings): Obj {
  return { ...s, model_max_budget: encodeModelBudgets(s.model_max_budget) };
}

const KEY_EXTRA: ExtraColumns = [
  ['aliases', 'json'],
  ['config', 'json'],
  ['permissions', 'json'],
  ['router_settings', 'json'],
  ['allowed_cache_controls', 'list'],
  ['allowed_routes', 'list'],
  ['policies', 'list'],
  ['access_group_ids', 'list'],
  ['object_permission_id', 'text'],
  ['agent_id', 'text'],
  ['project_id', 'text'],
  ['auto_rotate', 'bool'],
  ['rotation_interval', 'text'],
  ['rotation_count', 'int'],
  ['budget_limits', 'json'],
];
/** Keys LiteLLM keeps inside a key's `metadata`. */
const KEY_METADATA = ['tags', 'model_rpm_limit', 'model_tpm_limit'] as const;

export const keyCodec: Codec<KeyRecord> = {
  kind: 'key',
  table: 'LiteLLM_VerificationToken',
  key: ['token'],
  id: (k) => k.token,
  createdColumn: 'created_at',
  decode(row, extras) {
    const meta = obj(decodeJson(row.metadata));
    const metadata: Obj = { ...meta };
    for (const k of KEY_METADATA) delete metadata[k];
    const created = time(row.created_at) ?? 0;
    return {
      ...settingsFromRow(row, extras),
      token: str(row.token) ?? '',
      key_name: str(row.key_name) ?? '',
      key_alias: str(row.key_alias),
      user_id: str(row.user_id),
      team_id: str(row.team_id),
      models: list(row.models),
      model_rpm_limit: numberMap(meta.model_rpm_limit),
      model_tpm_limit: numberMap(meta.model_tpm_limit),
      metadata,
      tags: list(meta.tags),
      blocked: bool(row.blocked),
      expires: time(row.expires),
      budget_id: str(row.budget_id),
      organization_id: str(row.organization_id),
      budget_reset_at: time(row.budget_reset_at),
      extra: { ...columnsToExtra(row, KEY_EXTRA), ...obj(extras.extra) },
      created_at: created,
      updated_at: time(row.updated_at) ?? created,
      created_by: str(row.created_by),
      updated_by: str(row.updated_by),
    };
  },
  encode(k, enc) {
    const { row: extraRow, rest } = extraToColumns(k.extra, KEY_EXTRA, enc);
    const metadata: Obj = { ...k.metadata };
    if (k.tags.length > 0) metadata.tags = k.tags;
    if (Object.keys(k.model_rpm_limit).length > 0) metadata.model_rpm_limit = k.model_rpm_limit;
    if (Object.keys(k.model_tpm_limit).length > 0) metadata.model_tpm_limit = k.model_tpm_limit;
    return {
      row: {
        ...extraRow,
        ...settingsToRow(k),
        token: k.token,
        key_name: k.key_name,
        key_alias: k.key_alias,
        user_id: k.user_id,
        team_id: k.team_id,
        models: enc.list(k.models),
        metadata: JSON.stringify(metadata),
        blocked: enc.bool(k.blocked),
        expires: enc.time(k.expires),
        budget_id: k.budget_id ?? null,
        organization_id: k.organization_id ?? null,
        created_at: enc.time(k.created_at),
        updated_at: enc.time(k.updated_at),
        created_by: k.created_by,
        updated_by: k.updated_by,
      },
      extras: { soft_budget_nano: k.soft_budget_nano, extra: rest },
    };
  },
};

const USER_EXTRA: ExtraColumns = [
  ['sso_user_id', 'text'],
  ['team_id', 'text'],
  ['object_permission_id', 'text'],
  ['allowed_cache_controls', 'list'],
  ['policies', 'list'],
];

export const userCodec: Codec<UserRecord> = {
  kind: 'user',
  table: 'LiteLLM_UserTable',
  key: ['user_id'],
  id: (u) => u.user_id,
  createdColumn: 'created_at',
  decode(row, extras) {
    const created = time(row.created_at) ?? 0;
    return {
      ...settingsFromRow(row, extras),
      user_id: str(row.user_id) ?? '',
      user_alias: str(row.user_alias),
      user_email: str(row.user_email),
      user_role: str(row.user_role),
      teams: list(row.teams),
      models: list(row.models),
      metadata: obj(decodeJson(row.metadata)),
      organization_id: str(row.organization_id),
      budget_reset_at: time(row.budget_reset_at),
      extra: { ...columnsToExtra(row, USER_EXTRA), ...obj(extras.extra) },
      created_at: created,
      updated_at: time(row.updated_at) ?? created,
    };
  },
  encode(u, enc) {
    const { row: extraRow, rest } = extraToColumns(u.extra, USER_EXTRA, enc);
    return {
      row: {
        ...extraRow,
        ...settingsToRow(u),
        user_id: u.user_id,
        user_alias: u.user_alias,
        user_email: u.user_email,
        user_role: u.user_role,
        teams: enc.list(u.teams),
        models: enc.list(u.models),
        metadata: JSON.stringify(u.metadata),
        organization_id: u.organization_id ?? null,
        created_at: enc.time(u.created_at),
        updated_at: enc.time(u.updated_at),
      },
      extras: { soft_budget_nano: u.soft_budget_nano, extra: rest },
    };
  },
};

const TEAM_EXTRA: ExtraColumns = [
  ['object_permission_id', 'text'],
  ['router_settings', 'json'],
  ['team_member_permissions', 'list'],
  ['access_group_ids', 'list'],
  ['policies', 'list'],
  ['default_team_member_models', 'list'],
  ['budget_limits', 'json'],
  ['allow_team_guardrail_config', 'bool'],
  ['admins', 'list'],
  ['members', 'list'],
];

function members(value: unknown): TeamMember[] {
  const v = decodeJson(value as string);
  if (!Array.isArray(v)) return [];
  return v.map((m) => {
    const o = obj(m);
    return { user_id: str(o.user_id), user_email: str(o.user_email), role: o.role === 'admin' ? 'admin' : 'user' };
  });
}

export const teamCodec: Codec<TeamRecord> = {
  kind: 'team',
  table: 'LiteLLM_TeamTable',
  key: ['team_id'],
  id: (t) => t.team_id,
  createdColumn: 'created_at',
  decode(row, extras) {
    const meta = obj(decodeJson(row.metadata));
    const metadata: Obj = { ...meta };
    delete metadata.tags;
    const created = time(row.created_at) ?? 0;
    return {
      ...settingsFromRow(row, extras),
      team_id: str(row.team_id) ?? '',
      team_alias: str(row.team_alias),
      models: list(row.models),
      members_with_roles: members(row.members_with_roles),
      metadata,
      tags: list(meta.tags),
      blocked: bool(row.blocked),
      organization_id: str(row.organization_id),
      budget_reset_at: time(row.budget_reset_at),
      extra: { ...columnsToExtra(row, TEAM_EXTRA), ...obj(extras.extra) },
      created_at: created,
      updated_at: time(row.updated_at) ?? created,
    };
  },
  encode(t, enc) {
    const { row: extraRow, rest } = extraToColumns(t.extra, TEAM_EXTRA, enc);
    const metadata: Obj = { ...t.metadata };
    if (t.tags.length > 0) metadata.tags = t.tags;
    return {
      row: {
        ...extraRow,
        ...settingsToRow(t),
        soft_budget: nanoToUsd(t.soft_budget_nano),
        team_id: t.team_id,
        team_alias: t.team_alias,
        models: enc.list(t.models),
        members_with_roles: JSON.stringify(t.members_with_roles),
        metadata: JSON.stringify(metadata),
        blocked: enc.bool(t.blocked),
        organization_id: t.organization_id ?? null,
        created_at: enc.time(t.created_at),
        updated_at: enc.time(t.updated_at),
      },
      extras: { soft_budget_nano: t.soft_budget_nano, extra: rest },
    };
  },
};

const CUSTOMER_EXTRA: ExtraColumns = [['object_permission_id', 'text']];

export const customerCodec: Codec<CustomerRecord> = {
  kind: 'customer',
  table: 'LiteLLM_EndUserTable',
  key: ['user_id'],
  id: (c) => c.user_id,
  createdColumn: null,
  decode(row, extras) {
    const created = int(extras.created_at) ?? 0;
    return {
      ...settingsFromExtras(extras),
      user_id: str(row.user_id) ?? '',
      alias: str(row.alias),
      blocked: bool(row.blocked),
      allowed_model_region: str(row.allowed_model_region),
      default_model: str(row.default_model),
      budget_id: str(row.budget_id),
      extra: { ...columnsToExtra(row, CUSTOMER_EXTRA), ...obj(extras.extra) },
      created_at: created,
      updated_at: int(extras.updated_at) ?? created,
    };
  },
  encode(c, enc) {
    const { row: extraRow, rest } = extraToColumns(c.extra, CUSTOMER_EXTRA, enc);
    return {
      row: { ...extraRow, user_id: c.user_id, alias: c.alias, blocked: enc.bool(c.blocked), allowed_model_region: c.allowed_model_region, default_model: c.default_model, budget_id: c.budget_id ?? null },
      extras: { ...settingsToExtras(c), extra: rest, created_at: c.created_at, updated_at: c.updated_at },
    };
  },
};

export const modelCodec: Codec<ModelRecord> = {
  kind: 'model',
  table: 'LiteLLM_ProxyModelTable',
  key: ['model_id'],
  id: (m) => m.model_id,
  createdColumn: 'created_at',
  decode(row) {
    const created = time(row.created_at) ?? 0;
    return {
      model_id: str(row.model_id) ?? '',
      model_name: str(row.model_name) ?? '',
      litellm_params: obj(decodeJson(row.litellm_params)),
      model_info: obj(decodeJson(row.model_info)),
      created_at: created,
      updated_at: time(row.updated_at) ?? created,
      created_by: str(row.created_by),
      updated_by: str(row.updated_by),
    };
  },
  encode(m, enc) {
    return {
      row: {
        model_id: m.model_id,
        model_name: m.model_name,
        litellm_params: JSON.stringify(m.litellm_params),
        model_info: JSON.stringify(m.model_info),
        created_at: enc.time(m.created_at),
        updated_at: enc.time(m.updated_at),
        // NOT NULL in LiteLLM's table.
        created_by: m.created_by ?? '',
        updated_by: m.updated_by ?? '',
      },
      extras: {},
    };
  },
};
