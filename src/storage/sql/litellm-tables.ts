/**
 * LiteLLM's tables as its Prisma schema defines them today (`litellm/proxy/schema.prisma` in
 * BerriAI/litellm, commit 0010143f7d5014454d81a0fa76e42c4110a00893; the same columns as at
 * 029f645f1c81cbd6c6c48fbc8490d91da937066f): the ones Tollgate reads and writes. One list of
 * columns serves both databases; `litellm-migration.ts` turns it into DDL.
 * test/storage/litellm-prisma-parity.test.ts checks them against the copied models in
 * test/fixtures/litellm-schema/schema.prisma.excerpt.
 *
 * Column kinds and their types (Postgres exactly as Prisma's migration.sql has them; SQLite the
 * portable equivalent):
 *   text → TEXT | TEXT          float → DOUBLE PRECISION | REAL     int → INTEGER | INTEGER
 *   bigint → BIGINT | INTEGER   bool → BOOLEAN | INTEGER (0/1)      time → TIMESTAMP(3) | TEXT (ISO-8601 UTC)
 *   json → JSONB | TEXT         list → TEXT[] | TEXT (a JSON array)
 * Postgres TIMESTAMP(3) is *without* time zone and holds UTC, as Prisma writes it.
 */

export type ColumnKind = 'text' | 'float' | 'int' | 'bigint' | 'bool' | 'time' | 'json' | 'list' | 'serial';

/** A column default, by meaning; rendered per dialect. */
export type ColumnDefault = 'now' | 'empty_json' | 'empty_json_array' | 'empty_list' | 'false' | 'true' | 'zero' | 'empty_text';

export interface ColumnDef {
  name: string;
  kind: ColumnKind;
  notNull?: boolean;
  default?: ColumnDefault;
}

export interface IndexDef {
  name: string;
  columns: readonly string[];
  unique?: boolean;
}

export interface TableDef {
  name: string;
  primaryKey: readonly string[];
  columns: readonly ColumnDef[];
  /** Created with a table Tollgate creates; never added to a table LiteLLM made. */
  indexes?: readonly IndexDef[];
}

const c = (name: string, kind: ColumnKind, opts: { notNull?: boolean; default?: ColumnDefault } = {}): ColumnDef => ({ name, kind, ...opts });
const req = (name: string, kind: ColumnKind, d?: ColumnDefault): ColumnDef => ({ name, kind, notNull: true, ...(d === undefined ? {} : { default: d }) });

const createdUpdated = (byRequired: boolean): ColumnDef[] => [
  req('created_at', 'time', 'now'),
  byRequired ? req('created_by', 'text') : c('created_by', 'text'),
  req('updated_at', 'time', 'now'),
  byRequired ? req('updated_by', 'text') : c('updated_by', 'text'),
];

export const BUDGET_TABLE: TableDef = {
  name: 'LiteLLM_BudgetTable',
  primaryKey: ['budget_id'],
  columns: [
    req('budget_id', 'text'),
    c('max_budget', 'float'),
    c('soft_budget', 'float'),
    c('max_parallel_requests', 'int'),
    c('tpm_limit', 'bigint'),
    c('rpm_limit', 'bigint'),
    c('model_max_budget', 'json'),
    c('budget_duration', 'text'),
    c('budget_reset_at', 'time'),
    c('allowed_models', 'list', { default: 'empty_list' }),
    ...createdUpdated(true),
  ],
};

export const PROXY_MODEL_TABLE: TableDef = {
  name: 'LiteLLM_ProxyModelTable',
  primaryKey: ['model_id'],
  columns: [req('model_id', 'text'), req('model_name', 'text'), req('litellm_params', 'json'), c('model_info', 'json'), req('blocked', 'bool', 'false'), ...createdUpdated(true)],
};

export const ORGANIZATION_TABLE: TableDef = {
  name: 'LiteLLM_OrganizationTable',
  primaryKey: ['organization_id'],
  columns: [
    req('organization_id', 'text'),
    req('organization_alias', 'text'),
    req('budget_id', 'text'),
    req('metadata', 'json', 'empty_json'),
    c('models', 'list'),
    req('spend', 'float', 'zero'),
    req('model_spend', 'json', 'empty_json'),
    c('object_permission_id', 'text'),
    ...createdUpdated(true),
  ],
};

export const TEAM_TABLE: TableDef = {
  name: 'LiteLLM_TeamTable',
  primaryKey: ['team_id'],
  columns: [
    req('team_id', 'text'),
    c('team_alias', 'text'),
    c('organization_id', 'text'),
    c('object_permission_id', 'text'),
    c('admins', 'list'),
    c('members', 'list'),
    req('members_with_roles', 'json', 'empty_json'),
    req('metadata', 'json', 'empty_json'),
    c('max_budget', 'float'),
    c('soft_budget', 'float'),
    req('spend', 'float', 'zero'),
    c('models', 'list'),
    c('max_parallel_requests', 'int'),
    c('tpm_limit', 'bigint'),
    c('rpm_limit', 'bigint'),
    c('budget_duration', 'text'),
    c('budget_reset_at', 'time'),
    req('blocked', 'bool', 'false'),
    req('created_at', 'time', 'now'),
    req('updated_at', 'time', 'now'),
    req('model_spend', 'json', 'empty_json'),
    req('model_max_budget', 'json', 'empty_json'),
    c('router_settings', 'json', { default: 'empty_json' }),
    c('team_member_permissions', 'list', { default: 'empty_list' }),
    c('access_group_ids', 'list', { default: 'empty_list' }),
    c('policies', 'list', { default: 'empty_list' }),
    c('default_team_member_models', 'list', { default: 'empty_list' }),
    c('budget_limits', 'json'),
    c('model_id', 'int'),
    req('allow_team_guardrail_config', 'bool', 'false'),
  ],
  indexes: [
    { name: 'LiteLLM_TeamTable_model_id_key', columns: ['model_id'], unique: true },
    { name: 'LiteLLM_TeamTable_organization_id_idx', columns: ['organization_id'] },
    { name: 'LiteLLM_TeamTable_team_alias_idx', columns: ['team_alias'] },
    { name: 'LiteLLM_TeamTable_created_at_idx', columns: ['created_at'] },
  ],
};

export const USER_TABLE: TableDef = {
  name: 'LiteLLM_UserTable',
  primaryKey: ['user_id'],
  columns: [
    req('user_id', 'text'),
    c('user_alias', 'text'),
    c('team_id', 'text'),
    c('sso_user_id', 'text'),
    c('organization_id', 'text'),
    c('object_permission_id', 'text'),
    c('password', 'text'),
    c('teams', 'list', { default: 'empty_list' }),
    c('user_role', 'text'),
    c('max_budget', 'float'),
    req('spend', 'float', 'zero'),
    c('user_email', 'text'),
    c('models', 'list'),
    req('metadata', 'json', 'empty_json'),
    c('max_parallel_requests', 'int'),
    c('tpm_limit', 'bigint'),
    c('rpm_limit', 'bigint'),
    c('budget_duration', 'text'),
    c('budget_reset_at', 'time'),
    c('allowed_cache_controls', 'list', { default: 'empty_list' }),
    c('policies', 'list', { default: 'empty_list' }),
    req('model_spend', 'json', 'empty_json'),
    req('model_max_budget', 'json', 'empty_json'),
    c('created_at', 'time', { default: 'now' }),
    c('updated_at', 'time', { default: 'now' }),
  ],
  indexes: [{ name: 'LiteLLM_UserTable_sso_user_id_key', columns: ['sso_user_id'], unique: true }],
};

export const VERIFICATION_TOKEN_TABLE: TableDef = {
  name: 'LiteLLM_VerificationToken',
  primaryKey: ['token'],
  columns: [
    req('token', 'text'),
    c('key_name', 'text'),
    c('key_alias', 'text'),
    req('soft_budget_cooldown', 'bool', 'false'),
    req('spend', 'float', 'zero'),
    c('expires', 'time'),
    c('models', 'list'),
    req('aliases', 'json', 'empty_json'),
    req('config', 'json', 'empty_json'),
    c('router_settings', 'json', { default: 'empty_json' }),
    c('user_id', 'text'),
    c('team_id', 'text'),
    c('agent_id', 'text'),
    c('project_id', 'text'),
    req('permissions', 'json', 'empty_json'),
    c('max_parallel_requests', 'int'),
    req('metadata', 'json', 'empty_json'),
    c('blocked', 'bool'),
    c('tpm_limit', 'bigint'),
    c('rpm_limit', 'bigint'),
    c('max_budget', 'float'),
    c('budget_duration', 'text'),
    c('budget_reset_at', 'time'),
    c('allowed_cache_controls', 'list', { default: 'empty_list' }),
    c('allowed_routes', 'list', { default: 'empty_list' }),
    c('policies', 'list', { default: 'empty_list' }),
    c('access_group_ids', 'list', { default: 'empty_list' }),
    req('model_spend', 'json', 'empty_json'),
    req('model_max_budget', 'json', 'empty_json'),
    c('budget_id', 'text'),
    c('organization_id', 'text'),
    c('object_permission_id', 'text'),
    c('created_at', 'time', { default: 'now' }),
    c('created_by', 'text'),
    c('updated_at', 'time', { default: 'now' }),
    c('updated_by', 'text'),
    c('last_active', 'time'),
    c('rotation_count', 'int', { default: 'zero' }),
    c('auto_rotate', 'bool', { default: 'false' }),
    c('rotation_interval', 'text'),
    c('last_rotation_at', 'time'),
    c('key_rotation_at', 'time'),
    c('budget_limits', 'json'),
  ],
  indexes: [
    { name: 'LiteLLM_VerificationToken_user_id_team_id_idx', columns: ['user_id', 'team_id'] },
    { name: 'LiteLLM_VerificationToken_team_id_idx', columns: ['team_id'] },
    { name: 'LiteLLM_VerificationToken_budget_reset_at_expires_idx', columns: ['budget_reset_at', 'expires'] },
  ],
};

export const END_USER_TABLE: TableDef = {
  name: 'LiteLLM_EndUserTable',
  primaryKey: ['user_id'],
  columns: [
    req('user_id', 'text'),
    c('alias', 'text'),
    req('spend', 'float', 'zero'),
    c('allowed_model_region', 'text'),
    c('default_model', 'text'),
    c('budget_id', 'text'),
    c('object_permission_id', 'text'),
    req('blocked', 'bool', 'false'),
  ],
};

export const TEAM_MEMBERSHIP_TABLE: TableDef = {
  name: 'LiteLLM_TeamMembership',
  primaryKey: ['user_id', 'team_id'],
  columns: [req('user_id', 'text'), req('team_id', 'text'), req('spend', 'float', 'zero'), req('total_spend', 'float', 'zero'), c('budget_id', 'text')],
};

export const ORGANIZATION_MEMBERSHIP_TABLE: TableDef = {
  name: 'LiteLLM_OrganizationMembership',
  primaryKey: ['user_id', 'organization_id'],
  columns: [
    req('user_id', 'text'),
    req('organization_id', 'text'),
    c('user_role', 'text'),
    c('spend', 'float', { default: 'zero' }),
    c('budget_id', 'text'),
    c('created_at', 'time', { default: 'now' }),
    c('updated_at', 'time', { default: 'now' }),
  ],
};

export const SPEND_LOGS_TABLE: TableDef = {
  name: 'LiteLLM_SpendLogs',
  primaryKey: ['request_id'],
  columns: [
    req('request_id', 'text'),
    req('call_type', 'text'),
    req('api_key', 'text', 'empty_text'),
    req('spend', 'float', 'zero'),
    req('total_tokens', 'int', 'zero'),
    req('prompt_tokens', 'int', 'zero'),
    req('completion_tokens', 'int', 'zero'),
    req('startTime', 'time'),
    req('endTime', 'time'),
    c('request_duration_ms', 'int'),
    c('completionStartTime', 'time'),
    req('model', 'text', 'empty_text'),
    c('model_id', 'text', { default: 'empty_text' }),
    c('model_group', 'text', { default: 'empty_text' }),
    c('custom_llm_provider', 'text', { default: 'empty_text' }),
    c('api_base', 'text', { default: 'empty_text' }),
    c('user', 'text', { default: 'empty_text' }),
    c('metadata', 'json', { default: 'empty_json' }),
    c('cache_hit', 'text', { default: 'empty_text' }),
    c('cache_key', 'text', { default: 'empty_text' }),
    c('request_tags', 'json', { default: 'empty_json_array' }),
    c('team_id', 'text'),
    c('organization_id', 'text'),
    c('end_user', 'text'),
    c('requester_ip_address', 'text'),
    c('messages', 'json', { default: 'empty_json' }),
    c('response', 'json', { default: 'empty_json' }),
    c('session_id', 'text'),
    c('status', 'text'),
    c('mcp_namespaced_tool_name', 'text'),
    c('agent_id', 'text'),
    c('proxy_server_request', 'json', { default: 'empty_json' }),
  ],
  indexes: [
    { name: 'LiteLLM_SpendLogs_startTime_idx', columns: ['startTime'] },
    { name: 'LiteLLM_SpendLogs_startTime_request_id_idx', columns: ['startTime', 'request_id'] },
    { name: 'LiteLLM_SpendLogs_end_user_idx', columns: ['end_user'] },
    { name: 'LiteLLM_SpendLogs_session_id_idx', columns: ['session_id'] },
  ],
};

/** The daily aggregate tables share one shape; only the entity column differs. */
function dailyTable(name: string, entity: string, leading: ColumnDef[] = []): TableDef {
  const key = [entity, 'date', 'api_key', 'model', 'custom_llm_provider', 'mcp_namespaced_tool_name', 'endpoint'];
  return {
    name,
    primaryKey: ['id'],
    columns: [
      req('id', 'text'),
      ...leading,
      c(entity, 'text'),
      req('date', 'text'),
      req('api_key', 'text'),
      c('model', 'text'),
      c('model_group', 'text'),
      c('custom_llm_provider', 'text'),
      c('mcp_namespaced_tool_name', 'text'),
      c('endpoint', 'text'),
      req('prompt_tokens', 'bigint', 'zero'),
      req('completion_tokens', 'bigint', 'zero'),
      req('cache_read_input_tokens', 'bigint', 'zero'),
      req('cache_creation_input_tokens', 'bigint', 'zero'),
      req('spend', 'float', 'zero'),
      req('api_requests', 'bigint', 'zero'),
      req('successful_requests', 'bigint', 'zero'),
      req('failed_requests', 'bigint', 'zero'),
      req('created_at', 'time', 'now'),
      req('updated_at', 'time'),
    ],
    indexes: [
      // Prisma's own name for this unique index is cut at 63 characters; this one is ours.
      { name: `${name}_entity_date_key`, columns: key, unique: true },
      { name: `${name}_date_idx`, columns: ['date'] },
      { name: `${name}_${entity}_date_idx`, columns: [entity, 'date'] },
      { name: `${name}_api_key_idx`, columns: ['api_key'] },
      { name: `${name}_model_idx`, columns: ['model'] },
      { name: `${name}_mcp_namespaced_tool_name_idx`, columns: ['mcp_namespaced_tool_name'] },
      { name: `${name}_endpoint_idx`, columns: ['endpoint'] },
    ],
  };
}

export const DAILY_SPEND_TABLES: readonly TableDef[] = [
  dailyTable('LiteLLM_DailyUserSpend', 'user_id'),
  dailyTable('LiteLLM_DailyTeamSpend', 'team_id'),
  dailyTable('LiteLLM_DailyOrganizationSpend', 'organization_id'),
  dailyTable('LiteLLM_DailyEndUserSpend', 'end_user_id'),
  dailyTable('LiteLLM_DailyAgentSpend', 'agent_id'),
  dailyTable('LiteLLM_DailyTagSpend', 'tag', [c('request_id', 'text')]),
];

/** Every LiteLLM table Tollgate creates when missing, in creation order. */
export const LITELLM_TABLES: readonly TableDef[] = [
  BUDGET_TABLE,
  PROXY_MODEL_TABLE,
  ORGANIZATION_TABLE,
  TEAM_TABLE,
  USER_TABLE,
  VERIFICATION_TOKEN_TABLE,
  END_USER_TABLE,
  TEAM_MEMBERSHIP_TABLE,
  ORGANIZATION_MEMBERSHIP_TABLE,
  SPEND_LOGS_TABLE,
  ...DAILY_SPEND_TABLES,
];
