/**
 * Spend settled in this process and not yet written to the store, per (scope, budget period), and
 * soft-budget crossings not yet claimed. `Tenancy` writes spend in batches on its flush tick: a
 * batch keeps its id and its deltas until the store confirms it, so a write whose outcome is
 * unknown (the commit happened, the answer was lost) is retried as the same batch, which the store
 * applies once. A database outage delays spend persistence; it neither loses nor doubles it.
 */
import { randomUUID } from 'node:crypto';

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

export interface SpendBatch {
  id: string;
  deltas: SpendDelta[];
}

export class SpendLedger {
  private pending = new Map<string, SpendDelta>();
  /** The batch written and not yet confirmed. */
  private held: SpendBatch | undefined;
  private crossings: SoftBudgetCrossing[] = [];

  add(scope: string, periodEnd: number, nano: number): void {
    if (nano === 0) return;
    const id = ledgerId(scope, periodEnd);
    const entry = this.pending.get(id);
    if (entry === undefined) this.pending.set(id, { scope, period_end: periodEnd, delta_nano: nano });
    else entry.delta_nano += nano;
  }

  /** Spend of (scope, period) settled here but not yet confirmed in the store. */
  unflushed(scope: string, periodEnd: number): number {
    let nano = this.pending.get(ledgerId(scope, periodEnd))?.delta_nano ?? 0;
    for (const d of this.held?.deltas ?? []) if (d.scope === scope && d.period_end === periodEnd) nano += d.delta_nano;
    return nano;
  }

  /** What to write now: the unconfirmed batch again (same id, same deltas), else a new one of what is pending. */
  batch(): SpendBatch | undefined {
    if (this.held === undefined) {
      if (this.pending.size === 0) return undefined;
      this.held = { id: randomUUID(), deltas: [...this.pending.values()] };
      this.pending = new Map();
    }
    return this.held;
  }

  /** The store has the batch: it is no longer this process's to write. */
  confirm(id: string): void {
    if (this.held?.id === id) this.held = undefined;
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
    return this.pending.size + (this.held?.deltas.length ?? 0);
  }
}

function ledgerId(scope: string, periodEnd: number): string {
  return `${scope}\u0000${periodEnd}`;
}

/** A nano-USD total as LiteLLM's `spend` column reads back after writeBack stored `nano / 1e9`. */
export function asColumn(nano: number): number {
  return Math.round((nano / 1e9) * 1e9);
}

interface ColumnMark {
  scope: string;
  periodEnd: number;
  /** nano-USD, rounded as the column reads back. */
  nano: number;
}

/**
 * The `spend` value Tollgate last seeded from, wrote into, or confirmed in each entity row, per
 * budget period. A refresh that reads anything else in the column has found a write by another
 * tool or instance (`Tenancy` then checks which in one transaction). A model scope's column is its
 * entry in the row's `model_spend` (`<scope>:model:<name>`), checked the same way.
 *
 * After each check every mark agrees with its column, so the next check need only look at the
 * scopes marked since (`dirty`) and those whose row changed; a full check runs when periods or
 * budget links may have moved.
 */
export class ColumnMarks {
  private readonly marks = new Map<string, ColumnMark>();
  /** Scopes marked or forgotten since the last check. */
  private dirty = new Set<string>();

  mark(scope: string, periodEnd: number, spendNano: number): void {
    this.marks.set(ledgerId(scope, periodEnd), { scope, periodEnd, nano: asColumn(spendNano) });
    this.dirty.add(scope);
  }

  forget(scope: string, periodEnd: number): void {
    this.marks.delete(ledgerId(scope, periodEnd));
  }

  /**
   * The marked scopes whose row (`columnOf`: the row's spend, 0 when it has none or is gone, as
   * after a reset) no longer reads as marked and does not hold the store's counter either (which
   * would be another instance's write-back, simply re-marked). Marks of ended periods, deleted
   * entities or changed budget durations (`periodOf` disagrees) are dropped. `changed` limits the
   * check to those scopes (plus the ones marked since the last check); undefined checks all.
   */
  suspects(
    columnOf: (scope: string) => number,
    counters: readonly { scope: string; period_end: number; spend_nano: number }[],
    now: number,
    periodOf: (scope: string) => number | undefined,
    changed?: Iterable<string>,
  ): { scope: string; period_end: number }[] {
    const stored = new Map(counters.map((r) => [ledgerId(r.scope, r.period_end), r.spend_nano]));
    const out: { scope: string; period_end: number }[] = [];
    const scopes = changed === undefined ? undefined : new Set([...this.dirty, ...changed]);
    this.dirty = new Set();
    // Deleting the entry being visited is safe in a Map iteration.
    for (const [id, m] of this.marks) {
      if (scopes !== undefined && !scopes.has(m.scope)) continue;
      if ((m.periodEnd !== 0 && m.periodEnd <= now) || periodOf(m.scope) !== m.periodEnd) {
        this.marks.delete(id);
        continue;
      }
      const seen = columnOf(m.scope);
      if (seen === m.nano) continue;
      const counter = stored.get(id);
      if (counter !== undefined && asColumn(counter) === seen) m.nano = seen;
      else out.push({ scope: m.scope, period_end: m.periodEnd });
    }
    return out;
  }
}
