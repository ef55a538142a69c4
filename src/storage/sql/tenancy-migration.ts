/**
 * Migration 0002: the tenancy tables (see `schema.ts`). Same portable choices as 0001: epoch-ms
 * BIGINTs, JSON as TEXT, money as integer nano-USD in BIGINT.
 */
import type { Kysely } from 'kysely';

export async function createTenancyTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenancy_records')
    .ifNotExists()
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('alias', 'text')
    .addColumn('user_id', 'text')
    .addColumn('team_id', 'text')
    .addColumn('role', 'text')
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tenancy_records_pk', ['kind', 'id'])
    .execute();
  for (const column of ['alias', 'user_id', 'team_id'] as const) {
    await db.schema.createIndex(`tenancy_records_${column}_idx`).ifNotExists().on('tenancy_records').columns(['kind', column]).execute();
  }
  await db.schema.createIndex('tenancy_records_updated_at_idx').ifNotExists().on('tenancy_records').column('updated_at').execute();

  await db.schema
    .createTable('tenancy_deletions')
    .ifNotExists()
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tenancy_deletions_deleted_at_idx').ifNotExists().on('tenancy_deletions').column('deleted_at').execute();

  await db.schema
    .createTable('budget_counters')
    .ifNotExists()
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('period_end', 'bigint', (c) => c.notNull())
    .addColumn('spend_nano', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('budget_counters_pk', ['scope', 'period_end'])
    .execute();
  await db.schema.createIndex('budget_counters_updated_at_idx').ifNotExists().on('budget_counters').column('updated_at').execute();
  await db.schema.createIndex('budget_counters_period_end_idx').ifNotExists().on('budget_counters').column('period_end').execute();

  await db.schema
    .createTable('budget_alerts')
    .ifNotExists()
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('period_end', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('budget_alerts_pk', ['scope', 'period_end', 'kind'])
    .execute();
}
