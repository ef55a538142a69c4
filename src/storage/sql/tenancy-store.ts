/**
 * The tenancy stores over Kysely, for SQLite and Postgres alike: one generic store over
 * `tenancy_records` instantiated per kind of record, and the budget counters.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type {
  BudgetCounterRow,
  BudgetCounterStore,
  ChangedRecords,
  CustomerFilter,
  CustomerRecord,
  KeyFilter,
  KeyRecord,
  KeyStore,
  ModelFilter,
  ModelRecord,
  RecordKind,
  RecordPage,
  RecordStore,
  TeamFilter,
  TeamRecord,
  TenancyStores,
  UserFilter,
  UserRecord,
} from '../tenancy-ports.js';
import type { StorageSchema, TenancyRecordsTable } from './schema.js';
import { decodeCustomer, decodeKey, decodeModel, decodeTeam, decodeUser, parseDoc } from './tenancy-codecs.js';

type Db = Kysely<StorageSchema>;
type Eb = ExpressionBuilder<StorageSchema, 'tenancy_records'>;
type Indexed = Pick<TenancyRecordsTable, 'alias' | 'user_id' | 'team_id' | 'role'>;

/** How one kind of record maps onto `tenancy_records`. */
interface KindCodec<R, F> {
  kind: RecordKind;
  id(record: R): string;
  indexed(record: R): Indexed;
  decode(doc: unknown): R;
  where(eb: Eb, filter: F): Expression<SqlBool>[];
}

/** Rows per multi-row statement: far below both databases' bound-parameter limits. */
const ROWS_PER_STATEMENT = 200;

function inList(eb: Eb, column: 'id' | 'alias' | 'user_id' | 'team_id', values: readonly string[] | undefined): Expression<SqlBool>[] {
  if (values === undefined) return [];
  // An empty list matches nothing, as `IN ()` would mean if SQL allowed it.
  return values.length === 0 ? [eb.lit(false)] : [eb(column, 'in', [...values])];
}

class SqlRecordStore<R extends { created_at: number; updated_at: number }, F> implements RecordStore<R, F> {
  constructor(
    protected readonly db: Db,
    protected readonly codec: KindCodec<R, F>,
  ) {}

  async get(id: string): Promise<R | undefined> {
    const row = await this.db.selectFrom('tenancy_records').select('doc').where('kind', '=', this.codec.kind).where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : this.codec.decode(parseDoc(row.doc));
  }

  async find(filter: F, page?: RecordPage): Promise<R[]> {
    let q = this.db
      .selectFrom('tenancy_records')
      .select('doc')
      .where((eb) => eb.and([eb('kind', '=', this.codec.kind), ...this.codec.where(eb, filter)]))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc');
    if (page !== undefined) q = q.limit(page.limit).offset(page.offset);
    const rows = await q.execute();
    return rows.map((r) => this.codec.decode(parseDoc(r.doc)));
  }

  async count(filter: F): Promise<number> {
    const row = await this.db
      .selectFrom('tenancy_records')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where((eb) => eb.and([eb('kind', '=', this.codec.kind), ...this.codec.where(eb, filter)]))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async insert(record: R): Promise<boolean> {
    const result = await this.db.insertInto('tenancy_records').values(this.row(record)).onConflict((oc) => oc.columns(['kind', 'id']).doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(record: R): Promise<boolean> {
    const { kind: _kind, id, created_at: _created, ...changes } = this.row(record);
    const result = await this.db.updateTable('tenancy_records').set(changes).where('kind', '=', this.codec.kind).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(ids: readonly string[], at: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('tenancy_records').select('id').where('kind', '=', this.codec.kind).where('id', 'in', [...ids]).execute();
      const found = existing.map((r) => r.id);
      if (found.length === 0) return [];
      await trx.deleteFrom('tenancy_records').where('kind', '=', this.codec.kind).where('id', 'in', found).execute();
      await trx.insertInto('tenancy_deletions').values(found.map((id) => ({ kind: this.codec.kind, id, deleted_at: at }))).execute();
      return found;
    });
  }

  protected row(record: R): TenancyRecordsTable {
    return {
      kind: this.codec.kind,
      id: this.codec.id(record),
      ...this.codec.indexed(record),
      doc: JSON.stringify(record),
      created_at: record.created_at,
      updated_at: record.updated_at,
    };
  }
}

class SqlKeyStore extends SqlRecordStore<KeyRecord, KeyFilter> implements KeyStore {
  async replace(oldToken: string, next: KeyRecord, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('tenancy_records').where('kind', '=', 'key').where('id', '=', oldToken).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await trx.insertInto('tenancy_deletions').values({ kind: 'key', id: oldToken, deleted_at: at }).execute();
      await trx.insertInto('tenancy_records').values(this.row(next)).execute();
      return true;
    });
  }
}

const none: Indexed = { alias: null, user_id: null, team_id: null, role: null };

const keyCodec: KindCodec<KeyRecord, KeyFilter> = {
  kind: 'key',
  id: (k) => k.token,
  indexed: (k) => ({ ...none, alias: k.key_alias, user_id: k.user_id, team_id: k.team_id }),
  decode: decodeKey,
  where: (eb, f) => [...inList(eb, 'id', f.tokens), ...inList(eb, 'alias', f.aliases), ...inList(eb, 'user_id', f.userIds), ...inList(eb, 'team_id', f.teamIds)],
};

const userCodec: KindCodec<UserRecord, UserFilter> = {
  kind: 'user',
  id: (u) => u.user_id,
  indexed: (u) => ({ ...none, alias: u.user_email, role: u.user_role }),
  decode: decodeUser,
  where: (eb, f) => [
    ...inList(eb, 'id', f.userIds),
    ...(f.role === undefined ? [] : [eb('role', '=', f.role)]),
    // Case-insensitive substring, the same on both databases.
    ...(f.email === undefined ? [] : [eb(eb.fn('lower', ['alias']), 'like', `%${f.email.toLowerCase().replace(/[%_\\]/g, '')}%`)]),
  ],
};

const teamCodec: KindCodec<TeamRecord, TeamFilter> = {
  kind: 'team',
  id: (t) => t.team_id,
  indexed: (t) => ({ ...none, alias: t.team_alias }),
  decode: decodeTeam,
  where: (eb, f) => [...inList(eb, 'id', f.teamIds), ...(f.alias === undefined ? [] : [eb('alias', '=', f.alias)])],
};

const customerCodec: KindCodec<CustomerRecord, CustomerFilter> = {
  kind: 'customer',
  id: (c) => c.user_id,
  indexed: (c) => ({ ...none, alias: c.alias }),
  decode: decodeCustomer,
  where: (eb, f) => inList(eb, 'id', f.userIds),
};

const modelCodec: KindCodec<ModelRecord, ModelFilter> = {
  kind: 'model',
  id: (m) => m.model_id,
  indexed: (m) => ({ ...none, alias: m.model_name }),
  decode: decodeModel,
  where: (eb, f) => [...inList(eb, 'id', f.modelIds), ...(f.modelName === undefined ? [] : [eb('alias', '=', f.modelName)])],
};

class SqlBudgetCounterStore implements BudgetCounterStore {
  constructor(private readonly db: Db) {}

  async add(deltas: readonly { scope: string; period_end: number; delta_nano: number }[], at: number): Promise<void> {
    // One row per (scope, period) per statement: Postgres refuses to upsert the same row twice in one.
    const merged = new Map<string, { scope: string; period_end: number; spend_nano: number; updated_at: number }>();
    for (const d of deltas) {
      const id = `${d.scope}\u0000${d.period_end}`;
      const row = merged.get(id);
      if (row === undefined) merged.set(id, { scope: d.scope, period_end: d.period_end, spend_nano: d.delta_nano, updated_at: at });
      else row.spend_nano += d.delta_nano;
    }
    const rows = [...merged.values()];
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        await trx
          .insertInto('budget_counters')
          .values(rows.slice(i, i + ROWS_PER_STATEMENT))
          .onConflict((oc) =>
            oc.columns(['scope', 'period_end']).doUpdateSet({
              spend_nano: sql<number>`budget_counters.spend_nano + excluded.spend_nano`,
              updated_at: sql<number>`excluded.updated_at`,
            }),
          )
          .execute();
      }
    });
  }

  async set(scope: string, periodEnd: number, spendNano: number, at: number): Promise<void> {
    await this.db
      .insertInto('budget_counters')
      .values({ scope, period_end: periodEnd, spend_nano: spendNano, updated_at: at })
      .onConflict((oc) => oc.columns(['scope', 'period_end']).doUpdateSet({ spend_nano: spendNano, updated_at: at }))
      .execute();
  }

  async current(now: number): Promise<BudgetCounterRow[]> {
    const rows = await this.db
      .selectFrom('budget_counters')
      .selectAll()
      .where((eb) => eb.or([eb('period_end', '=', 0), eb('period_end', '>', now)]))
      .execute();
    return rows.map(counterRow);
  }

  async changedSince(since: number): Promise<BudgetCounterRow[]> {
    const rows = await this.db.selectFrom('budget_counters').selectAll().where('updated_at', '>=', since).execute();
    return rows.map(counterRow);
  }

  async claimAlert(scope: string, periodEnd: number, kind: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('budget_alerts')
      .values({ scope, period_end: periodEnd, kind, created_at: at })
      .onConflict((oc) => oc.columns(['scope', 'period_end', 'kind']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

/** Postgres hands BIGINTs over as numbers (see postgres/connect.ts); SQLite already does. */
function counterRow(row: { scope: string; period_end: number; spend_nano: number; updated_at: number }): BudgetCounterRow {
  return { scope: row.scope, period_end: Number(row.period_end), spend_nano: Number(row.spend_nano), updated_at: Number(row.updated_at) };
}

export class SqlTenancyStores implements TenancyStores {
  readonly keys: KeyStore;
  readonly users: RecordStore<UserRecord, UserFilter>;
  readonly teams: RecordStore<TeamRecord, TeamFilter>;
  readonly customers: RecordStore<CustomerRecord, CustomerFilter>;
  readonly models: RecordStore<ModelRecord, ModelFilter>;
  readonly budgets: BudgetCounterStore;

  constructor(private readonly db: Db) {
    this.keys = new SqlKeyStore(db, keyCodec);
    this.users = new SqlRecordStore(db, userCodec);
    this.teams = new SqlRecordStore(db, teamCodec);
    this.customers = new SqlRecordStore(db, customerCodec);
    this.models = new SqlRecordStore(db, modelCodec);
    this.budgets = new SqlBudgetCounterStore(db);
  }

  async changedSince(since: number): Promise<ChangedRecords> {
    const [records, deletions] = await Promise.all([
      this.db.selectFrom('tenancy_records').select(['kind', 'doc']).where('updated_at', '>=', since).execute(),
      this.db.selectFrom('tenancy_deletions').selectAll().where('deleted_at', '>=', since).orderBy('deleted_at').execute(),
    ]);
    const changed: ChangedRecords = { keys: [], users: [], teams: [], customers: [], models: [], deletions: [] };
    for (const { kind, doc } of records) {
      const parsed = parseDoc(doc);
      if (kind === 'key') changed.keys.push(decodeKey(parsed));
      else if (kind === 'user') changed.users.push(decodeUser(parsed));
      else if (kind === 'team') changed.teams.push(decodeTeam(parsed));
      else if (kind === 'customer') changed.customers.push(decodeCustomer(parsed));
      else if (kind === 'model') changed.models.push(decodeModel(parsed));
    }
    for (const d of deletions) {
      if (isKind(d.kind)) changed.deletions.push({ kind: d.kind, id: d.id, deleted_at: Number(d.deleted_at) });
    }
    return changed;
  }
}

function isKind(kind: string): kind is RecordKind {
  return kind === 'key' || kind === 'user' || kind === 'team' || kind === 'customer' || kind === 'model';
}
