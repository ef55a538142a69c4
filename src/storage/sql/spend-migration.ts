/**
 * Tollgate's table beside LiteLLM's spend tables: `tollgate_call_details`, one row per call record,
 * keyed by call_id. It keeps what LiteLLM's columns cannot say exactly (disjoint cache-write TTLs,
 * reasoning tokens, unknown-vs-zero, integer nano-USD cost, retries, fallbacks, attempts, error
 * class) and is the ledger that makes a retried spend batch idempotent: a call whose call_id is
 * here has been written, spend log and daily sums included, in the same transaction.
 *
 * LiteLLM's own tables (`LiteLLM_SpendLogs`, `LiteLLM_Daily*Spend`) are created by the LiteLLM
 * schema migration (0003); nothing here alters them. The rows of an older Tollgate's `spend_logs`
 * are copied into them here, once (spend-import.ts).
 */
import type { Kysely } from 'kysely';
import type { DatabaseDialect } from '../ports.js';
import { importLegacySpendLogs } from './spend-import.js';

export async function createSpendTables(db: Kysely<unknown>, dialect: DatabaseDialect): Promise<void> {
  await db.schema
    .createTable('tollgate_call_details')
    .ifNotExists()
    .addColumn('call_id', 'text', (c) => c.primaryKey())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('litellm_call_id', 'text', (c) => c.notNull())
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('surface', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('requested_model', 'text', (c) => c.notNull())
    .addColumn('upstream_model', 'text')
    .addColumn('provider', 'text')
    .addColumn('retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fallbacks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stream', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('passthrough', 'integer', (c) => c.notNull().defaultTo(0))
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
    .addColumn('cost_nano_usd', 'bigint')
    .addColumn('cost_missing_reason', 'text')
    .addColumn('ttft_ms', 'integer')
    .addColumn('upstream_ms', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('client_disconnected', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  // Joined to LiteLLM_SpendLogs on request_id; start_time for retention by age.
  await db.schema.createIndex('tollgate_call_details_request_id_idx').ifNotExists().on('tollgate_call_details').column('request_id').execute();
  // /spend/logs?request_id= also finds a call by the x-litellm-call-id its client saw.
  await db.schema.createIndex('tollgate_call_details_litellm_call_id_idx').ifNotExists().on('tollgate_call_details').column('litellm_call_id').execute();
  await db.schema.createIndex('tollgate_call_details_start_time_idx').ifNotExists().on('tollgate_call_details').column('start_time').execute();
  // An older Tollgate's own spend_logs rows move into LiteLLM's tables (and the daily sums) once.
  await importLegacySpendLogs(db, dialect);
}

/**
 * The spend log's ingest side (issue 10): the writer appends each call here as one compact row —
 * an integer id the database assigns in insertion order (SQLite's rowid, a Postgres identity), no
 * secondary index, the row itself as JSON text — and a background fold moves the rows, in short
 * slices, into the indexed tables above and LiteLLM's (spend-fold.ts). A slice's additions to the
 * daily tables are summed and parked in `tollgate_spend_daily_pending`, then added per
 * (table, entity, day, key, model …) once for many slices. Each step deletes what it consumed in
 * the transaction that applies it, so nothing is counted twice and a crash loses nothing.
 */
export async function createSpendIngestTables(db: Kysely<unknown>, dialect: DatabaseDialect): Promise<void> {
  const id = dialect === 'sqlite' ? 'integer' : 'bigserial';
  await db.schema
    .createTable('tollgate_spend_ingest')
    .ifNotExists()
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    // 1 = the fold refused this row on its own (set aside, kept for inspection, no longer retried).
    .addColumn('parked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('tollgate_spend_daily_pending')
    .ifNotExists()
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
}
