/**
 * The tenancy stores over LiteLLM's own tables, for SQLite and Postgres alike: one generic store
 * per table (driven by its codec in `litellm-codecs.ts`), Tollgate's extras beside each row in
 * `tollgate_record_extras`, a snapshot of everything, and the incremental feed the in-process
 * caches read (`tenancy-feed.ts`).
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { DatabaseDialect } from '../ports.js';
import type { BudgetFilter, BudgetRecord, MembershipFilter, MembershipStore, OrganizationFilter, OrganizationRecord, OrgMembershipRecord, TeamMembershipRecord } from '../tenancy-ports-budgets.js';
import type {
  BudgetCounterStore,
  CustomerFilter,
  CustomerRecord,
  EntitySpend,
  KeyFilter,
  KeyRecord,
  KeyStore,
  ModelFilter,
  ModelRecord,
  RecordPage,
  RecordStore,
  TeamFilter,
  TeamRecord,
  TenancyFeed,
  TenancySnapshot,
  TenancyStores,
  UserFilter,
  UserRecord,
} from '../tenancy-ports.js';
import { SqlBudgetCounterStore } from './budget-counter-store.js';
import { budgetCodec, organizationCodec, orgMembershipCodec, teamMembershipCodec } from './litellm-budget-codecs.js';
import { customerCodec, keyCodec, modelCodec, teamCodec, userCodec, type Codec } from './litellm-codecs.js';
import { Encoder, str, time, usdToNano, type Row } from './litellm-values.js';
import { PostgresFingerprints } from './tenancy-changes-postgres.js';
import { SqliteChangeLog } from './tenancy-changes-sqlite.js';
import { extrasDoc, type LooseDb } from './tenancy-db.js';
import { SqlTenancyFeed } from './tenancy-feed.js';

// Re-exported for budget-counter-store.ts, which still names it here.
type Eb = ExpressionBuilder<Record<string, Row>, string>;
type Obj = Record<string, unknown>;

const EXTRAS = 'tollgate_record_extras';

function inList(eb: Eb, column: string, values: readonly string[] | undefined): Expression<SqlBool>[] {
  if (values === undefined) return [];
  // An empty list matches nothing, as `IN ()` would mean if SQL allowed it.
  return values.length === 0 ? [eb.lit(false)] : [eb(sql.ref(column), 'in', [...values])];
}

/** Extras docs of one kind, by record id. */
async function loadExtras(db: LooseDb | Transaction<Record<string, Row>>, kind: string, ids?: readonly string[]): Promise<Map<string, Obj>> {
  if (ids !== undefined && ids.length === 0) return new Map();
  let q = db.selectFrom(EXTRAS).select([sql.ref<string>('id').as('id'), sql.ref<string>('doc').as('doc')]).where(sql.ref('kind'), '=', kind);
  if (ids !== undefined) q = q.where(sql.ref('id'), 'in', [...ids]);
  const rows = (await q.execute()) as { id: string; doc: string }[];
  return new Map(rows.map((r) => [r.id, extrasDoc(r.doc)]));
}

export class SqlRecordStore<R extends { updated_at: number }, F> implements RecordStore<R, F> {
  protected readonly enc: Encoder;

  constructor(
    protected readonly db: LooseDb,
    dialect: DatabaseDialect,
    protected readonly codec: Codec<R>,
    private readonly where: (eb: Eb, filter: F) => Expression<SqlBool>[],
  ) {
    this.enc = new Encoder(dialect);
  }

  async get(id: string): Promise<R | undefined> {
    const row = await this.db.selectFrom(this.codec.table).selectAll().where(sql.ref(this.codec.key[0] ?? ''), '=', id).executeTakeFirst();
    if (row === undefined) return undefined;
    const extras = await loadExtras(this.db, this.codec.kind, [id]);
    return this.codec.decode(row, extras.get(id) ?? {});
  }

  async find(filter: F, page?: RecordPage): Promise<R[]> {
    let q = this.db
      .selectFrom(this.codec.table)
      .selectAll()
      .where((eb) => eb.and(this.where(eb, filter)));
    if (this.codec.createdColumn !== null) q = q.orderBy(sql.ref(this.codec.createdColumn), 'desc');
    for (const k of this.codec.key) q = q.orderBy(sql.ref(k), 'desc');
    if (page !== undefined) q = q.limit(page.limit).offset(page.offset);
    return this.decodeAll(await q.execute());
  }

  async count(filter: F): Promise<number> {
    const row = await this.db
      .selectFrom(this.codec.table)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where((eb) => eb.and(this.where(eb, filter)))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async insert(record: R): Promise<boolean> {
    const { row, extras } = this.codec.encode(record, this.enc);
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .insertInto(this.codec.table)
        .values(row)
        .onConflict((oc) => oc.columns([...this.codec.key]).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await this.writeExtras(trx, this.codec.id(record), extras, record.updated_at);
      return true;
    });
  }

  async update(record: R): Promise<boolean> {
    const { row, extras } = this.codec.encode(record, this.enc);
    const changes: Row = { ...row };
    for (const k of this.codec.key) delete changes[k];
    delete changes.created_at;
    delete changes.created_by;
    return this.db.transaction().execute(async (trx) => {
      let q = trx.updateTable(this.codec.table).set(changes);
      for (const k of this.codec.key) q = q.where(sql.ref(k), '=', row[k] as string);
      const result = await q.executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await this.writeExtras(trx, this.codec.id(record), extras, record.updated_at);
      return true;
    });
  }

  async delete(ids: readonly string[], _at: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const keyCol = this.codec.key[0] ?? '';
    return this.db.transaction().execute(async (trx) => {
      const existing = (await trx.selectFrom(this.codec.table).select(sql.ref<string>(keyCol).as('id')).where(sql.ref(keyCol), 'in', [...ids]).execute()) as { id: string }[];
      const found = existing.map((r) => r.id);
      if (found.length === 0) return [];
      await trx.deleteFrom(this.codec.table).where(sql.ref(keyCol), 'in', found).execute();
      await trx.deleteFrom(EXTRAS).where(sql.ref('kind'), '=', this.codec.kind).where(sql.ref('id'), 'in', found).execute();
      return found;
    });
  }

  /** Every row, decoded with its extras. */
  async all(): Promise<R[]> {
    return this.decodeAll(await this.db.selectFrom(this.codec.table).selectAll().execute());
  }

  protected async decodeAll(rows: Row[]): Promise<R[]> {
    if (rows.length === 0) return [];
    const extras = await loadExtras(this.db, this.codec.kind);
    return rows.map((row) => {
      const id = this.codec.key.map((k) => str(row[k]) ?? '').join(':');
      return this.codec.decode(row, extras.get(id) ?? {});
    });
  }

  protected async writeExtras(trx: Transaction<Record<string, Row>>, id: string, extras: Obj, at: number): Promise<void> {
    const meaningful = Object.entries(extras).some(([, v]) => v !== null && v !== undefined && !(typeof v === 'object' && Object.keys(v).length === 0));
    await trx.deleteFrom(EXTRAS).where(sql.ref('kind'), '=', this.codec.kind).where(sql.ref('id'), '=', id).execute();
    if (meaningful) await trx.insertInto(EXTRAS).values({ kind: this.codec.kind, id, doc: JSON.stringify(extras), updated_at: at }).execute();
  }
}

class SqlKeyStore extends SqlRecordStore<KeyRecord, KeyFilter> implements KeyStore {
  async replace(oldToken: string, next: KeyRecord, _at: number): Promise<boolean> {
    const { row, extras } = this.codec.encode(next, this.enc);
    return this.db.transaction().execute(async (trx) => {
      // The regenerated key keeps what the old row had counted (LiteLLM keeps `spend` on regenerate).
      const old = await trx.selectFrom(this.codec.table).select(['spend', 'model_spend']).where(sql.ref('token'), '=', oldToken).executeTakeFirst();
      if (old === undefined) return false;
      await trx.deleteFrom(this.codec.table).where(sql.ref('token'), '=', oldToken).execute();
      await trx.deleteFrom(EXTRAS).where(sql.ref('kind'), '=', 'key').where(sql.ref('id'), '=', oldToken).execute();
      await trx
        .insertInto(this.codec.table)
        .values({ ...row, spend: old.spend, model_spend: typeof old.model_spend === 'string' ? old.model_spend : JSON.stringify(old.model_spend ?? {}) })
        .execute();
      await this.writeExtras(trx, next.token, extras, next.updated_at);
      return true;
    });
  }
}

/** Memberships keyed by (group, user), over LiteLLM_OrganizationMembership / LiteLLM_TeamMembership. */
class SqlMembershipStore<R extends { user_id: string; updated_at: number }> implements MembershipStore<R> {
  private readonly enc: Encoder;

  constructor(
    private readonly db: LooseDb,
    dialect: DatabaseDialect,
    private readonly codec: Codec<R>,
    private readonly groupColumn: 'organization_id' | 'team_id',
  ) {
    this.enc = new Encoder(dialect);
  }

  async get(groupId: string, userId: string): Promise<R | undefined> {
    const row = await this.db.selectFrom(this.codec.table).selectAll().where(sql.ref(this.groupColumn), '=', groupId).where(sql.ref('user_id'), '=', userId).executeTakeFirst();
    return row === undefined ? undefined : this.codec.decode(row, {});
  }

  async find(filter: MembershipFilter): Promise<R[]> {
    const rows = await this.db
      .selectFrom(this.codec.table)
      .selectAll()
      .where((eb) => eb.and([...inList(eb, this.groupColumn, filter.groupIds), ...inList(eb, 'user_id', filter.userIds)]))
      .orderBy(sql.ref(this.groupColumn))
      .orderBy(sql.ref('user_id'))
      .execute();
    return rows.map((r) => this.codec.decode(r, {}));
  }

  async all(): Promise<R[]> {
    return this.find({});
  }

  async insert(record: R): Promise<boolean> {
    const result = await this.db
      .insertInto(this.codec.table)
      .values(this.codec.encode(record, this.enc).row)
      .onConflict((oc) => oc.columns(['user_id', this.groupColumn]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(record: R): Promise<boolean> {
    const row = this.codec.encode(record, this.enc).row;
    const changes: Row = { ...row };
    delete changes.user_id;
    delete changes[this.groupColumn];
    delete changes.created_at;
    const result = await this.db
      .updateTable(this.codec.table)
      .set(changes)
      .where(sql.ref(this.groupColumn), '=', row[this.groupColumn] as string)
      .where(sql.ref('user_id'), '=', record.user_id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(pairs: readonly { groupId: string; userId: string }[], _at: number): Promise<number> {
    let removed = 0;
    for (const p of pairs) {
      const r = await this.db.deleteFrom(this.codec.table).where(sql.ref(this.groupColumn), '=', p.groupId).where(sql.ref('user_id'), '=', p.userId).executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }
}

const likeText = (s: string): string => `%${s.toLowerCase().replace(/[%_\\]/g, '')}%`;

export class SqlTenancyStores implements TenancyStores {
  readonly keys: SqlKeyStore;
  readonly users: SqlRecordStore<UserRecord, UserFilter>;
  readonly teams: SqlRecordStore<TeamRecord, TeamFilter>;
  readonly customers: SqlRecordStore<CustomerRecord, CustomerFilter>;
  readonly models: SqlRecordStore<ModelRecord, ModelFilter>;
  readonly budgetTable: SqlRecordStore<BudgetRecord, BudgetFilter>;
  readonly organizations: SqlRecordStore<OrganizationRecord, OrganizationFilter>;
  readonly orgMemberships: SqlMembershipStore<OrgMembershipRecord>;
  readonly teamMemberships: SqlMembershipStore<TeamMembershipRecord>;
  readonly budgets: BudgetCounterStore;
  private readonly db: LooseDb;

  constructor(
    db: Kysely<unknown>,
    private readonly dialect: DatabaseDialect,
  ) {
    this.db = db as LooseDb;
    const d = this.db;
    this.keys = new SqlKeyStore(d, dialect, keyCodec, (eb, f) => [
      ...inList(eb, 'token', f.tokens),
      ...inList(eb, 'key_alias', f.aliases),
      ...inList(eb, 'user_id', f.userIds),
      ...inList(eb, 'team_id', f.teamIds),
    ]);
    this.users = new SqlRecordStore(d, dialect, userCodec, (eb, f) => [
      ...inList(eb, 'user_id', f.userIds),
      ...(f.role === undefined ? [] : [eb(sql.ref('user_role'), '=', f.role)]),
      // Case-insensitive substring, the same on both databases.
      ...(f.email === undefined ? [] : [eb(eb.fn('lower', [sql.ref('user_email')]), 'like', likeText(f.email))]),
    ]);
    this.teams = new SqlRecordStore(d, dialect, teamCodec, (eb, f) => [...inList(eb, 'team_id', f.teamIds), ...(f.alias === undefined ? [] : [eb(sql.ref('team_alias'), '=', f.alias)])]);
    this.customers = new SqlRecordStore(d, dialect, customerCodec, (eb, f) => inList(eb, 'user_id', f.userIds));
    this.models = new SqlRecordStore(d, dialect, modelCodec, (eb, f) => [...inList(eb, 'model_id', f.modelIds), ...(f.modelName === undefined ? [] : [eb(sql.ref('model_name'), '=', f.modelName)])]);
    this.budgetTable = new SqlRecordStore(d, dialect, budgetCodec, (eb, f) => inList(eb, 'budget_id', f.budgetIds));
    this.organizations = new SqlRecordStore(d, dialect, organizationCodec, (eb, f) => [
      ...inList(eb, 'organization_id', f.organizationIds),
      ...(f.alias === undefined ? [] : [eb(sql.ref('organization_alias'), '=', f.alias)]),
    ]);
    this.orgMemberships = new SqlMembershipStore(d, dialect, orgMembershipCodec, 'organization_id');
    this.teamMemberships = new SqlMembershipStore(d, dialect, teamMembershipCodec, 'team_id');
    this.budgets = new SqlBudgetCounterStore(d, dialect);
  }

  async snapshot(): Promise<TenancySnapshot> {
    const [keys, users, teams, customers, models, budgets, organizations, teamMemberships, orgMemberships, entitySpend] = await Promise.all([
      this.keys.all(),
      this.users.all(),
      this.teams.all(),
      this.customers.all(),
      this.models.all(),
      this.budgetTable.all(),
      this.organizations.all(),
      this.teamMemberships.all(),
      this.orgMemberships.all(),
      this.entitySpend(),
    ]);
    return { keys, users, teams, customers, models, budgets, organizations, teamMemberships, orgMemberships, entitySpend };
  }

  changeFeed(): TenancyFeed {
    return new SqlTenancyFeed(this.db, this.dialect === 'sqlite' ? new SqliteChangeLog(this.db) : new PostgresFingerprints(this.db));
  }

  /** LiteLLM's `spend` of every entity row that has one, for seeding the counters. */
  private async entitySpend(): Promise<EntitySpend[]> {
    const out: EntitySpend[] = [];
    const read = async (table: string, idCols: readonly string[], scope: (row: Row) => string, hasReset: boolean): Promise<void> => {
      const cols = [...idCols, 'spend', ...(hasReset ? ['budget_reset_at'] : [])];
      const rows = await this.db
        .selectFrom(table)
        .select(cols.map((c) => sql.ref<unknown>(c).as(c)))
        .where(sql.ref('spend'), '>', 0)
        .execute();
      for (const row of rows as Row[]) {
        const nano = usdToNano(row.spend);
        if (nano !== null && nano > 0) out.push({ scope: scope(row), spend_nano: nano, budget_reset_at: hasReset ? time(row.budget_reset_at) : null });
      }
    };
    await Promise.all([
      read('LiteLLM_VerificationToken', ['token'], (r) => `key:${str(r.token) ?? ''}`, true),
      read('LiteLLM_UserTable', ['user_id'], (r) => `user:${str(r.user_id) ?? ''}`, true),
      read('LiteLLM_TeamTable', ['team_id'], (r) => `team:${str(r.team_id) ?? ''}`, true),
      read('LiteLLM_EndUserTable', ['user_id'], (r) => `customer:${str(r.user_id) ?? ''}`, false),
      read('LiteLLM_OrganizationTable', ['organization_id'], (r) => `org:${str(r.organization_id) ?? ''}`, false),
      read('LiteLLM_TeamMembership', ['team_id', 'user_id'], (r) => `team_member:${str(r.team_id) ?? ''}/${str(r.user_id) ?? ''}`, false),
    ]);
    return out;
  }
}
