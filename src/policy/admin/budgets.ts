/**
 * Budget tiers (LiteLLM_BudgetTable): `/budget/*`, and the rows `/customer/new`,
 * `/organization/new` and member budgets create. A row is settings only; what it limits is the spend
 * of each entity linked to it by `budget_id` (litellm/proxy/management_endpoints/budget_management_endpoints.py).
 */
import { randomUUID } from 'node:crypto';
import type { BudgetRecord, TeamMembershipRecord } from '../../storage/tenancy-ports-budgets.js';
import { addDuration, parseDuration } from '../budget-period.js';
import type { Tenancy } from '../tenancy.js';
import { badRequest, notFound, type Changes } from './common.js';

export type BudgetChanges = Changes<Omit<BudgetRecord, 'budget_id' | 'created_at' | 'created_by' | 'updated_at' | 'updated_by'>>;

/** The budget fields of a change set, for the entities (end users, orgs) that keep theirs in a row. */
export const BUDGET_FIELDS = ['max_budget_nano', 'soft_budget_nano', 'budget_duration', 'model_max_budget', 'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'budget_reset_at'] as const;

export function hasBudgetFields(changes: BudgetChanges): boolean {
  return BUDGET_FIELDS.some((f) => changes[f] !== undefined && changes[f] !== null);
}

export class BudgetAdmin {
  constructor(private readonly tenancy: Tenancy) {}

  /**
   * A new row. Without `budget_reset_at`, a row with a `budget_duration` first resets one duration
   * after it is created (what LiteLLM's /customer/new stores and its test_budget_management.py
   * checks); later periods are calendar periods (see PeriodClock.end).
   */
  async create(budgetId: string | undefined, changes: BudgetChanges, actor: string): Promise<BudgetRecord> {
    const now = this.tenancy.now();
    const id = budgetId ?? randomUUID();
    const record: BudgetRecord = {
      budget_id: id,
      max_budget_nano: changes.max_budget_nano ?? null,
      soft_budget_nano: changes.soft_budget_nano ?? null,
      budget_duration: changes.budget_duration ?? null,
      model_max_budget: changes.model_max_budget ?? {},
      tpm_limit: changes.tpm_limit ?? null,
      rpm_limit: changes.rpm_limit ?? null,
      max_parallel_requests: changes.max_parallel_requests ?? null,
      budget_reset_at: changes.budget_reset_at ?? firstReset(changes.budget_duration ?? null, now),
      allowed_models: changes.allowed_models ?? [],
      created_at: now,
      created_by: actor,
      updated_at: now,
      updated_by: actor,
    };
    if (!(await this.tenancy.stores.budgetTable.insert(record))) throw badRequest(`Budget with id '${id}' already exists.`, 'budget_id');
    this.tenancy.putBudget(record);
    return record;
  }

  async get(budgetId: string): Promise<BudgetRecord | undefined> {
    return this.tenancy.stores.budgetTable.get(budgetId);
  }

  /** The row, or a 400 naming `field` (a link to a budget that does not exist is the caller's mistake). */
  async requireLink(budgetId: string, field = 'budget_id'): Promise<BudgetRecord> {
    const row = await this.get(budgetId);
    if (row === undefined) throw badRequest(`${field}: no budget with budget_id=${budgetId}. Create it with /budget/new first.`, field);
    return row;
  }

  async update(budgetId: string, changes: BudgetChanges, actor: string): Promise<BudgetRecord> {
    const existing = await this.get(budgetId);
    if (existing === undefined) throw notFound(`Budget with id '${budgetId}' not found.`, 'budget_id');
    const next: BudgetRecord = { ...existing, updated_at: this.tenancy.now(), updated_by: actor };
    for (const [field, value] of Object.entries(changes) as [keyof BudgetChanges, unknown][]) {
      if (value !== undefined) (next as unknown as Record<string, unknown>)[field] = field === 'model_max_budget' && value === null ? {} : field === 'allowed_models' && value === null ? [] : value;
    }
    await this.tenancy.stores.budgetTable.update(next);
    this.tenancy.putBudget(next);
    return next;
  }

  async find(budgetIds: readonly string[]): Promise<BudgetRecord[]> {
    return this.tenancy.stores.budgetTable.find({ budgetIds });
  }

  async list(): Promise<BudgetRecord[]> {
    return this.tenancy.stores.budgetTable.find({});
  }

  /**
   * A team member's budget within the team (`max_budget_in_team` on /team/member_add and
   * /team/member_update): the membership's budget row is updated, or one is created and linked.
   */
  async setTeamMemberBudget(teamId: string, userId: string, maxBudgetNano: number, actor: string): Promise<TeamMembershipRecord> {
    const store = this.tenancy.stores.teamMemberships;
    const existing = await store.get(teamId, userId);
    const row = existing?.budget_id === null || existing?.budget_id === undefined ? undefined : await this.get(existing.budget_id);
    const budgetId = row === undefined ? (await this.create(undefined, { max_budget_nano: maxBudgetNano }, actor)).budget_id : (await this.update(row.budget_id, { max_budget_nano: maxBudgetNano }, actor)).budget_id;
    const next: TeamMembershipRecord = { user_id: userId, team_id: teamId, budget_id: budgetId, updated_at: this.tenancy.now() };
    if (existing === undefined) await store.insert(next);
    else await store.update(next);
    this.tenancy.putTeamMembership(next);
    return next;
  }

  async delete(budgetId: string): Promise<BudgetRecord> {
    const existing = await this.get(budgetId);
    if (existing === undefined) throw notFound(`Budget with id '${budgetId}' not found.`, 'id');
    await this.tenancy.stores.budgetTable.delete([budgetId], this.tenancy.now());
    this.tenancy.drop('budget', [budgetId]);
    return existing;
  }
}

function firstReset(duration: string | null, now: number): number | null {
  if (duration === null) return null;
  const parsed = parseDuration(duration);
  return parsed === undefined ? null : addDuration(now, parsed);
}
