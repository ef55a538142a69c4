/**
 * Storage ports for tenancy: virtual keys, internal users, teams, customers (end users) and models
 * added through the admin API, budget tiers, organizations and memberships
 * (`tenancy-ports-budgets.ts`), plus the budget counters that hold spend per budget period.
 *
 * The records are rows of LiteLLM's own tables (LiteLLM_VerificationToken, LiteLLM_UserTable, …)
 * in Tollgate's units: money is integer nano-USD (principle 8), times are epoch milliseconds, a
 * key is known only by the SHA-256 hex of its plaintext. A record's spend is not part of it: spend
 * lives in `budget_counters`, one row per (scope, budget period), so a budget reset is a new period
 * rather than a write that every instance must agree on. The counters are seeded from LiteLLM's
 * `spend` columns and written back to them (see `BudgetCounterStore`).
 */
import type { BudgetRecord, BudgetTableStores, OrganizationRecord, OrgMembershipRecord, TeamMembershipRecord } from './tenancy-ports-budgets.js';

/** One per-model budget: `model_max_budget: {"gpt-4o": {"budget_limit": 5, "time_period": "1d"}}`. */
export interface ModelBudget {
  max_budget_nano: number;
  /** Period of this model's budget; null = the owner's budget_duration (or none). */
  budget_duration: string | null;
}

/** Budget and rate-limit settings shared by keys, users, teams and customers. */
export interface BudgetSettings {
  max_budget_nano: number | null;
  /** Crossing it is logged and counted once per period; it never blocks. */
  soft_budget_nano: number | null;
  /** `30s`, `5m`, `1h`, `1d`, `7d`, `30d`, `1mo`, …; null = the budget never resets. */
  budget_duration: string | null;
  /** Budgets on requested model names. */
  model_max_budget: Record<string, ModelBudget>;
  tpm_limit: number | null;
  rpm_limit: number | null;
  max_parallel_requests: number | null;
}

export interface KeyRecord extends BudgetSettings {
  /** SHA-256 hex of the plaintext key: the only form a key is ever stored in. */
  token: string;
  /** Masked form for display, e.g. `sk-...Ab3d`. */
  key_name: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  /** Model names, wildcard patterns or access groups; empty = every model the owner may use. */
  models: string[];
  model_rpm_limit: Record<string, number>;
  model_tpm_limit: Record<string, number>;
  metadata: Record<string, unknown>;
  tags: string[];
  blocked: boolean;
  /** Epoch ms after which the key is refused; null = never expires. */
  expires: number | null;
  /** LiteLLM_BudgetTable row whose limits apply over the key's own (LiteLLM's `budget_id`). */
  budget_id?: string | null | undefined;
  organization_id?: string | null | undefined;
  /** LiteLLM's stored end of the current budget period (epoch ms), as the row has it. */
  budget_reset_at?: number | null | undefined;
  /** LiteLLM fields accepted and echoed back but not enforced (aliases, config, permissions, …). */
  extra: Record<string, unknown>;
  created_at: number;
  updated_at: number;
  created_by: string | null;
  updated_by: string | null;
}

export interface UserRecord extends BudgetSettings {
  user_id: string;
  user_alias: string | null;
  user_email: string | null;
  /** `proxy_admin`, `proxy_admin_viewer`, `internal_user`, `internal_user_viewer`. */
  user_role: string | null;
  teams: string[];
  models: string[];
  metadata: Record<string, unknown>;
  organization_id?: string | null | undefined;
  budget_reset_at?: number | null | undefined;
  extra: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface TeamMember {
  user_id: string | null;
  user_email: string | null;
  role: 'admin' | 'user';
}

export interface TeamRecord extends BudgetSettings {
  team_id: string;
  team_alias: string | null;
  models: string[];
  members_with_roles: TeamMember[];
  metadata: Record<string, unknown>;
  tags: string[];
  blocked: boolean;
  organization_id?: string | null | undefined;
  budget_reset_at?: number | null | undefined;
  extra: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

/** An end user of a caller's application, named by the request's `user` or `x-litellm-end-user-id`. */
export interface CustomerRecord extends BudgetSettings {
  user_id: string;
  alias: string | null;
  blocked: boolean;
  allowed_model_region: string | null;
  default_model: string | null;
  /** LiteLLM_BudgetTable row (a budget tier) whose limits apply over the customer's own. */
  budget_id?: string | null | undefined;
  extra: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

/** A deployment added with `/model/new` (kept only when `store_model_in_db`). */
export interface ModelRecord {
  model_id: string;
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: Record<string, unknown>;
  created_at: number;
  updated_at: number;
  created_by: string | null;
  updated_by: string | null;
}

export interface RecordPage {
  limit: number;
  offset: number;
}

/** Store of one kind of record. `find` and `count` take the same filter; results are newest first. */
export interface RecordStore<R, F> {
  get(id: string): Promise<R | undefined>;
  find(filter: F, page?: RecordPage): Promise<R[]>;
  count(filter: F): Promise<number>;
  /** False (nothing written) when a record with this id exists. */
  insert(record: R): Promise<boolean>;
  /** False when no record with this id exists. */
  update(record: R): Promise<boolean>;
  /** Removes the records (other instances' caches see the rows gone on their next refresh); returns the ids removed. */
  delete(ids: readonly string[], at: number): Promise<string[]>;
}

export interface KeyFilter {
  tokens?: readonly string[] | undefined;
  aliases?: readonly string[] | undefined;
  userIds?: readonly string[] | undefined;
  teamIds?: readonly string[] | undefined;
}

export interface KeyStore extends RecordStore<KeyRecord, KeyFilter> {
  /** Atomically swap a key for its regenerated successor (new token); false when the old one is gone. */
  replace(oldToken: string, next: KeyRecord, at: number): Promise<boolean>;
}

export interface UserFilter {
  userIds?: readonly string[] | undefined;
  email?: string | undefined;
  role?: string | undefined;
}

export interface TeamFilter {
  teamIds?: readonly string[] | undefined;
  alias?: string | undefined;
}

export interface CustomerFilter {
  userIds?: readonly string[] | undefined;
}

export interface ModelFilter {
  modelIds?: readonly string[] | undefined;
  modelName?: string | undefined;
}

export type RecordKind = 'key' | 'user' | 'team' | 'customer' | 'model' | 'budget' | 'organization' | 'team_membership';

/** Every record in the store, read in one pass. */
export interface TenancySnapshot {
  keys: KeyRecord[];
  users: UserRecord[];
  teams: TeamRecord[];
  customers: CustomerRecord[];
  models: ModelRecord[];
  budgets: BudgetRecord[];
  organizations: OrganizationRecord[];
  teamMemberships: TeamMembershipRecord[];
  orgMemberships: OrgMembershipRecord[];
  /** LiteLLM's `spend` column per budget scope (`key:<hash>`, `team:<id>`, …), nano-USD, to seed counters. */
  entitySpend: EntitySpend[];
}

/** The spend an entity row holds (LiteLLM's `spend` column) and the period it belongs to. */
export interface EntitySpend {
  scope: string;
  spend_nano: number;
  /** The row's `budget_reset_at` (epoch ms) or null. */
  budget_reset_at: number | null;
}

/** Spend of one scope (`key:<hash>`, `user:<id>`, …) in one budget period. */
export interface BudgetCounterRow {
  scope: string;
  /** End of the period (epoch ms, exclusive); 0 for a budget that never resets. */
  period_end: number;
  spend_nano: number;
  updated_at: number;
}

export interface BudgetCounterStore {
  /**
   * Add the deltas (creating rows as needed) in one transaction, and write each entity scope's new
   * period total into its LiteLLM row (`spend`, `budget_reset_at` = the period end, and
   * `model_spend` for `<scope>:model:<name>` scopes), so LiteLLM's UI shows the same numbers.
   * A row whose `spend` no longer holds its counter's previous value was rewritten by another
   * tool: it gets that value plus the delta, and the counter follows (`adopted`). Returns the
   * period totals as they now stand. With `batchId`, a batch applied before under that id (a
   * retry after a commit whose answer was lost) changes nothing: a retried flush never counts twice.
   */
  add(deltas: readonly { scope: string; period_end: number; delta_nano: number }[], at: number, batchId?: string): Promise<(BudgetCounterRow & { adopted: boolean })[]>;
  /** Set a period's spend (admin `spend` / `/key/reset_spend`), entity row included. */
  set(scope: string, periodEnd: number, spendNano: number, at: number): Promise<void>;
  /** Create counter rows that do not exist yet (seeding from LiteLLM's `spend`); existing rows win. */
  seed(rows: readonly { scope: string; period_end: number; spend_nano: number }[], at: number): Promise<void>;
  /**
   * For each entity scope, read its row's `spend` and its counter in one transaction; where they
   * differ another tool wrote the column, and the counter takes the column's value. Returns the
   * column (nano-USD) of each row that exists.
   */
  reconcile(items: readonly { scope: string; period_end: number }[], at: number): Promise<{ scope: string; period_end: number; spend_nano: number; changed: boolean }[]>;
  /** Rows of periods that have not ended at `now` (and the never-resetting ones). */
  current(now: number): Promise<BudgetCounterRow[]>;
  /** Rows written at or after `since`. */
  changedSince(since: number): Promise<BudgetCounterRow[]>;
  /**
   * Record that an alert fired for (scope, period); true only for the first caller across all
   * instances, which is what makes a soft-budget crossing count once.
   */
  claimAlert(scope: string, periodEnd: number, kind: string, at: number): Promise<boolean>;
}

/** Records of one kind that changed: the current version of each, and the ids whose row is gone. */
export interface RecordChanges<R> {
  put: R[];
  gone: string[];
}

/**
 * What changed in the tenancy tables since the feed's previous read (`TenancyFeed`). Rows are
 * compared in the database, not by `updated_at` (which other tools leave unchanged), so a direct
 * `UPDATE` shows as a change like any other write.
 */
export interface TenancyChanges {
  /** Every row is listed (the feed's first read): a record absent from it is gone. */
  full: boolean;
  keys: RecordChanges<KeyRecord>;
  users: RecordChanges<UserRecord>;
  teams: RecordChanges<TeamRecord>;
  customers: RecordChanges<CustomerRecord>;
  models: RecordChanges<ModelRecord>;
  budgets: RecordChanges<BudgetRecord>;
  organizations: RecordChanges<OrganizationRecord>;
  /** Ids are `${team_id}:${user_id}`. */
  teamMemberships: RecordChanges<TeamMembershipRecord>;
  /** LiteLLM's `spend` of every entity row read, 0 included (a reset), for seeding and adopting. */
  entitySpend: EntitySpend[];
  /** Scopes whose entity row is gone. */
  spendGone: string[];
}

/** Reads the tenancy tables incrementally; one per cache, since it remembers what it last saw. */
export interface TenancyFeed {
  /**
   * The changes since the previous call (the first call lists everything). `recheck` names
   * records to read again whether or not they changed (ones the cache did not take last time).
   */
  next(recheck?: readonly { kind: RecordKind; id: string }[]): Promise<TenancyChanges>;
}

export interface TenancyStores extends BudgetTableStores {
  readonly keys: KeyStore;
  readonly users: RecordStore<UserRecord, UserFilter>;
  readonly teams: RecordStore<TeamRecord, TeamFilter>;
  readonly customers: RecordStore<CustomerRecord, CustomerFilter>;
  readonly models: RecordStore<ModelRecord, ModelFilter>;
  readonly budgets: BudgetCounterStore;
  /** Every record in one pass (tools and tests; the cache reads through `changeFeed()`). */
  snapshot(): Promise<TenancySnapshot>;
  /** A fresh reader of what changes, for one in-process cache. */
  changeFeed(): TenancyFeed;
}
