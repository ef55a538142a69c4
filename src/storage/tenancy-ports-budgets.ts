/**
 * Ports for LiteLLM's budget tiers, organizations and memberships (LiteLLM_BudgetTable,
 * LiteLLM_OrganizationTable, LiteLLM_OrganizationMembership, LiteLLM_TeamMembership), in
 * Tollgate's units (nano-USD, epoch ms). Spend is not part of these records: like every other
 * entity's, it lives in the budget counters (scopes `org:<id>`, `team_member:<team>/<user>`).
 *
 * Written by C1 as the shapes the budget/organization admin API and admission code against; the
 * storage owner (A1) implements them (and may move them into tenancy-ports.ts).
 */
import type { BudgetSettings, RecordStore } from './tenancy-ports.js';

/** A reusable budget tier: `/budget/new`, linked by `budget_id` from keys, end users, teams, members, orgs. */
export interface BudgetRecord extends BudgetSettings {
  budget_id: string;
  /** End of the first budget period as stored (LiteLLM's `budget_reset_at`); null = calendar periods. */
  budget_reset_at: number | null;
  /** Per-member model scope (newer LiteLLM); empty = inherit. */
  allowed_models: string[];
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
}

export interface BudgetFilter {
  budgetIds?: readonly string[] | undefined;
}

export interface OrganizationRecord {
  organization_id: string;
  organization_alias: string;
  /** Every organization has a budget row (LiteLLM creates one when none is given). */
  budget_id: string;
  metadata: Record<string, unknown>;
  models: string[];
  /** LiteLLM fields accepted and echoed back but not acted on (object_permission_id, model_spend, …). */
  extra: Record<string, unknown>;
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
}

export interface OrganizationFilter {
  organizationIds?: readonly string[] | undefined;
  alias?: string | undefined;
}

/** A user's membership in an organization: role and an optional budget row. */
export interface OrgMembershipRecord {
  user_id: string;
  organization_id: string;
  /** `org_admin`, `internal_user`, `internal_user_viewer`. */
  user_role: string | null;
  budget_id: string | null;
  created_at: number;
  updated_at: number;
}

/** A user's membership in a team, for the member's budget and rate limits inside that team. */
export interface TeamMembershipRecord {
  user_id: string;
  team_id: string;
  budget_id: string | null;
  updated_at: number;
}

export interface MembershipFilter {
  /** organization_id or team_id */
  groupIds?: readonly string[] | undefined;
  userIds?: readonly string[] | undefined;
}

/** Memberships keyed by (group, user): group is the organization or the team. */
export interface MembershipStore<R> {
  get(groupId: string, userId: string): Promise<R | undefined>;
  find(filter: MembershipFilter): Promise<R[]>;
  /** False when the membership exists. */
  insert(record: R): Promise<boolean>;
  /** False when it does not exist. */
  update(record: R): Promise<boolean>;
  /** Removes the memberships matching (groupId, userId pairs); returns how many were removed. */
  delete(pairs: readonly { groupId: string; userId: string }[], at: number): Promise<number>;
}

export interface BudgetTableStores {
  readonly budgetTable: RecordStore<BudgetRecord, BudgetFilter>;
  readonly organizations: RecordStore<OrganizationRecord, OrganizationFilter>;
  readonly orgMemberships: MembershipStore<OrgMembershipRecord>;
  readonly teamMemberships: MembershipStore<TeamMembershipRecord>;
}
