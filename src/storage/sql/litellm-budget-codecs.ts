/**
 * Budget tiers, organizations and memberships ↔ rows of LiteLLM's tables (LiteLLM_BudgetTable,
 * LiteLLM_OrganizationTable, LiteLLM_OrganizationMembership, LiteLLM_TeamMembership); same rules as
 * `litellm-codecs.ts`, whose helpers these use.
 */
import type { BudgetRecord, OrganizationRecord, OrgMembershipRecord, TeamMembershipRecord } from '../tenancy-ports-budgets.js';
import { columnsToExtra, extraToColumns, settingsFromRow, settingsToRow, type Codec, type ExtraColumns } from './litellm-codecs.js';
import { encodeModelBudgets, list, nanoToUsd, obj, str, time } from './litellm-values.js';
import { decodeJson } from './spend-tables.js';

export const budgetCodec: Codec<BudgetRecord> = {
  kind: 'budget',
  table: 'LiteLLM_BudgetTable',
  key: ['budget_id'],
  id: (b) => b.budget_id,
  createdColumn: 'created_at',
  decode(row, extras) {
    const created = time(row.created_at) ?? 0;
    return {
      ...settingsFromRow(row, extras),
      budget_id: str(row.budget_id) ?? '',
      budget_reset_at: time(row.budget_reset_at),
      allowed_models: list(row.allowed_models),
      created_at: created,
      created_by: str(row.created_by) ?? '',
      updated_at: time(row.updated_at) ?? created,
      updated_by: str(row.updated_by) ?? '',
    };
  },
  encode(b, enc) {
    return {
      row: {
        ...settingsToRow(b),
        soft_budget: nanoToUsd(b.soft_budget_nano),
        // LiteLLM's column is nullable JSONB; an empty map is stored as NULL as LiteLLM does.
        model_max_budget: Object.keys(b.model_max_budget).length === 0 ? null : JSON.stringify(encodeModelBudgets(b.model_max_budget)),
        budget_id: b.budget_id,
        budget_reset_at: enc.time(b.budget_reset_at),
        allowed_models: enc.list(b.allowed_models),
        created_at: enc.time(b.created_at),
        created_by: b.created_by,
        updated_at: enc.time(b.updated_at),
        updated_by: b.updated_by,
      },
      extras: {},
    };
  },
};

const ORG_EXTRA: ExtraColumns = [['object_permission_id', 'text']];

export const organizationCodec: Codec<OrganizationRecord> = {
  kind: 'organization',
  table: 'LiteLLM_OrganizationTable',
  key: ['organization_id'],
  id: (o) => o.organization_id,
  createdColumn: 'created_at',
  decode(row, extras) {
    const created = time(row.created_at) ?? 0;
    return {
      organization_id: str(row.organization_id) ?? '',
      organization_alias: str(row.organization_alias) ?? '',
      budget_id: str(row.budget_id) ?? '',
      metadata: obj(decodeJson(row.metadata)),
      models: list(row.models),
      extra: { ...columnsToExtra(row, ORG_EXTRA), ...obj(extras.extra) },
      created_at: created,
      created_by: str(row.created_by) ?? '',
      updated_at: time(row.updated_at) ?? created,
      updated_by: str(row.updated_by) ?? '',
    };
  },
  encode(o, enc) {
    const { row: extraRow, rest } = extraToColumns(o.extra, ORG_EXTRA, enc);
    return {
      row: {
        ...extraRow,
        organization_id: o.organization_id,
        organization_alias: o.organization_alias,
        budget_id: o.budget_id,
        metadata: JSON.stringify(o.metadata),
        models: enc.list(o.models),
        created_at: enc.time(o.created_at),
        created_by: o.created_by,
        updated_at: enc.time(o.updated_at),
        updated_by: o.updated_by,
      },
      extras: { extra: rest },
    };
  },
};

export const orgMembershipCodec: Codec<OrgMembershipRecord> = {
  kind: 'organization',
  table: 'LiteLLM_OrganizationMembership',
  key: ['organization_id', 'user_id'],
  id: (m) => `${m.organization_id}:${m.user_id}`,
  createdColumn: 'created_at',
  decode(row) {
    const created = time(row.created_at) ?? 0;
    return { user_id: str(row.user_id) ?? '', organization_id: str(row.organization_id) ?? '', user_role: str(row.user_role), budget_id: str(row.budget_id), created_at: created, updated_at: time(row.updated_at) ?? created };
  },
  encode(m, enc) {
    return { row: { user_id: m.user_id, organization_id: m.organization_id, user_role: m.user_role, budget_id: m.budget_id, created_at: enc.time(m.created_at), updated_at: enc.time(m.updated_at) }, extras: {} };
  },
};

export const teamMembershipCodec: Codec<TeamMembershipRecord> = {
  kind: 'team_membership',
  table: 'LiteLLM_TeamMembership',
  key: ['team_id', 'user_id'],
  id: (m) => `${m.team_id}:${m.user_id}`,
  createdColumn: null,
  decode(row) {
    return { user_id: str(row.user_id) ?? '', team_id: str(row.team_id) ?? '', budget_id: str(row.budget_id), updated_at: 0 };
  },
  encode(m) {
    return { row: { user_id: m.user_id, team_id: m.team_id, budget_id: m.budget_id }, extras: {} };
  },
};
