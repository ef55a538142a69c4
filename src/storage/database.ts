/**
 * Opens the store named by the configuration: a `postgres://` / `postgresql://` URL selects
 * Postgres; anything else is a SQLite file (default `<dataDir>/tollgate.db`), `:memory:` for
 * tests. The caller runs `migrate()` once at startup before serving.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { Migrator, sql, type Kysely } from 'kysely';
import { migrationProvider } from './migrations.js';
import type { Database, DatabaseDialect } from './ports.js';
import { connectPostgres } from './postgres/connect.js';
import type { StorageSchema } from './sql/schema.js';
import { SqlSpendLogStore } from './sql/spend-log-store.js';
import { SqlTenancyStores } from './sql/tenancy-store.js';
import { connectSqlite, MEMORY } from './sqlite/connect.js';
import { PostgresSharedState } from './sql/counter-state.js';
import { PostgresChangeSignal } from './postgres/change-signal.js';
import type { ChangeSignal } from './change-signal.js';
import type { SharedState } from './shared-state.js';

export interface OpenDatabaseOptions {
  /** Postgres pool size (default 10). */
  poolSize?: number | undefined;
  /** Told about failures the caller cannot otherwise see (an idle Postgres connection dropping). */
  onError?: ((err: Error) => void) | undefined;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** Where a non-Postgres URL puts the SQLite file: accepts a path, `file:…`, `sqlite:…` or `sqlite://…`. */
export function sqlitePath(url: string | undefined, dataDir: string): string {
  if (url === undefined || url.trim() === '') return resolve(dataDir, 'tollgate.db');
  const path = url.trim().replace(/^(sqlite|file):(\/\/)?/i, '');
  if (path === MEMORY) return MEMORY;
  return isAbsolute(path) ? path : join(process.cwd(), path);
}

export function openDatabase(url: string | undefined, dataDir: string, options: OpenDatabaseOptions = {}): Database {
  if (isPostgresUrl(url)) {
    return new KyselyDatabase('postgres', connectPostgres(url, { poolSize: options.poolSize, onPoolError: options.onError }), url);
  }
  return new KyselyDatabase('sqlite', connectSqlite(sqlitePath(url, dataDir)));
}

class KyselyDatabase implements Database {
  readonly spendLogs: SqlSpendLogStore;
  readonly tenancy: SqlTenancyStores;
  private closed = false;

  constructor(
    readonly dialect: DatabaseDialect,
    private readonly db: Kysely<StorageSchema>,
    /** The Postgres URL, for the connection that listens for admin changes. */
    private readonly url?: string | undefined,
  ) {
    this.spendLogs = new SqlSpendLogStore(db, dialect);
    this.tenancy = new SqlTenancyStores(db as Kysely<unknown>, dialect);
  }

  changeSignal(log?: (message: string) => void): ChangeSignal | undefined {
    return this.dialect === 'postgres' && this.url !== undefined ? new PostgresChangeSignal(this.url, log) : undefined;
  }

  sharedCounters(): SharedState | undefined {
    return this.dialect === 'postgres' ? new PostgresSharedState(this.db as Kysely<unknown>) : undefined;
  }

  async migrate(): Promise<void> {
    // Kysely's migrator is typed for any schema; ours is the one the migrations create.
    const db = this.db as Kysely<unknown>;
    // Without a schema, Kysely takes a migration table in *any* Postgres schema as ours and then
    // fails to find it on the search path: name the schema we run in.
    const migrationTableSchema = this.dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
    const migrator = new Migrator({ db, provider: migrationProvider(this.dialect), migrationTableSchema });
    let { error, results } = await migrator.migrateToLatest();
    // Kysely's introspection lists the tables of every schema; one dropped meanwhile by someone
    // else (another tenant, a parallel test run) fails it with "schema … does not exist". That
    // says nothing about ours: look again.
    for (let retry = 0; retry < 5 && error !== undefined && isOtherSchemaGone(error, migrationTableSchema); retry++) {
      ({ error, results } = await migrator.migrateToLatest());
    }
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      throw new Error(`Database migration ${failed ?? ''} failed on ${this.dialect}: ${reason}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}

/** A schema vanished under Kysely's introspection. If it were ours, the retries fail the same way. */
function isOtherSchemaGone(error: unknown, _ours: string | undefined): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /schema "[^"]+" does not exist/.test(message);
}
