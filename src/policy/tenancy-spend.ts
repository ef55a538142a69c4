/**
 * LiteLLM's `spend` columns and Tollgate's budget counters, kept in step by the tenancy refresh:
 *
 * - A row's `spend` seeds the counter of the entity's current period when Tollgate has none yet
 *   (a LiteLLM-made key with spend 3.2 is served with 3.2).
 * - A `spend` another tool rewrote (LiteLLM's UI or reset job, an operator's UPDATE) is adopted
 *   instead of being overwritten by the next flush (`adoptOutsideSpend`), as LiteLLM itself would
 *   honour it after its cache TTL.
 *
 * The columns are known from the change feed: each read lists the spend of every row it read, so
 * the map here always holds what the table holds. Only the scopes whose row changed are looked
 * at, except when every entity's period may have moved (a period ended, a budget tier or link
 * changed, the first read, or a failed step): then all are, a slice at a time.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { SharedState } from '../storage/shared-state.js';
import type { BudgetCounterRow, BudgetCounterStore, EntitySpend, TenancyChanges } from '../storage/tenancy-ports.js';
import { periodCounterExpiry, spendCounter } from './scopes.js';
import { ColumnMarks, type SpendLedger } from './spend-ledger.js';

export interface SpendLogger {
  info(obj: object, msg: string): void;
}

/** Entities looked at between two turns of the event loop in a full pass. */
const SLICE = 2000;

type Counter = { scope: string; period_end: number; spend_nano: number };

export class SpendColumns {
  /** What each entity row's `spend` should read, as far as this instance knows. */
  readonly columns = new ColumnMarks();
  /** Rows with spend > 0, by scope (absent: 0 or NULL). */
  private readonly spend = new Map<string, EntitySpend>();
  /** Counters already seeded from LiteLLM's `spend` (`scope\0period_end`). */
  private readonly seeded = new Set<string>();
  /** Earliest end of a period seen in the last full pass: past it, the next pass is full again. */
  private nextPeriodEnd = 0;
  private fullDue = true;

  constructor(
    private readonly budgets: BudgetCounterStore,
    private readonly state: SharedState,
    private readonly ledger: SpendLedger,
    private readonly logger: SpendLogger,
    /** The current period end of an entity scope (undefined: no such entity). */
    private readonly periodOf: (scope: string, now: number) => number | undefined,
    /** The stored reset instant of the budget tier whose period the entity's is (null: none). */
    private readonly tierResetAt: (scope: string) => number | null = () => null,
  ) {}

  /** Take the spend the feed read; returns the scopes whose row was read or is gone. */
  take(changes: TenancyChanges): string[] {
    if (changes.full) this.spend.clear();
    const scopes: string[] = [];
    for (const e of changes.entitySpend) {
      scopes.push(e.scope);
      if (e.spend_nano > 0) this.spend.set(e.scope, e);
      else this.spend.delete(e.scope);
    }
    for (const scope of changes.spendGone) {
      scopes.push(scope);
      this.spend.delete(scope);
    }
    return scopes;
  }

  /** Whether this refresh must look at every entity (`budgetLinksChanged`: periods may have moved). */
  fullPass(now: number, budgetLinksChanged: boolean): boolean {
    return this.fullDue || budgetLinksChanged || (this.nextPeriodEnd !== 0 && now >= this.nextPeriodEnd);
  }

  /**
   * Seed and adopt for `scopes` (every entity when undefined). A failure leaves the next refresh
   * a full pass, so nothing it skipped is forgotten.
   */
  async reconcile(counters: readonly BudgetCounterRow[], now: number, scopes: readonly string[] | undefined): Promise<void> {
    this.fullDue = true;
    await this.seed(now, scopes);
    await this.adoptOutsideSpend(counters, now, scopes);
    this.fullDue = false;
  }

  /** Mark what the store's current counters hold (at start, before anything is compared). */
  markAll(rows: readonly BudgetCounterRow[]): void {
    for (const row of rows) this.columns.mark(row.scope, row.period_end, row.spend_nano);
  }

  /**
   * Counters for entities whose LiteLLM row carries spend Tollgate has not counted yet: the row's
   * `spend` becomes the current period's counter (only where none exists, so every instance agrees).
   * A row whose stored `budget_reset_at` has passed holds an ended period's spend: nothing is seeded.
   * So does a row whose period is its budget tier's when the tier's has passed (LiteLLM's reset job,
   * and Tollgate's first flush of the next period, move it on and zero the linked rows).
   */
  async seed(now: number, scopes?: readonly string[]): Promise<void> {
    const rows: Counter[] = [];
    const entries = scopes === undefined ? [...this.spend.values()] : scopes.map((s) => this.spend.get(s)).filter((e) => e !== undefined);
    if (scopes === undefined) this.nextPeriodEnd = 0;
    for (const [i, e] of entries.entries()) {
      if (i > 0 && i % SLICE === 0) await yieldLoop();
      const resetAt = e.budget_reset_at ?? this.tierResetAt(e.scope);
      if (resetAt !== null && resetAt <= now) continue;
      const period = this.periodOf(e.scope, now);
      if (period === undefined) continue;
      if (period !== 0 && (this.nextPeriodEnd === 0 || period < this.nextPeriodEnd)) this.nextPeriodEnd = period;
      const id = `${e.scope}\u0000${period}`;
      if (this.seeded.has(id)) continue;
      this.seeded.add(id);
      rows.push({ scope: e.scope, period_end: period, spend_nano: e.spend_nano });
    }
    if (rows.length === 0) return;
    await this.budgets.seed(rows, now);
    const stored = await this.budgets.current(now);
    const wanted = new Set(rows.map((r) => `${r.scope}\u0000${r.period_end}`));
    const entriesToSet = stored
      .filter((r) => wanted.has(`${r.scope}\u0000${r.period_end}`))
      .map((r) => {
        this.columns.mark(r.scope, r.period_end, r.spend_nano);
        return this.entry(r);
      });
    if (this.state.shared) {
      const existing = await this.state.get(entriesToSet.map((e) => e.key));
      await this.state.set(entriesToSet.filter((_e, i) => existing[i] === 0));
    } else if (entriesToSet.length > 0) await this.state.set(entriesToSet);
  }

  /** The store's spend (every instance's flushed spend) plus this instance's unflushed spend. */
  async loadCounters(rows: readonly BudgetCounterRow[], now: number): Promise<void> {
    const entries = rows.filter((r) => r.period_end === 0 || r.period_end > now).map((r) => this.entry(r));
    if (entries.length > 0) await this.state.set(entries);
  }

  /**
   * A row whose `spend` is not what this instance last wrote there was written by someone else.
   * When it equals the store's counter it was another instance's write-back; otherwise the store
   * checks row and counter in one transaction (`reconcile`, which also settles a race with another
   * instance's flush) and, if they differ, the counter takes the column. Admission then counts the
   * column plus this instance's unflushed spend at once. Runs inside `sync()`, after this
   * instance's flush, so its own write-back is always marked before the columns are compared.
   */
  async adoptOutsideSpend(counters: readonly BudgetCounterRow[], now: number, scopes?: readonly string[]): Promise<void> {
    const suspects = this.columns.suspects((scope) => this.spend.get(scope)?.spend_nano ?? 0, counters, now, (scope) => this.periodOf(scope, now), scopes);
    if (suspects.length === 0) return;
    const results = await this.budgets.reconcile(suspects, now);
    // A suspect the store did not answer for has no row any more: its mark goes.
    for (const x of suspects) this.columns.forget(x.scope, x.period_end);
    for (const r of results) this.columns.mark(r.scope, r.period_end, r.spend_nano);
    await this.adopt(results.filter((r) => r.changed));
  }

  /** Counters the store took from an entity row's `spend`: admission counts them (plus what is unflushed here) at once. */
  async adopt(rows: readonly Counter[]): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) this.logger.info({ scope: r.scope, spend: r.spend_nano / 1e9 }, "tenancy: spend written into LiteLLM's table by another tool adopted");
    await this.state.set(rows.map((r) => this.entry(r)));
  }

  private entry(r: Counter): { key: string; value: number; expiresAt: number | undefined } {
    return { key: spendCounter(r.scope, r.period_end), value: r.spend_nano + this.ledger.unflushed(r.scope, r.period_end), expiresAt: periodCounterExpiry(r.period_end) };
  }
}
