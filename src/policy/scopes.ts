/**
 * Names of budget scopes and of the shared-state counters kept for them. A scope is who spends
 * (`key:<sha256>`, `user:<id>`, `team:<id>`, `customer:<id>`, `org:<id>`,
 * `team_member:<team_id>/<user_id>`, and `<scope>:model:<name>` for a per-model budget); a counter
 * key adds the budget period or rate-limit window it counts.
 */
import { parseDuration, periodEnd, type ParsedDuration } from './budget-period.js';

export type EntityKind = 'key' | 'user' | 'team' | 'customer' | 'org' | 'team_member';

export function scopeOf(kind: EntityKind, id: string): string {
  return `${kind}:${id}`;
}

/** A user's spend inside one team (LiteLLM_TeamMembership), which a team-member budget limits. */
export function teamMemberId(teamId: string, userId: string): string {
  return `${teamId}/${userId}`;
}

export function modelScope(scope: string, model: string): string {
  return `${scope}:model:${model}`;
}

/** Settled spend (nano-USD) of a scope in one budget period (0 = a budget that never resets). */
export function spendCounter(scope: string, periodEnd: number): string {
  return `spend:${scope}@${periodEnd}`;
}

/** Worst-case cost reserved by admitted requests not settled yet. */
export function reservedCounter(scope: string, periodEnd: number): string {
  return `resv:${scope}@${periodEnd}`;
}

export function windowCounter(kind: 'rpm' | 'tpm', scope: string, windowStart: number): string {
  return `${kind}:${scope}@${windowStart}`;
}

export const RATE_WINDOW_MS = 60_000;

/**
 * When a period's counters may be dropped from shared state: an hour after the period ends (late
 * settlements still land), never for budgets that do not reset. Without this, short periods
 * (`30s`) would leave a counter behind every period.
 */
export function periodCounterExpiry(periodEnd: number): number | undefined {
  return periodEnd === 0 ? undefined : periodEnd + 3_600_000;
}

/**
 * Budget period ends, cached per duration: a period's end stays valid from the moment it is
 * computed until it passes, so the hot path formats dates once per period, not per request.
 */
export class PeriodClock {
  private readonly cache = new Map<string, { from: number; end: number }>();

  constructor(readonly timeZone: string) {}

  /**
   * End of the current period of `duration` (0 when there is none or it cannot be parsed).
   * `firstEnd` is a stored reset instant (LiteLLM_BudgetTable.budget_reset_at): while it is still
   * ahead, the period ends there; after it, periods are calendar periods — what LiteLLM's reset job
   * does (it resets at the stored instant, then stores the next calendar boundary).
   */
  end(duration: string | null, now: number, firstEnd?: number | null): number {
    if (duration === null) return 0;
    if (firstEnd !== undefined && firstEnd !== null && firstEnd > now && parseDuration(duration) !== undefined) return firstEnd;
    const hit = this.cache.get(duration);
    if (hit !== undefined && now >= hit.from && now < hit.end) return hit.end;
    const parsed: ParsedDuration | undefined = parseDuration(duration);
    if (parsed === undefined) return 0;
    const end = periodEnd(parsed, now, this.timeZone);
    this.cache.set(duration, { from: now, end });
    return end;
  }
}
