/**
 * The fold: moves calls from the ingest table (spend-ingest.ts) into `tollgate_call_details`,
 * `LiteLLM_SpendLogs` and LiteLLM's daily tables, in slices short enough that the event loop is
 * never held for long. On SQLite (better-sqlite3 is synchronous) a slice is one synchronous block,
 * so its size adapts to a time budget of ~1 ms, measured around every slice; on Postgres the
 * driver is asynchronous and slices are bigger. Slices are separated by `setImmediate`, so
 * requests are served between them.
 *
 * Each slice is one transaction: take the oldest ingest rows, write their details (the call_id
 * ledger skips calls already written, as before) and spend log rows, sum their daily additions
 * per (table, entity, day, key, model, provider, endpoint) into `tollgate_spend_daily_pending`, and
 * delete the ingest rows. Then the daily step merges many slices' pending sums and adds them to the
 * daily tables — one UPDATE per daily row however many calls it sums — and deletes the pending
 * rows it added, in the same transaction. Either step may be cut off anywhere: what it consumed
 * and what it wrote commit together, so nothing is lost and nothing is counted twice.
 *
 * A slice that fails is retried one row at a time; a row that fails on its own while the database
 * answers is parked (kept, marked, no longer retried) rather than blocking every call after it.
 */
import type { Kysely } from 'kysely';
import type { DatabaseDialect, DrainResult, SpendLogRow } from '../ports.js';
import { AdditionMerger, applyDailyAdditions, dailyAdditions, type DailyAddition } from './spend-daily.js';
import { DAILY_PENDING, decodePayload, INGEST, IngestStatements } from './spend-ingest.js';
import { num, numOrNull, text, type ColumnCatalog, type LooseRow, type SpendSchema } from './spend-tables.js';
import { dailyInputs, loadShapes, writeLogRows, type WriteShapes } from './spend-write.js';


interface Budget {
  /** Wall-clock budget of one slice, ms. */
  ms: number;
  /** Bounds on the adaptive size. */
  min: number;
  max: number;
  start: number;
}

/** SQLite: each slice blocks the event loop for its whole duration. Postgres: mostly waiting on the network. */
// The floor keeps the fold ahead of the appends when the machine is busy (a slice's fixed cost is
// a few statements; one row per slice could not keep up with a loaded gateway).
const SLICE: Record<DatabaseDialect, Budget> = { sqlite: { ms: 1, min: 8, max: 200, start: 32 }, postgres: { ms: 25, min: 8, max: 500, start: 100 } };
/** The daily step, sized in daily rows added to (each an UPDATE or a row of an INSERT). */
const DAILY: Record<DatabaseDialect, Budget> = { sqlite: { ms: 1, min: 16, max: 500, start: 64 }, postgres: { ms: 25, min: 16, max: 1000, start: 200 } };
/** Additions per pending row: a daily step takes whole pending rows, so this bounds how far it can overshoot. */
const PENDING_GROUP = 32;
/** Rows one transaction folds at most (several slices, the loop served between them; see slices()). */
const ROWS_PER_COMMIT: Record<DatabaseDialect, number> = { sqlite: 256, postgres: 1 };
/** Pending rows one daily step reads at most. */
const PENDING_PER_STEP = 64;
/** Pending rows a drain's last slice adds to the daily tables itself, at most (else the daily step does). */
const PENDING_NOW = 4;
/** How long a drain waits for rows another instance is folding (Postgres) before it answers anyway. */
const FOREIGN_WAIT_MS = 2000;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A slice size that tracks a time budget: grows at most 2× per slice, shrinks in proportion. */
class AdaptiveSize {
  value: number;
  constructor(private readonly budget: Budget) {
    this.value = budget.start;
  }
  observe(used: number, ms: number): void {
    if (used < this.value) return; // a short slice says nothing about the budget
    const fit = ms <= 0 ? this.value * 2 : Math.floor((used * this.budget.ms) / ms);
    this.value = Math.max(this.budget.min, Math.min(this.budget.max, this.value * 2, fit));
  }
}

export class SpendFolder {
  private readonly statements: IngestStatements;
  private readonly sliceSize: AdaptiveSize;
  private readonly dailySize: AdaptiveSize;
  private tail: Promise<unknown> = Promise.resolve();
  /** Longest slice so far, ms (the bench reads it). */
  longestSliceMs = 0;

  constructor(
    private readonly db: Kysely<SpendSchema>,
    private readonly dialect: DatabaseDialect,
    private readonly catalog: ColumnCatalog,
    private readonly now: () => number,
  ) {
    this.statements = new IngestStatements(dialect);
    this.sliceSize = new AdaptiveSize(SLICE[dialect]);
    this.dailySize = new AdaptiveSize(DAILY[dialect]);
  }

  /** Fold every call appended before this was called. One drain runs at a time; later callers queue behind it. */
  drain(): Promise<DrainResult> {
    const run = this.tail.then(() => this.run());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(): Promise<DrainResult> {
    const result: DrainResult = { folded: 0, parked: 0 };
    // Before the migration has run (the writer's timer may fire first) there is nothing to fold.
    if (!(await this.catalog.columns(INGEST).then(() => true, () => false))) return result;
    const target = numOrNull((await this.db.executeQuery<LooseRow>(this.statements.maxId())).rows[0]?.id);
    if (target !== null) await this.foldIngest(target, result);
    await this.foldDaily();
    return result;
  }

  private async foldIngest(target: number, result: DrainResult): Promise<void> {
    let oneByOne = 0;
    let waitedMs = 0;
    for (;;) {
      const size = oneByOne > 0 ? 1 : this.sliceSize.value;
      let taken: number;
      try {
        taken = await this.slices(oneByOne > 0, target);
      } catch (err) {
        if (size > 1) {
          // Somewhere in that transaction's rows: go through them one at a time.
          oneByOne = Math.max(size, ROWS_PER_COMMIT[this.dialect]);
          continue;
        }
        if (!(await this.parkFirst(target, err))) throw err;
        result.parked += 1;
        oneByOne = Math.max(0, oneByOne - 1);
        continue;
      }
      result.folded += taken;
      oneByOne = Math.max(0, oneByOne - taken);
      if (taken === 0) {
        // Nothing left we could take: on Postgres another instance may hold the rest, wait for it to commit.
        const left = num((await this.db.executeQuery<LooseRow>(this.statements.remaining(target))).rows[0]?.n);
        if (left === 0 || waitedMs >= FOREIGN_WAIT_MS) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
        waitedMs += 10;
        continue;
      }
      await yieldToLoop();
    }
  }

  /**
   * Slices of the ingest table in one transaction, with the event loop served between them; returns
   * the rows taken. On SQLite a commit costs as much as a small slice (WAL writes), so several
   * slices share one, up to ROWS_PER_COMMIT rows; the transaction holds the one connection
   * meanwhile, and the store's other queries wait for it asynchronously. One row alone when `single`.
   */
  private async slices(single: boolean, target: number): Promise<number> {
    // Shapes first: on SQLite the transaction holds the only connection.
    const shapes = await loadShapes(this.catalog);
    let resumed = performance.now();
    const total = await this.db.transaction().execute(async (trx) => {
      let sum = 0;
      for (;;) {
        const limit = single ? 1 : this.sliceSize.value;
        const started = performance.now();
        const n = await this.slice(trx, shapes, limit, target);
        const ms = performance.now() - started;
        if (!single) this.sliceSize.observe(n, ms);
        sum += n;
        if (single || n < limit || sum + this.sliceSize.value > ROWS_PER_COMMIT[this.dialect]) return sum;
        await yieldToLoop();
        resumed = performance.now();
      }
    });
    // The last slice and the commit ran as one block.
    this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - resumed);
    return total;
  }

  /** One slice, on the group's transaction; returns the rows it took. */
  private async slice(trx: Kysely<SpendSchema>, shapes: WriteShapes, limit: number, target: number): Promise<number> {
    const taken = (await trx.executeQuery<LooseRow>(this.statements.slice(limit, target))).rows;
    if (taken.length === 0) return 0;
    const rows: SpendLogRow[] = taken.map((r) => decodePayload(text(r.payload)));
    const fresh = await writeLogRows(trx, this.dialect, shapes, rows);
    const additions = dailyAdditions(dailyInputs(fresh));
    // The last slice of a drain adds the day's sums itself, pending ones included, when they are
    // few: a quiet gateway's calls then reach the daily tables in the transaction that writes
    // their spend log rows. Otherwise they wait for the daily step with the rest.
    const last = taken.length < limit;
    if (!(last && additions.length > 0 && (await this.addDailyNow(trx, shapes.shapeOf, additions)))) {
      const payloads: string[] = [];
      for (let i = 0; i < additions.length; i += PENDING_GROUP) payloads.push(JSON.stringify(additions.slice(i, i + PENDING_GROUP)));
      if (payloads.length > 0) await trx.executeQuery(this.statements.addPending(payloads));
    }
    await trx.executeQuery(this.statements.delete(INGEST, taken.map((r) => num(r.id))));
    return taken.length;
  }

  /**
   * Inside a slice's transaction: the pending sums and `additions` added to the daily tables now,
   * if together they are within the daily step's size (true); else nothing is done (false).
   */
  private async addDailyNow(trx: Kysely<SpendSchema>, shapeOf: WriteShapes['shapeOf'], additions: DailyAddition[]): Promise<boolean> {
    const limit = this.dailySize.value;
    if (additions.length > limit) return false;
    // Only a few pending rows are "few": reading and parsing a backlog of them on every last slice
    // only to find it too big cost more than the slice (a drain per flushed chunk makes most slices last).
    const pending = (await trx.executeQuery<LooseRow>(this.statements.pending(PENDING_NOW + 1))).rows;
    if (pending.length > PENDING_NOW) return false;
    const merger = new AdditionMerger();
    for (const p of pending) merger.add(JSON.parse(text(p.payload)) as DailyAddition[]);
    merger.add(additions);
    if (merger.size > limit) return false;
    const merged = merger.result();
    await applyDailyAdditions(trx, this.dialect, shapeOf, merged, this.now());
    if (pending.length > 0) await trx.executeQuery(this.statements.delete(DAILY_PENDING, pending.map((p) => num(p.id))));
    return true;
  }

  /**
   * After a one-row slice failed: if the database still answers, the row is at fault and is parked
   * (true); if it does not, the store is down and the error goes to the caller (false).
   */
  private async parkFirst(target: number, err: unknown): Promise<boolean> {
    if (isBusy(err)) return false;
    try {
      const first = (await this.db.executeQuery<LooseRow>(this.statements.slice(1, target))).rows[0];
      if (first === undefined) return true; // someone else took it meanwhile
      await this.db.executeQuery(this.statements.park(num(first.id)));
      return true;
    } catch {
      return false;
    }
  }

  /** The daily step: pending sums into the daily tables, a bounded number of daily rows per transaction. */
  private async foldDaily(): Promise<void> {
    const shapes = await loadShapes(this.catalog);
    for (;;) {
      const limit = this.dailySize.value;
      const added = await this.timed(limit, this.dailySize, () =>
        this.db.transaction().execute(async (trx) => {
          // Pending rows of one busy key and model mostly add to the same daily rows: take them
          // while the merged set stays within the budget.
          const pending = (await trx.executeQuery<LooseRow>(this.statements.pending(PENDING_PER_STEP))).rows;
          const merger = new AdditionMerger();
          const ids: number[] = [];
          for (const p of pending) {
            const list = JSON.parse(text(p.payload)) as DailyAddition[];
            // One that does not fit waits for a later step; later ones may still fit.
            if (ids.length > 0 && merger.sizeWith(list) > limit) continue;
            merger.add(list);
            ids.push(num(p.id));
          }
          if (ids.length === 0) return 0;
          const groups = merger.size;
          await applyDailyAdditions(trx, this.dialect, shapes.shapeOf, merger.result(), this.now());
          await trx.executeQuery(this.statements.delete(DAILY_PENDING, ids));
          return groups;
        }),
      );
      if (added === 0) return;
      await yieldToLoop();
    }
  }

  private async timed(size: number, adaptive: AdaptiveSize, step: () => Promise<number>): Promise<number> {
    const started = performance.now();
    const used = await step();
    const ms = performance.now() - started;
    if (ms > this.longestSliceMs) this.longestSliceMs = ms;
    adaptive.observe(Math.min(used, size), ms);
    return used;
  }
}

/** SQLite's lock held by another connection past busy_timeout: says nothing about the row. */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

