/**
 * A team member's budget within the team (`max_budget_in_team` on `/team/member_add` and
 * `/team/member_update`), kept as LiteLLM keeps it: a `LiteLLM_BudgetTable` row linked from the
 * member's `LiteLLM_TeamMembership` row (litellm/proxy/management_endpoints/team_endpoints.py
 * `team_member_update`). Admission enforces it through the membership (src/policy/budget-links.ts).
 */
import { teamMemberId } from '../scopes.js';
import type { Tenancy } from '../tenancy.js';
import { MASTER_KEY_USER_ID } from '../virtual-keys.js';
import type { BudgetAdmin } from './budgets.js';

export class MemberBudgets {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly budgets: BudgetAdmin,
  ) {}

  /** Sets (creating the budget row and the membership row when missing) the member's max budget. */
  async setMaxBudget(teamId: string, userId: string, maxBudgetNano: number, actor: string): Promise<void> {
    await this.budgets.setTeamMemberBudget(teamId, userId, maxBudgetNano, actor === '' ? MASTER_KEY_USER_ID : actor);
  }

  /** LiteLLM's `team_memberships` entries of a user in a team: spend and the linked budget row (USD). */
  async memberships(teamId: string, userId: string): Promise<Record<string, unknown>[]> {
    const m = this.tenancy.teamMemberships.get(`${teamId}:${userId}`) ?? (await this.tenancy.stores.teamMemberships.get(teamId, userId));
    if (m === undefined) return [];
    const budget = m.budget_id === null ? undefined : (this.tenancy.budgets.get(m.budget_id) ?? (await this.budgets.get(m.budget_id)));
    const spend = await this.tenancy.spendOf('team_member', teamMemberId(teamId, userId), budget?.budget_duration ?? null);
    return [
      {
        team_id: teamId,
        user_id: userId,
        budget_id: m.budget_id,
        spend: spend / 1e9,
        litellm_budget_table:
          budget === undefined
            ? null
            : {
                budget_id: budget.budget_id,
                max_budget: budget.max_budget_nano === null ? null : budget.max_budget_nano / 1e9,
                soft_budget: budget.soft_budget_nano === null ? null : budget.soft_budget_nano / 1e9,
                budget_duration: budget.budget_duration,
                tpm_limit: budget.tpm_limit,
                rpm_limit: budget.rpm_limit,
                max_parallel_requests: budget.max_parallel_requests,
              },
      },
    ];
  }
}

