/**
 * Writing a batch of calls, inside a transaction the caller opened (the store's, or a
 * migration's): Tollgate's details rows first, as the ledger (ON CONFLICT (call_id) DO NOTHING …
 * RETURNING says which calls are new); then a `LiteLLM_SpendLogs` row for each new call; then the
 * new calls' additions to LiteLLM's daily tables. A retried batch therefore never counts a call
 * twice.
 *
 * `request_id` is LiteLLM_SpendLogs' primary key, and a client may send the same id twice
 * (x-litellm-call-id is client-suppliable; LiteLLM itself drops the second row). Here the second
 * call keeps its spend: its row gets the call_id instead, and its details row says which id it has.
 */
import { sql, type Kysely } from 'kysely';
import type { DatabaseDialect, LiteLLMSpendLog, SpendLogRow } from '../ports.js';
import { addToDailyTables, type DailyTableShape } from './spend-daily.js';
import { CALL_DETAILS, DAILY_TABLES, encodeJson, encodeTime, existing, SPEND_LOGS, text, type ColumnCatalog, type LooseRow, type SpendSchema } from './spend-tables.js';

/** Rows per INSERT: ~35 columns × 200 stays far below SQLite's 32766 and Postgres' 65535 bound parameters. */
const ROWS_PER_STATEMENT = 200;

/** What a write needs to know about the tables, read before the transaction opens. */
export interface WriteShapes {
  logColumns: ReadonlySet<string>;
  shapeOf: (table: string) => DailyTableShape;
}

export async function loadShapes(catalog: ColumnCatalog): Promise<WriteShapes> {
  const logColumns = await catalog.columns(SPEND_LOGS);
  const shapes = new Map<string, DailyTableShape>();
  for (const { table } of Object.values(DAILY_TABLES)) shapes.set(table, { columns: await catalog.columns(table), uniqueKeys: await catalog.uniqueKeys(table) });
  return { logColumns, shapeOf: (t) => shapes.get(t) ?? { columns: new Set(), uniqueKeys: [] } };
}

/** Write the calls on `trx` (already inside a transaction). */
export async function writeSpendRows(trx: Kysely<SpendSchema>, dialect: DatabaseDialect, shapes: WriteShapes, rows: readonly SpendLogRow[], now: number): Promise<void> {
  const unique = [...new Map(rows.map((r) => [r.details.call_id, r])).values()];
  const named = await assignRequestIds(trx, unique);
  const fresh = await insertDetails(trx, named);
  if (fresh.length === 0) return;
  for (let i = 0; i < fresh.length; i += ROWS_PER_STATEMENT) {
    const values = fresh.slice(i, i + ROWS_PER_STATEMENT).map((r) => existing(encodeLog(dialect, r.log), shapes.logColumns));
    await trx.insertInto(SPEND_LOGS).values(values).execute();
  }
  await addToDailyTables(
    trx,
    dialect,
    shapes.shapeOf,
    fresh.map((r) => ({ log: r.log, endpoint: r.details.route })),
    now,
  );
}

/** A request id already stored (or twice in this batch) is replaced by the call id for the later call. */
async function assignRequestIds(trx: Kysely<SpendSchema>, rows: readonly SpendLogRow[]): Promise<SpendLogRow[]> {
  const taken = new Set<string>();
  const ids = [...new Set(rows.map((r) => r.log.request_id))];
  for (let i = 0; i < ids.length; i += ROWS_PER_STATEMENT) {
    const chunk = ids.slice(i, i + ROWS_PER_STATEMENT);
    const found = await trx.selectFrom(SPEND_LOGS).select(sql<string>`request_id`.as('request_id')).where(sql<boolean>`request_id in (${sql.join(chunk)})`).execute();
    for (const f of found) taken.add(text(f.request_id));
  }
  // Calls already written (a retried batch) may be renamed here; they are skipped by the ledger anyway.
  return rows.map((r) => {
    let id = r.log.request_id;
    if (taken.has(id)) id = r.details.call_id;
    taken.add(id);
    return id === r.log.request_id ? r : { log: { ...r.log, request_id: id }, details: { ...r.details, request_id: id } };
  });
}

/** Insert the details rows; returns the calls that were not stored before. */
async function insertDetails(trx: Kysely<SpendSchema>, rows: readonly SpendLogRow[]): Promise<SpendLogRow[]> {
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values = rows.slice(i, i + ROWS_PER_STATEMENT).map(encodeDetails);
    const result = await trx
      .insertInto(CALL_DETAILS)
      .values(values)
      .onConflict((oc) => oc.column('call_id').doNothing())
      .returning(sql<string>`call_id`.as('call_id'))
      .execute();
    for (const r of result) inserted.add(text(r.call_id));
  }
  return rows.filter((r) => inserted.has(r.details.call_id));
}

function encodeLog(dialect: DatabaseDialect, log: LiteLLMSpendLog): LooseRow {
  return {
    ...log,
    startTime: encodeTime(dialect, log.startTime),
    endTime: encodeTime(dialect, log.endTime),
    completionStartTime: log.completionStartTime === null ? null : encodeTime(dialect, log.completionStartTime),
    metadata: encodeJson(log.metadata),
    request_tags: encodeJson(log.request_tags),
    // LiteLLM's defaults for what Tollgate does not store (prompts and responses are off by default there too).
    messages: '{}',
    response: '{}',
    proxy_server_request: '{}',
  };
}

function encodeDetails(row: SpendLogRow): LooseRow {
  const d = row.details;
  return { ...d, start_time: Math.round(row.log.startTime), stream: d.stream ? 1 : 0, passthrough: d.passthrough ? 1 : 0, client_disconnected: d.client_disconnected ? 1 : 0 };
}
