/**
 * Which budgets and rate limits a call counts against, and with what settings: LiteLLM's
 * resolution, from the in-process records only (no I/O).
 *
 * - A key's own settings, with its `budget_id` row (LiteLLM_BudgetTable) applied over them: a row
 *   value that is set wins, the row's `model_max_budget` only when the key has none
 *   (LiteLLM_VerificationTokenView in litellm/proxy/_types.py).
 * - The key's user (personal budget), its team, the user's membership in that team (the membership's
 *   `budget_id`: `max_budget_in_team`, team-member rpm/tpm), and the organization of the key or else
 *   of its team (the organization's `budget_id` row) — litellm/proxy/auth/auth_checks.py
 *   `common_checks`, `_check_team_member_budget`, `_organization_max_budget_check`.
 * - The end user (`user` in the body): its own settings with its `budget_id` row applied, or
 *   `litellm_settings.max_end_user_budget` when it has no budget (user_api_key_auth.py).
 *
 * Refusal wording is LiteLLM's per entity; each line also names the counter scope its spend goes to.
 */
import type { BudgetSettings, CustomerRecord, KeyRecord, ModelBudget, TeamRecord } from '../storage/tenancy-ports.js';
import { modelScope, scopeOf, teamMemberId } from './scopes.js';
import type { Tenancy } from './tenancy.js';

/** A LiteLLM_BudgetTable row as admission needs it. */
export interface BudgetRow extends BudgetSettings {
  budget_id: string;
  /** The stored end of the row's first period (epoch ms); null = calendar periods from the start. */
  budget_reset_at: number | null;
}

export interface BudgetLine {
  scope: string;
  maxNano: number | null;
  softNano: number | null;
  duration: string | null;
  /** A stored first reset instant the period ends at while it is ahead (see PeriodClock.end). */
  firstEnd: number | null;
  periodEnd: number;
  reserved: number;
  refusal: (spendUsd: number, maxUsd: number) => string;
}

export type Descriptor = 'api_key' | 'user' | 'team' | 'team_member' | 'organization' | 'end_user' | 'model_per_key';

export interface RateScope {
  descriptor: Descriptor;
  value: string;
  scope: string;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
}

export interface Applicable {
  lines: BudgetLine[];
  rates: RateScope[];
}

type Settings = Pick<BudgetSettings, 'max_budget_nano' | 'soft_budget_nano' | 'budget_duration'> & { firstEnd?: number | null | undefined };

const NONE: BudgetSettings = { max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null };

/** An entity's settings with its budget row applied over them (a set row value wins). */
export function withBudget(own: BudgetSettings, row: BudgetRow | undefined): BudgetSettings & { firstEnd: number | null } {
  if (row === undefined) return { ...pickSettings(own), firstEnd: null };
  return {
    max_budget_nano: row.max_budget_nano ?? own.max_budget_nano,
    soft_budget_nano: row.soft_budget_nano ?? own.soft_budget_nano,
    budget_duration: row.budget_duration ?? own.budget_duration,
    model_max_budget: Object.keys(own.model_max_budget).length > 0 ? own.model_max_budget : row.model_max_budget,
    tpm_limit: row.tpm_limit ?? own.tpm_limit,
    rpm_limit: row.rpm_limit ?? own.rpm_limit,
    max_parallel_requests: row.max_parallel_requests ?? own.max_parallel_requests,
    // The row's stored reset instant only governs a period that is the row's own.
    firstEnd: row.budget_duration !== null ? row.budget_reset_at : null,
  };
}

function pickSettings(s: BudgetSettings): BudgetSettings {
  return {
    max_budget_nano: s.max_budget_nano,
    soft_budget_nano: s.soft_budget_nano,
    budget_duration: s.budget_duration,
    model_max_budget: s.model_max_budget,
    tpm_limit: s.tpm_limit,
    rpm_limit: s.rpm_limit,
    max_parallel_requests: s.max_parallel_requests,
  };
}

/** A string field that is a first-class column on newer records and sat in `extra` on older ones. */
export function linkField(record: { extra: Record<string, unknown> }, field: 'budget_id' | 'organization_id'): string | null {
  const direct = (record as unknown as Record<string, unknown>)[field];
  if (typeof direct === 'string' && direct !== '') return direct;
  const extra = record.extra[field];
  return typeof extra === 'string' && extra !== '' ? extra : null;
}

export class BudgetResolver {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly maxEndUserBudgetNano: number | undefined,
  ) {}

  budget(id: string | null): BudgetRow | undefined {
    return id === null ? undefined : this.tenancy.budgets.get(id);
  }

  /** The organization a key's spend also counts against: the key's own, else its team's. */
  organizationOf(key: KeyRecord, team: TeamRecord | undefined): string | null {
    return linkField(key, 'organization_id') ?? (team === undefined ? null : linkField(team, 'organization_id'));
  }

  /** A key's effective settings: its own with its tier applied (what its x-litellm-key-* headers show). */
  keySettings(key: KeyRecord): BudgetSettings & { firstEnd: number | null } {
    return withBudget(key, this.budget(linkField(key, 'budget_id')));
  }

  /** Every budget line (the key's own first) and rate scope of a call. */
  resolve(key: KeyRecord | undefined, endUser: string | undefined, model: string, now: number): Applicable {
    const lines: BudgetLine[] = [];
    const rates: RateScope[] = [];
    const clock = this.tenancy.clock;
    const add = (scope: string, s: Settings, refusal: BudgetLine['refusal']): void => {
      const firstEnd = s.firstEnd ?? null;
      lines.push({ scope, maxNano: s.max_budget_nano, softNano: s.soft_budget_nano, duration: s.budget_duration, firstEnd, periodEnd: clock.end(s.budget_duration, now, firstEnd), reserved: 0, refusal });
    };
    const addModel = (scope: string, owner: Settings, budget: ModelBudget | undefined, refusal: BudgetLine['refusal']): void => {
      if (budget === undefined) return;
      const own = budget.budget_duration !== null;
      add(modelScope(scope, model), { max_budget_nano: budget.max_budget_nano, soft_budget_nano: null, budget_duration: budget.budget_duration ?? owner.budget_duration, firstEnd: own ? null : owner.firstEnd }, refusal);
    };
    const rate = (descriptor: Descriptor, value: string, scope: string, l: Pick<BudgetSettings, 'rpm_limit' | 'tpm_limit' | 'max_parallel_requests'>): void => {
      if (l.rpm_limit !== null || l.tpm_limit !== null || l.max_parallel_requests !== null) rates.push({ descriptor, value, scope, rpm: l.rpm_limit, tpm: l.tpm_limit, parallel: l.max_parallel_requests });
    };

    if (key !== undefined) {
      const scope = scopeOf('key', key.token);
      const k = this.keySettings(key);
      add(scope, k, (spend, max) => `Budget has been exceeded! Current cost: ${spend}, Max budget: ${max}`);
      addModel(scope, k, k.model_max_budget[model], (spend, max) => `LiteLLM Virtual Key: ${key.token}, key_alias: ${key.key_alias ?? 'None'}, exceeded budget for model=${model}. Current cost: ${spend}, Max budget: ${max}`);
      rate('api_key', key.token, scope, k);

      const user = key.user_id === null ? undefined : this.tenancy.users.get(key.user_id);
      if (key.user_id !== null) {
        const userId = key.user_id;
        const u = user ?? NONE;
        const userScope = scopeOf('user', userId);
        // A user's personal budget limits only its personal keys; on a team key the team-member
        // budget applies instead (auth_checks.common_checks 4.1 / 4.2). Its spend counts either way.
        const personal = key.team_id === null ? u.max_budget_nano : null;
        add(userScope, { ...u, max_budget_nano: personal }, (spend, max) => `ExceededBudget: User=${userId} over budget. Spend=${spend}, Budget=${max}`);
        if (user !== undefined) {
          addModel(userScope, u, user.model_max_budget[model], (spend, max) => `ExceededBudget: User=${userId} exceeded budget for model=${model}. Spend=${spend}, Budget=${max}`);
          rate('user', userId, userScope, user);
        }
      }

      const team = key.team_id === null ? undefined : this.tenancy.teams.get(key.team_id);
      if (key.team_id !== null) {
        const teamId = key.team_id;
        const t = team === undefined ? { ...NONE, firstEnd: null } : withBudget(team, this.budget(linkField(team, 'budget_id')));
        const teamScope = scopeOf('team', teamId);
        add(teamScope, t, (spend, max) => `Budget has been exceeded! Team=${teamId} Current cost: ${spend}, Max budget: ${max}`);
        if (team !== undefined) {
          addModel(teamScope, t, t.model_max_budget[model], (spend, max) => `Budget has been exceeded! Team=${teamId} exceeded budget for model=${model}. Current cost: ${spend}, Max budget: ${max}`);
          rate('team', teamId, teamScope, t);
        }
        if (key.user_id !== null) this.teamMember(teamId, key.user_id, add, rate);
      }

      const orgId = this.organizationOf(key, team);
      if (orgId !== null) this.organization(orgId, add, rate);

      rate('model_per_key', `${key.token}:${model}`, modelScope(scope, model), { rpm_limit: key.model_rpm_limit[model] ?? null, tpm_limit: key.model_tpm_limit[model] ?? null, max_parallel_requests: null });
    }

    if (endUser !== undefined) {
      const customer = this.tenancy.customers.get(endUser);
      const c = customer === undefined ? { ...NONE, firstEnd: null } : this.customerSettings(customer);
      const scope = scopeOf('customer', endUser);
      const max = c.max_budget_nano ?? this.maxEndUserBudgetNano ?? null;
      add(scope, { ...c, max_budget_nano: max }, (spend, budget) => `ExceededBudget: End User=${endUser} over budget. Spend=${spend}, Budget=${budget}`);
      if (customer !== undefined) {
        addModel(scope, c, c.model_max_budget[model], (spend, budget) => `ExceededBudget: End User=${endUser} exceeded budget for model=${model}. Spend=${spend}, Budget=${budget}`);
        rate('end_user', endUser, scope, c);
      }
    }
    return { lines, rates };
  }

  /** A customer's effective settings: its own, with its budget tier (`budget_id`) applied. */
  customerSettings(customer: CustomerRecord): BudgetSettings & { firstEnd: number | null } {
    return withBudget(customer, this.budget(linkField(customer, 'budget_id')));
  }

  private teamMember(teamId: string, userId: string, add: (scope: string, s: Settings, refusal: BudgetLine['refusal']) => void, rate: (d: Descriptor, v: string, scope: string, l: BudgetSettings) => void): void {
    const membership = this.tenancy.teamMemberships.get(`${teamId}:${userId}`);
    const row = membership === undefined ? undefined : this.budget(membership.budget_id);
    if (row === undefined) return;
    const scope = scopeOf('team_member', teamMemberId(teamId, userId));
    const s = withBudget(NONE, row);
    add(scope, s, (spend, max) => `Budget has been exceeded! User=${userId} in Team=${teamId} Current cost: ${spend}, Max budget: ${max}`);
    rate('team_member', `${teamId}:${userId}`, scope, s);
  }

  private organization(orgId: string, add: (scope: string, s: Settings, refusal: BudgetLine['refusal']) => void, rate: (d: Descriptor, v: string, scope: string, l: BudgetSettings) => void): void {
    const org = this.tenancy.organizations.get(orgId);
    const s = withBudget(NONE, org === undefined ? undefined : this.budget(org.budget_id));
    const scope = scopeOf('org', orgId);
    // LiteLLM skips an organization budget of 0 or less (auth_checks._organization_max_budget_check).
    const max = s.max_budget_nano !== null && s.max_budget_nano > 0 ? s.max_budget_nano : null;
    add(scope, { ...s, max_budget_nano: max }, (spend, budget) => `Budget has been exceeded! Organization=${orgId} Current cost: ${spend}, Max budget: ${budget}`);
    rate('organization', orgId, scope, s);
  }
}
