/**
 * Budget counters (`budget_counters`, Tollgate's own table: spend per scope and budget period) and
 * their write-back into LiteLLM's rows. After each flush the new period total of an entity scope
 * is written to the entity's `spend` column (and its `budget_reset_at` to the period end when the
 * row has its own `budget_duration`), and a `<scope>:model:<name>` total into its `model_spend`,
 * so LiteLLM's UI and anything reading those columns see what Tollgate counts. Because counter and
 * column change together, a column (or `model_spend` entry) that no longer holds its counter was
 * written by another tool; that value is adopted (`add` builds on it, `reconcile` takes it for idle
 * rows), never overwritten.
 */
import { sql, type ExpressionBuilder, type Transaction } from 'kysely';
import type { DatabaseDialect } from '../ports.js';
import type { BudgetCounterRow, BudgetCounterStore } from '../tenancy-ports.js';
import { Encoder, obj, str, time, usdToNano, type Row } from './litellm-values.js';
import type { LooseDb } from './tenancy-db.js';

/** Rows per multi-row statement: far below both databases' bound-parameter limits. */
const ROWS_PER_STATEMENT = 200;

type Trx = Transaction<Record<string, Row>>;
type Eb = ExpressionBuilder<Record<string, Row>, string>;

/** A period total after a flush; `adopted` when the row held another tool's value, which it now includes. */
export type FlushedTotal = BudgetCounterRow & { adopted: boolean };

/** Where an entity scope's spend is kept in LiteLLM's tables. */
interface EntityTarget {
  table: string;
  where: Record<string, string>;
  hasReset: boolean;
  hasModelSpend: boolean;
  /** The row may link a budget tier (`budget_id`) whose `budget_duration` is its period. */
  tiered: boolean;
}

/**
 * The rows whose spend LiteLLM's reset job zeroes when a tier's period ends
 * (reset_budget_job.py `reset_budget_for_litellm_budget_table` and the `…_linked_to_budgets`
 * cascades): keys only when they have no budget_duration of their own (those reset on it).
 */
const TIER_LINKED: readonly { table: string; ownDuration: boolean }[] = [
  { table: 'LiteLLM_VerificationToken', ownDuration: true },
  { table: 'LiteLLM_EndUserTable', ownDuration: false },
  { table: 'LiteLLM_OrganizationTable', ownDuration: false },
  { table: 'LiteLLM_TeamMembership', ownDuration: false },
];

/** `key:<hash>`, `user:<id>`, `team:<id>`, `customer:<id>`, `org:<id>`, `team_member:<team>/<user>`. */
export function entityTarget(scope: string): EntityTarget | undefined {
  const colon = scope.indexOf(':');
  if (colon < 0) return undefined;
  const kind = scope.slice(0, colon);
  const id = scope.slice(colon + 1);
  switch (kind) {
    case 'key':
      return { table: 'LiteLLM_VerificationToken', where: { token: id }, hasReset: true, hasModelSpend: true, tiered: true };
    case 'user':
      return { table: 'LiteLLM_UserTable', where: { user_id: id }, hasReset: true, hasModelSpend: true, tiered: false };
    case 'team':
      return { table: 'LiteLLM_TeamTable', where: { team_id: id }, hasReset: true, hasModelSpend: true, tiered: false };
    case 'customer':
      return { table: 'LiteLLM_EndUserTable', where: { user_id: id }, hasReset: false, hasModelSpend: false, tiered: true };
    case 'org':
      return { table: 'LiteLLM_OrganizationTable', where: { organization_id: id }, hasReset: false, hasModelSpend: true, tiered: true };
    case 'team_member': {
      const slash = id.indexOf('/');
      return slash < 0 ? undefined : { table: 'LiteLLM_TeamMembership', where: { team_id: id.slice(0, slash), user_id: id.slice(slash + 1) }, hasReset: false, hasModelSpend: false, tiered: true };
    }
    default:
      return undefined;
  }
}

/** Splits `<entity scope>:model:<model>`; undefined for an entity scope. */
export function splitModelScope(scope: string): { entity: string; model: string } | undefined {
  const at = scope.indexOf(':model:');
  return at < 0 ? undefined : { entity: scope.slice(0, at), model: scope.slice(at + ':model:'.length) };
}

/** Flush batches applied (tollgate_spend_batches), so a retried batch is applied once. */
export const SPEND_BATCHES = 'tollgate_spend_batches';
/** How long an applied batch id is remembered: far longer than any retry takes. */
const BATCH_MEMORY_MS = 24 * 3_600_000;

export class SqlBudgetCounterStore implements BudgetCounterStore {
  private readonly enc: Encoder;

  constructor(
    private readonly db: LooseDb,
    private readonly dialect: DatabaseDialect,
  ) {
    this.enc = new Encoder(dialect);
  }

  async add(deltas: readonly { scope: string; period_end: number; delta_nano: number }[], at: number, batchId?: string): Promise<FlushedTotal[]> {
    // One row per (scope, period) per statement: Postgres refuses to upsert the same row twice in one.
    const merged = new Map<string, { scope: string; period_end: number; spend_nano: number; updated_at: number }>();
    for (const d of deltas) {
      const id = `${d.scope}\u0000${d.period_end}`;
      const row = merged.get(id);
      if (row === undefined) merged.set(id, { scope: d.scope, period_end: d.period_end, spend_nano: d.delta_nano, updated_at: at });
      else row.spend_nano += d.delta_nano;
    }
    const rows = [...merged.values()];
    if (rows.length === 0) return [];
    return await this.db.transaction().execute(async (trx) => {
      if (batchId !== undefined && !(await this.claimBatch(trx, batchId, at))) {
        // Applied already (this is a retry of a batch whose commit was never confirmed): the totals as they stand.
        const found = await this.lockCounters(trx, rows);
        return rows.flatMap((r) => {
          const spend = found.get(`${r.scope}\u0000${r.period_end}`);
          return spend === undefined ? [] : [{ scope: r.scope, period_end: r.period_end, spend_nano: spend, updated_at: at, adopted: false }];
        });
      }
      const before = await this.lockCounters(trx, rows);
      const totals: BudgetCounterRow[] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const written = await trx
          .insertInto('budget_counters')
          .values(rows.slice(i, i + ROWS_PER_STATEMENT))
          .onConflict((oc) =>
            oc.columns(['scope', 'period_end']).doUpdateSet({
              spend_nano: sql<number>`budget_counters.spend_nano + excluded.spend_nano`,
              updated_at: sql<number>`excluded.updated_at`,
            }),
          )
          .returning(['scope', 'period_end', 'spend_nano', 'updated_at'])
          .execute();
        totals.push(...written.map(counterRow));
      }
      const columns = await this.writeBack(trx, totals, before);
      const out: FlushedTotal[] = [];
      for (const t of totals) {
        const column = columns.get(`${t.scope}\u0000${t.period_end}`);
        if (column === undefined || column === t.spend_nano) {
          out.push({ ...t, adopted: false });
          continue;
        }
        // Another tool rewrote the row since the last flush: its value plus this flush's delta counts.
        await trx
          .updateTable('budget_counters')
          .set({ spend_nano: column, updated_at: at })
          .where(sql.ref('scope'), '=', t.scope)
          .where(sql.ref('period_end'), '=', t.period_end)
          .execute();
        out.push({ ...t, spend_nano: column, updated_at: at, adopted: true });
      }
      return out;
    });
  }

  /**
   * The counters of `rows` that exist already, locked for this transaction (SELECT … FOR UPDATE
   * on Postgres; on SQLite a no-op UPDATE, which takes the database's write lock up front). Each
   * was written back to its entity row when it was last written, so the row should still hold it.
   */
  private async lockCounters(trx: Trx, rows: readonly { scope: string; period_end: number }[]): Promise<Map<string, number>> {
    const before = new Map<string, number>();
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const match = (eb: Eb): ReturnType<Eb['or']> => eb.or(chunk.map((r) => eb.and([eb(sql.ref('scope'), '=', r.scope), eb(sql.ref('period_end'), '=', r.period_end)])));
      const found =
        this.dialect === 'postgres'
          ? await trx.selectFrom('budget_counters').select(['scope', 'period_end', 'spend_nano']).where(match).forUpdate().execute()
          : await trx.updateTable('budget_counters').set({ spend_nano: sql<number>`spend_nano` }).where(match).returning(['scope', 'period_end', 'spend_nano']).execute();
      for (const r of found.map(counterRow)) before.set(`${r.scope}\u0000${r.period_end}`, r.spend_nano);
    }
    return before;
  }

  async set(scope: string, periodEnd: number, spendNano: number, at: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('budget_counters')
        .values({ scope, period_end: periodEnd, spend_nano: spendNano, updated_at: at })
        .onConflict((oc) => oc.columns(['scope', 'period_end']).doUpdateSet({ spend_nano: spendNano, updated_at: at }))
        .execute();
      await this.writeBack(trx, [{ scope, period_end: periodEnd, spend_nano: spendNano, updated_at: at }]);
    });
  }

  async seed(rows: readonly { scope: string; period_end: number; spend_nano: number }[], at: number): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await this.db
        .insertInto('budget_counters')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => ({ ...r, updated_at: at })))
        .onConflict((oc) => oc.columns(['scope', 'period_end']).doNothing())
        .execute();
    }
  }

  /**
   * Tollgate writes a counter and its entity row's `spend` in one transaction, so a row whose
   * `spend` differs from its counter in one consistent read was written by another tool (LiteLLM's
   * UI or reset job, an operator's UPDATE): that value becomes the counter. The counter row is
   * locked first (an UPDATE, which also takes SQLite's write lock), then the entity row — the order
   * `add` locks them in, so a flush on another instance cannot interleave or deadlock. Returns the
   * column of every entity row that exists, and whether the counter was changed.
   */
  async reconcile(items: readonly { scope: string; period_end: number }[], at: number): Promise<{ scope: string; period_end: number; spend_nano: number; changed: boolean }[]> {
    if (items.length === 0) return [];
    return await this.db.transaction().execute(async (trx) => {
      const out: { scope: string; period_end: number; spend_nano: number; changed: boolean }[] = [];
      for (const item of items) {
        const split = splitModelScope(item.scope);
        const target = entityTarget(split === undefined ? item.scope : split.entity);
        if (target === undefined || (split !== undefined && !target.hasModelSpend)) continue;
        const locked = await trx
          .updateTable('budget_counters')
          .set({ spend_nano: sql<number>`spend_nano` })
          .where(sql.ref('scope'), '=', item.scope)
          .where(sql.ref('period_end'), '=', item.period_end)
          .returning(['spend_nano'])
          .executeTakeFirst();
        let sel = trx.selectFrom(target.table).select([sql.ref<unknown>('spend').as('spend'), ...(target.hasModelSpend ? [sql.ref<unknown>('model_spend').as('model_spend')] : [])]);
        for (const [col, value] of Object.entries(target.where)) sel = sel.where(sql.ref(col), '=', value);
        const row = (await (this.dialect === 'postgres' ? sel.forUpdate() : sel).executeTakeFirst()) as Row | undefined;
        if (row === undefined) continue;
        // NULL (or no entry in model_spend) is LiteLLM's "no spend"; the float is rounded as writeBack's nano / 1e9 reads back.
        const column = split === undefined ? (usdToNano(row.spend) ?? 0) : modelColumn(row.model_spend, split.model);
        const counter = locked === undefined ? undefined : Number((locked as Row).spend_nano);
        const changed = counter !== column;
        if (changed) {
          await trx
            .insertInto('budget_counters')
            .values({ scope: item.scope, period_end: item.period_end, spend_nano: column, updated_at: at })
            .onConflict((oc) => oc.columns(['scope', 'period_end']).doUpdateSet({ spend_nano: column, updated_at: at }))
            .execute();
        }
        out.push({ scope: item.scope, period_end: item.period_end, spend_nano: column, changed });
      }
      return out;
    });
  }

  async current(now: number): Promise<BudgetCounterRow[]> {
    const rows = await this.db
      .selectFrom('budget_counters')
      .selectAll()
      .where((eb) => eb.or([eb(sql.ref('period_end'), '=', 0), eb(sql.ref('period_end'), '>', now)]))
      .execute();
    return rows.map(counterRow);
  }

  async changedSince(since: number): Promise<BudgetCounterRow[]> {
    const rows = await this.db.selectFrom('budget_counters').selectAll().where(sql.ref('updated_at'), '>=', since).execute();
    return rows.map(counterRow);
  }

  /** Record a flush batch as applied, in its transaction; false when it was already. Old ids are pruned. */
  private async claimBatch(trx: Trx, batchId: string, at: number): Promise<boolean> {
    await trx.deleteFrom(SPEND_BATCHES).where('applied_at', '<', at - BATCH_MEMORY_MS).execute();
    const result = await trx.insertInto(SPEND_BATCHES).values({ batch_id: batchId, applied_at: at }).onConflict((oc) => oc.column('batch_id').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async claimAlert(scope: string, periodEnd: number, kind: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('budget_alerts')
      .values({ scope, period_end: periodEnd, kind, created_at: at })
      .onConflict((oc) => oc.columns(['scope', 'period_end', 'kind']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * The period totals into LiteLLM's `spend` / `model_spend` columns (rows that do not exist are
   * skipped). With `before` (each counter's value before this flush), a row that no longer holds
   * it was rewritten by another tool: it gets its own value plus the flush's delta instead, decided
   * inside the UPDATE so nothing can interleave. Returns each entity row's new `spend`, nano-USD.
   */
  private async writeBack(trx: Trx, totals: readonly BudgetCounterRow[], before?: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const columns = new Map<string, number>();
    const modelTotals = new Map<string, { target: EntityTarget; totals: { model: string; total: BudgetCounterRow }[] }>();
    for (const t of totals) {
      const split = splitModelScope(t.scope);
      if (split !== undefined) {
        const target = entityTarget(split.entity);
        if (target === undefined || !target.hasModelSpend) continue;
        let entry = modelTotals.get(split.entity);
        if (entry === undefined) modelTotals.set(split.entity, (entry = { target, totals: [] }));
        entry.totals.push({ model: split.model, total: t });
        continue;
      }
      const target = entityTarget(t.scope);
      if (target === undefined) continue;
      // A late flush of a tier period that has ended since must not put that period's total back.
      if (t.period_end !== 0 && target.tiered && (await this.rollTier(trx, target, t.period_end)) === 'ended') continue;
      const id = `${t.scope}\u0000${t.period_end}`;
      const was = before?.get(id);
      const set: Row = { spend: t.spend_nano / 1e9 };
      // Half a nano-USD either way is "the same": the float written as nano / 1e9, read back.
      if (was !== undefined) set.spend = sql<number>`case when abs(coalesce(${sql.ref('spend')}, 0) - ${usd(was)}) < 5e-10 then ${usd(t.spend_nano)} else coalesce(${sql.ref('spend')}, 0) + ${usd(t.spend_nano - was)} end` as unknown as number;
      // LiteLLM's reset job reads budget_reset_at; keep it at the end of the period being counted.
      if (target.hasReset && t.period_end !== 0) set.budget_reset_at = sql<string>`case when ${sql.ref('budget_duration')} is not null then ${this.enc.time(t.period_end)} else ${sql.ref('budget_reset_at')} end` as unknown as string;
      let q = trx.updateTable(target.table).set(set);
      for (const [col, value] of Object.entries(target.where)) q = q.where(sql.ref(col), '=', value);
      const row = (await q.returning(sql.ref<unknown>('spend').as('spend')).executeTakeFirst()) as Row | undefined;
      if (row !== undefined) columns.set(id, usdToNano(row.spend) ?? 0);
    }
    for (const { target, totals: models } of modelTotals.values()) {
      let sel = trx.selectFrom(target.table).select(sql.ref<unknown>('model_spend').as('model_spend'));
      for (const [col, value] of Object.entries(target.where)) sel = sel.where(sql.ref(col), '=', value);
      const row = (await (this.dialect === 'postgres' ? sel.forUpdate() : sel).executeTakeFirst()) as Row | undefined;
      if (row === undefined) continue;
      const next = { ...obj(row.model_spend) };
      for (const { model, total } of models) {
        const id = `${total.scope}\u0000${total.period_end}`;
        const was = before?.get(id);
        const column = modelColumn(row.model_spend, model);
        // As for `spend`: an entry that no longer holds the counter was written by another tool;
        // it gets its own value plus this flush's delta.
        const value = was !== undefined && column !== was ? column + (total.spend_nano - was) : total.spend_nano;
        next[model] = value / 1e9;
        columns.set(id, value);
      }
      let q = trx.updateTable(target.table).set({ model_spend: JSON.stringify(next) });
      for (const [col, value] of Object.entries(target.where)) q = q.where(sql.ref(col), '=', value);
      await q.execute();
    }
    return columns;
  }

  /**
   * For a row whose budget period is its tier's (a `budget_id` row with a `budget_duration`, and for
   * a key no duration of its own): what LiteLLM's reset job does when the tier's period ends, done
   * by the first flush of the next period. The tier's `budget_reset_at` moves to the end of the
   * period being counted and every row linked to the tier starts it at spend 0, as the job leaves
   * them; the row being flushed then gets its new total. The tier row is locked (Postgres; SQLite's
   * write lock is held already), so two instances' flushes roll it once. `ended`: the flush is for
   * a period before the tier's current one.
   */
  private async rollTier(trx: Trx, target: EntityTarget, periodEnd: number): Promise<'current' | 'ended' | undefined> {
    let sel = trx.selectFrom(target.table).select(sql.ref<unknown>('budget_id').as('budget_id'));
    if (target.hasReset) sel = sel.select(sql.ref<unknown>('budget_duration').as('own'));
    for (const [col, value] of Object.entries(target.where)) sel = sel.where(sql.ref(col), '=', value);
    const row = (await sel.executeTakeFirst()) as Row | undefined;
    const budgetId = str(row?.budget_id);
    if (row === undefined || budgetId === null || (target.hasReset && str(row.own) !== null)) return undefined;
    const tierSel = trx.selectFrom('LiteLLM_BudgetTable').select([sql.ref<unknown>('budget_duration').as('duration'), sql.ref<unknown>('budget_reset_at').as('reset_at')]).where(sql.ref('budget_id'), '=', budgetId);
    const tier = (await (this.dialect === 'postgres' ? tierSel.forUpdate() : tierSel).executeTakeFirst()) as Row | undefined;
    if (tier === undefined || str(tier.duration) === null) return undefined;
    const stored = time(tier.reset_at);
    if (stored !== null && stored > periodEnd) return 'ended';
    if (stored === periodEnd) return 'current';
    await trx.updateTable('LiteLLM_BudgetTable').set({ budget_reset_at: this.enc.time(periodEnd) }).where(sql.ref('budget_id'), '=', budgetId).execute();
    // A tier that never had a reset instant has no ended period on record: nothing to zero.
    if (stored === null) return 'current';
    for (const linked of TIER_LINKED) {
      let q = trx.updateTable(linked.table).set({ spend: 0 }).where(sql.ref('budget_id'), '=', budgetId).where(sql.ref('spend'), '>', 0);
      if (linked.ownDuration) q = q.where(sql.ref('budget_duration'), 'is', null);
      await q.execute();
    }
    return 'current';
  }
}

/** A model's entry in a row's `model_spend` (`{"<model>": usd}`), nano-USD; 0 when absent. */
function modelColumn(modelSpend: unknown, model: string): number {
  const usdValue = obj(modelSpend)[model];
  return (typeof usdValue === 'number' || typeof usdValue === 'string' ? usdToNano(usdValue) : null) ?? 0;
}

/** A nano-USD amount as a float parameter both databases type as double precision. */
function usd(nano: number): ReturnType<typeof sql<number>> {
  return sql<number>`cast(${nano / 1e9} as double precision)`;
}

/** Postgres hands BIGINTs over as numbers (see postgres/connect.ts); SQLite already does. */
function counterRow(row: Row): BudgetCounterRow {
  return { scope: typeof row.scope === 'string' ? row.scope : '', period_end: Number(row.period_end), spend_nano: Number(row.spend_nano), updated_at: Number(row.updated_at) };
}
