/**
 * The one set of migrations, written with Kysely's schema builder so the same code creates the same
 * schema on SQLite and on Postgres. Applied at startup by `Database.migrate()`; Kysely records what
 * ran in `kysely_migration` and, on Postgres, holds an advisory lock so instances starting together
 * do not race. Never edit a migration that has shipped: add a new one (names sort in run order).
 *
 * Portable column choices: times are epoch milliseconds in BIGINT (compared and bucketed by day
 * with integer arithmetic on both databases), booleans are 0/1 INTEGER (better-sqlite3 cannot bind
 * booleans), JSON is TEXT.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { createTollgateTables, ensureLiteLLMTables } from './sql/litellm-migration.js';
import { importTenancyRecords } from './sql/tenancy-import.js';
import { createSpendIngestTables, createSpendTables } from './sql/spend-migration.js';
import { createTenancyTables } from './sql/tenancy-migration.js';
import { sql } from 'kysely';
import { COUNTERS_TABLE } from './sql/counter-state.js';
import { SPEND_BATCHES } from './sql/budget-counter-store.js';
import { APPLY_FUNCTION_SQL } from './sql/counter-function.js';

async function createSpendLogs(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('spend_logs')
    .ifNotExists()
    .addColumn('call_id', 'text', (c) => c.primaryKey())
    // The x-litellm-call-id: a client may send the same one twice, so it is indexed, not unique.
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('call_type', 'text', (c) => c.notNull())
    .addColumn('surface', 'text', (c) => c.notNull())
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint', (c) => c.notNull())
    .addColumn('api_key', 'text')
    .addColumn('key_alias', 'text')
    .addColumn('user_id', 'text')
    .addColumn('team_id', 'text')
    .addColumn('end_user', 'text')
    .addColumn('requested_model', 'text', (c) => c.notNull())
    .addColumn('model_group', 'text')
    .addColumn('model_id', 'text')
    .addColumn('provider', 'text')
    .addColumn('upstream_model', 'text')
    .addColumn('api_base', 'text')
    .addColumn('retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fallbacks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stream', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error_class', 'text')
    .addColumn('error_message', 'text')
    .addColumn('input_uncached_tokens', 'bigint')
    .addColumn('cache_read_tokens', 'bigint')
    .addColumn('cache_write_5m_tokens', 'bigint')
    .addColumn('cache_write_1h_tokens', 'bigint')
    .addColumn('cache_write_unknown_ttl_tokens', 'bigint')
    .addColumn('output_tokens', 'bigint')
    .addColumn('reasoning_tokens', 'bigint')
    .addColumn('prompt_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cost_nano_usd', 'bigint')
    .addColumn('ttft_ms', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('metadata', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('client_disconnected', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  for (const column of ['request_id', 'start_time', 'api_key', 'user_id', 'team_id', 'end_user'] as const) {
    await db.schema.createIndex(`spend_logs_${column}_idx`).ifNotExists().on('spend_logs').column(column).execute();
  }
}

/**
 * The migrations in run order. 0003 makes LiteLLM's own tables the store (creating only what a
 * LiteLLM-made database lacks) and copies an older Tollgate's `tenancy_records` into them once.
 */
export function migrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  return {
    '0001_spend_logs': { up: createSpendLogs },
    '0002_tenancy': { up: createTenancyTables },
    '0003_litellm_schema': {
      up: async (db) => {
        await ensureLiteLLMTables(db, dialect);
        await createTollgateTables(db);
        await importTenancyRecords(db, dialect);
      },
    },
    '0004_spend_details': { up: (db) => createSpendTables(db, dialect) },
    '0005_spend_ingest': { up: (db) => createSpendIngestTables(db, dialect) },
    // Admission counters for several instances on one Postgres without Redis (sql/counter-state.ts).
    '0006_shared_counters': {
      up: async (db) => {
        await db.schema
          .createTable(COUNTERS_TABLE)
          .ifNotExists()
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'double precision', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .execute();
        await db.schema.createIndex(`${COUNTERS_TABLE}_expires_at_idx`).ifNotExists().on(COUNTERS_TABLE).column('expires_at').execute();
      },
    },
    // Flush batches already applied, so a retried budget-counter flush counts once (sql/budget-counter-store.ts).
    '0008_spend_batches': {
      up: async (db) => {
        await db.schema
          .createTable(SPEND_BATCHES)
          .ifNotExists()
          .addColumn('batch_id', 'text', (c) => c.primaryKey())
          .addColumn('applied_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex(`${SPEND_BATCHES}_applied_at_idx`).ifNotExists().on(SPEND_BATCHES).column('applied_at').execute();
      },
    },
    // The one-round-trip admit/settle of those counters (sql/counter-function.ts); Postgres only.
    // (CREATE OR REPLACE: a later change to the function is a new migration running it again.)
    '0007_shared_counters_function': {
      up: async (db) => {
        if (dialect === 'postgres') await sql.raw(APPLY_FUNCTION_SQL).execute(db);
      },
    },
    // The function again, after it learnt to restart a counter an earlier increment of the same call expired.
    '0009_shared_counters_function': {
      up: async (db) => {
        if (dialect === 'postgres') await sql.raw(APPLY_FUNCTION_SQL).execute(db);
      },
    },
  };
}

/** Kysely's provider for the in-code list (no migration files to ship or find at runtime). */
export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
