/**
 * The incremental reader behind the tenancy cache (`TenancyFeed`): a dialect's `ChangeSource`
 * says which rows changed since the last read (SQLite: a change log its triggers keep,
 * `tenancy-changes-sqlite.ts`; Postgres: md5 fingerprints computed in the database,
 * `tenancy-changes-postgres.ts`), and only those rows are fetched and decoded. Work is split into
 * small queries with a turn of the event loop between them, because better-sqlite3 runs each
 * query synchronously: a refresh must never hold the loop for long, whatever the table sizes.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { sql, type RawBuilder } from 'kysely';
import type { EntitySpend, RecordChanges, RecordKind, TenancyChanges, TenancyFeed } from '../tenancy-ports.js';
import { budgetCodec, organizationCodec, teamMembershipCodec } from './litellm-budget-codecs.js';
import { customerCodec, keyCodec, modelCodec, teamCodec, userCodec, type Codec, type Obj } from './litellm-codecs.js';
import { obj, str, time, usdToNano, type Row } from './litellm-values.js';
import { extrasDoc, type LooseDb } from './tenancy-db.js';

export const EXTRAS_TABLE = 'tollgate_record_extras';

type Slot = 'keys' | 'users' | 'teams' | 'customers' | 'models' | 'budgets' | 'organizations' | 'teamMemberships';

export interface FeedTable {
  slot: Slot;
  codec: Codec<unknown>;
  /** The budget scope of a row that carries LiteLLM's `spend` (absent: the table has none). */
  scope?: (row: Row) => string;
  /** The table has `budget_reset_at`. */
  hasReset?: boolean;
  /** The table has `model_spend` (`{"<model>": usd}`), listed per model as `<scope>:model:<model>`. */
  hasModelSpend?: boolean;
}

/** The tables the cache holds (LiteLLM_OrganizationMembership is not: nothing in memory uses it). */
export const FEED_TABLES: readonly FeedTable[] = [
  { slot: 'keys', codec: keyCodec, scope: (r) => `key:${str(r.token) ?? ''}`, hasReset: true, hasModelSpend: true },
  { slot: 'users', codec: userCodec, scope: (r) => `user:${str(r.user_id) ?? ''}`, hasReset: true, hasModelSpend: true },
  { slot: 'teams', codec: teamCodec, scope: (r) => `team:${str(r.team_id) ?? ''}`, hasReset: true, hasModelSpend: true },
  { slot: 'customers', codec: customerCodec, scope: (r) => `customer:${str(r.user_id) ?? ''}` },
  { slot: 'models', codec: modelCodec },
  { slot: 'budgets', codec: budgetCodec },
  { slot: 'organizations', codec: organizationCodec, scope: (r) => `org:${str(r.organization_id) ?? ''}`, hasModelSpend: true },
  { slot: 'teamMemberships', codec: teamMembershipCodec, scope: (r) => `team_member:${str(r.team_id) ?? ''}/${str(r.user_id) ?? ''}` },
];

/** A row's primary-key values, in the codec's key order. */
export type RowKey = readonly string[];

/** Changed rows by table name; `'all'` when everything must be read (the first read). */
export type ChangedRows = Map<string, RowKey[]> | 'all';

export interface ChangeSource {
  /**
   * Rows changed (written, inserted or deleted) since the last committed call. `commit` is
   * called once those rows have been read: a read that fails leaves them to the next call.
   */
  changed(): Promise<{ rows: ChangedRows; commit: () => void }>;
}

/** Rows per query and per decoding step: each is one short synchronous block. */
const CHUNK = 250;

const idOf = (t: FeedTable, key: RowKey): string => key.join(':');
const keyOfRow = (t: FeedTable, row: Row): string[] => t.codec.key.map((k) => str(row[k]) ?? '');

/** `(k1, k2) IN ((…), …)` for any key width; a row-value list both databases accept. */
function keyIn(t: FeedTable, keys: readonly RowKey[]): RawBuilder<unknown> {
  const cols = t.codec.key.map((k) => sql.ref(k));
  if (cols.length === 1) return sql`${cols[0]} in (${sql.join(keys.map((k) => sql`${k[0] ?? ''}`))})`;
  return sql`(${sql.join(cols)}) in (${sql.join(keys.map((k) => sql`(${sql.join(k.map((v) => sql`${v}`))})`))})`;
}

export class SqlTenancyFeed implements TenancyFeed {
  /** Composite keys by record id, so a recheck by id can be read back by key. */
  private readonly composite = new Map<string, RowKey>();
  /**
   * The models each entity row's `model_spend` listed when last read, so a model that vanished
   * from it (another tool reset the column to `{}`) is listed with spend 0, like a reset `spend`.
   */
  private readonly modelsOf = new Map<string, Set<string>>();

  constructor(
    private readonly db: LooseDb,
    private readonly source: ChangeSource,
  ) {}

  async next(recheck: readonly { kind: RecordKind; id: string }[] = []): Promise<TenancyChanges> {
    const { rows: changed, commit } = await this.source.changed();
    const out = {
      full: changed === 'all',
      entitySpend: [] as EntitySpend[],
      spendGone: [] as string[],
    } as Omit<TenancyChanges, Slot> & Record<Slot, RecordChanges<unknown>>;
    // A full read lists every row afresh (the reader drops what it knew): nothing to list as vanished.
    if (changed === 'all') this.modelsOf.clear();
    for (const t of FEED_TABLES) {
      out[t.slot] = { put: [], gone: [] };
      if (changed === 'all') await this.readAll(t, out);
      else {
        const keys = new Map<string, RowKey>();
        for (const k of changed.get(t.codec.table) ?? []) keys.set(idOf(t, k), k);
        for (const r of recheck) if (r.kind === t.codec.kind) keys.set(r.id, this.keyOfId(t, r.id));
        if (keys.size > 0) await this.readSome(t, [...keys.values()], out);
      }
    }
    commit();
    return out as TenancyChanges;
  }

  /** The key of a record id: composite ids as last read, else split at the first ':' as `id()` joined them. */
  private keyOfId(t: FeedTable, id: string): RowKey {
    if (t.codec.key.length === 1) return [id];
    const known = this.composite.get(id);
    if (known !== undefined) return known;
    const at = id.indexOf(':');
    return at < 0 ? [id, ''] : [id.slice(0, at), id.slice(at + 1)];
  }

  private async readAll(t: FeedTable, out: Record<Slot, RecordChanges<unknown>> & { entitySpend: EntitySpend[] }): Promise<void> {
    const rows = await this.db.selectFrom(t.codec.table).selectAll().execute();
    await yieldLoop();
    const extras = await this.extras(t);
    await this.decode(t, rows, extras, out);
  }

  private async readSome(t: FeedTable, keys: RowKey[], out: Record<Slot, RecordChanges<unknown>> & { entitySpend: EntitySpend[]; spendGone: string[] }): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      await yieldLoop();
      const rows = await this.db
        .selectFrom(t.codec.table)
        .selectAll()
        .where(keyIn(t, chunk) as RawBuilder<boolean>)
        .execute();
      const found = new Set(rows.map((r) => idOf(t, keyOfRow(t, r))));
      const ids = chunk.map((k) => idOf(t, k));
      const extras = t.codec.key.length === 1 ? await this.extras(t, ids) : new Map<string, Obj>();
      await this.decode(t, rows, extras, out);
      for (const [j, id] of ids.entries()) {
        if (found.has(id)) continue;
        out[t.slot].gone.push(id);
        this.composite.delete(id);
        const key = chunk[j];
        if (t.scope !== undefined && key !== undefined) {
          const entity = t.scope(Object.fromEntries(t.codec.key.map((c, n) => [c, key[n] ?? ''])));
          out.spendGone.push(entity);
          for (const model of this.modelsOf.get(entity) ?? []) out.spendGone.push(`${entity}:model:${model}`);
          this.modelsOf.delete(entity);
        }
      }
    }
  }

  private async decode(t: FeedTable, rows: Row[], extras: Map<string, Obj>, out: Record<Slot, RecordChanges<unknown>> & { entitySpend: EntitySpend[] }): Promise<void> {
    const put = out[t.slot].put;
    for (let i = 0; i < rows.length; i += CHUNK) {
      if (i > 0) await yieldLoop();
      for (const row of rows.slice(i, i + CHUNK)) {
        const key = keyOfRow(t, row);
        const id = idOf(t, key);
        if (key.length > 1) this.composite.set(id, key);
        put.push(t.codec.decode(row, extras.get(id) ?? {}));
        if (t.scope !== undefined) {
          const scope = t.scope(row);
          const nano = usdToNano(row.spend);
          const budgetResetAt = t.hasReset === true ? time(row.budget_reset_at) : null;
          out.entitySpend.push({ scope, spend_nano: nano !== null && nano > 0 ? nano : 0, budget_reset_at: budgetResetAt });
          if (t.hasModelSpend === true) this.modelSpend(scope, row.model_spend, budgetResetAt, out.entitySpend);
        }
      }
    }
  }

  /**
   * Each model's total in the row's `model_spend` as the spend of `<scope>:model:<model>` (what
   * Tollgate writes there for per-model budgets), and 0 for a model listed last time but not now.
   */
  private modelSpend(scope: string, column: unknown, budgetResetAt: number | null, into: EntitySpend[]): void {
    const now = new Set<string>();
    for (const [model, usd] of Object.entries(obj(column))) {
      const nano = typeof usd === 'number' || typeof usd === 'string' ? usdToNano(usd) : null;
      now.add(model);
      into.push({ scope: `${scope}:model:${model}`, spend_nano: nano !== null && nano > 0 ? nano : 0, budget_reset_at: budgetResetAt });
    }
    for (const model of this.modelsOf.get(scope) ?? []) if (!now.has(model)) into.push({ scope: `${scope}:model:${model}`, spend_nano: 0, budget_reset_at: budgetResetAt });
    if (now.size > 0) this.modelsOf.set(scope, now);
    else this.modelsOf.delete(scope);
  }

  /** Extras docs of the table's kind (all of them, or those of `ids`). */
  private async extras(t: FeedTable, ids?: readonly string[]): Promise<Map<string, Obj>> {
    if (t.codec.key.length > 1 || (ids !== undefined && ids.length === 0)) return new Map();
    let q = this.db.selectFrom(EXTRAS_TABLE).select([sql.ref<string>('id').as('id'), sql.ref<string>('doc').as('doc')]).where(sql.ref('kind'), '=', t.codec.kind);
    if (ids !== undefined) q = q.where(sql.ref('id'), 'in', [...ids]);
    const rows = (await q.execute()) as { id: string; doc: string }[];
    return new Map(rows.map((r) => [r.id, extrasDoc(r.doc)]));
  }
}
