/**
 * Spend settled in this process and not yet written to the store, per (scope, budget period), and
 * soft-budget crossings not yet claimed. `Tenancy` drains both on its flush tick; a failed write
 * puts the deltas back, so a database outage delays spend persistence rather than losing it.
 */

export interface SoftBudgetCrossing {
  scope: string;
  periodEnd: number;
  softBudgetNano: number;
  spendNano: number;
}

export interface SpendDelta {
  scope: string;
  period_end: number;
  delta_nano: number;
}

export class SpendLedger {
  private pending = new Map<string, SpendDelta>();
  private crossings: SoftBudgetCrossing[] = [];

  add(scope: string, periodEnd: number, nano: number): void {
    if (nano === 0) return;
    const id = ledgerId(scope, periodEnd);
    const entry = this.pending.get(id);
    if (entry === undefined) this.pending.set(id, { scope, period_end: periodEnd, delta_nano: nano });
    else entry.delta_nano += nano;
  }

  /** Spend of (scope, period) settled here but not yet in the store. */
  unflushed(scope: string, periodEnd: number): number {
    return this.pending.get(ledgerId(scope, periodEnd))?.delta_nano ?? 0;
  }

  drain(): SpendDelta[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  /** Put back deltas whose write failed (added to whatever was settled meanwhile). */
  restore(deltas: readonly SpendDelta[]): void {
    for (const d of deltas) this.add(d.scope, d.period_end, d.delta_nano);
  }

  crossed(crossing: SoftBudgetCrossing): void {
    this.crossings.push(crossing);
  }

  drainCrossings(): SoftBudgetCrossing[] {
    const out = this.crossings;
    this.crossings = [];
    return out;
  }

  restoreCrossings(list: readonly SoftBudgetCrossing[]): void {
    this.crossings.unshift(...list);
  }

  get size(): number {
    return this.pending.size;
  }
}

function ledgerId(scope: string, periodEnd: number): string {
  return `${scope}\u0000${periodEnd}`;
}
