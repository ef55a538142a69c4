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
import { CompiledQuery, type Kysely } from 'kysely';
import type { DatabaseDialect, LiteLLMSpendLog, SpendLogRow } from '../ports.js';
import { addToDailyTables, type DailyInput, type DailyTableShape } from './spend-daily.js';
import { CALL_DETAILS, DAILY_TABLES, encodeJson, encodeTime, SPEND_LOGS, text, type ColumnCatalog, type LooseRow, type SpendSchema } from './spend-tables.js';

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

/** Write the calls on `trx` (already inside a transaction), daily sums included. */
export async function writeSpendRows(trx: Kysely<SpendSchema>, dialect: DatabaseDialect, shapes: WriteShapes, rows: readonly SpendLogRow[], now: number): Promise<void> {
  const fresh = await writeLogRows(trx, dialect, shapes, rows);
  if (fresh.length > 0) await addToDailyTables(trx, dialect, shapes.shapeOf, dailyInputs(fresh), now);
}

/**
 * The details and LiteLLM_SpendLogs rows of the calls, on `trx`; returns the calls that were new
 * (their request ids as stored), whose daily sums the caller still owes. Plain positional
 * statements (a multi-row INSERT per table and chunk, SQL text cached per shape): this runs for
 * every call, and the query builder's per-value work cost more than the database's.
 */
export async function writeLogRows(trx: Kysely<SpendSchema>, dialect: DatabaseDialect, shapes: WriteShapes, rows: readonly SpendLogRow[]): Promise<SpendLogRow[]> {
  const unique = [...new Map(rows.map((r) => [r.details.call_id, r])).values()];
  const named = await assignRequestIds(trx, dialect, unique);
  const fresh = await insertDetails(trx, dialect, named);
  const columns = LOG_COLUMNS.filter((c) => shapes.logColumns.has(c));
  for (let i = 0; i < fresh.length; i += ROWS_PER_STATEMENT) {
    const chunk = fresh.slice(i, i + ROWS_PER_STATEMENT);
    const values: unknown[] = [];
    for (const r of chunk) {
      const encoded = encodeLog(dialect, r.log);
      for (const c of columns) values.push(encoded[c] ?? null);
    }
    await trx.executeQuery(CompiledQuery.raw(insertSql(dialect, SPEND_LOGS, columns, chunk.length, ''), values));
  }
  return fresh;
}

/** What the daily tables need of each call: its row, and its route as `endpoint`. */
export function dailyInputs(rows: readonly SpendLogRow[]): DailyInput[] {
  return rows.map((r) => ({ log: r.log, endpoint: r.details.route }));
}

const sqlCache = new Map<string, string>();

/** `insert into "table" (columns) values (…), (…)` for `count` rows, `?` or `$n` placeholders, plus `tail`. */
function insertSql(dialect: DatabaseDialect, table: string, columns: readonly string[], count: number, tail: string): string {
  const cacheKey = `${dialect}|${table}|${count}|${tail}|${columns.join(',')}`;
  let text = sqlCache.get(cacheKey);
  if (text === undefined) {
    let n = 1;
    const tuples: string[] = [];
    for (let r = 0; r < count; r++) tuples.push(`(${columns.map(() => (dialect === 'sqlite' ? '?' : `$${n++}`)).join(', ')})`);
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}${tail}`;
    if (sqlCache.size > 1000) sqlCache.clear();
    sqlCache.set(cacheKey, text);
  }
  return text;
}

function inList(dialect: DatabaseDialect, count: number): string {
  return Array.from({ length: count }, (_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`)).join(', ');
}

/** A request id already stored (or twice in this batch) is replaced by the call id for the later call. */
async function assignRequestIds(trx: Kysely<SpendSchema>, dialect: DatabaseDialect, rows: readonly SpendLogRow[]): Promise<SpendLogRow[]> {
  const taken = new Set<string>();
  const ids = [...new Set(rows.map((r) => r.log.request_id))];
  for (let i = 0; i < ids.length; i += ROWS_PER_STATEMENT) {
    const chunk = ids.slice(i, i + ROWS_PER_STATEMENT);
    const found = await trx.executeQuery<LooseRow>(CompiledQuery.raw(`select "request_id" from "${SPEND_LOGS}" where "request_id" in (${inList(dialect, chunk.length)})`, chunk));
    for (const f of found.rows) taken.add(text(f.request_id));
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
async function insertDetails(trx: Kysely<SpendSchema>, dialect: DatabaseDialect, rows: readonly SpendLogRow[]): Promise<SpendLogRow[]> {
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const values: unknown[] = [];
    for (const r of chunk) {
      const encoded = encodeDetails(r);
      for (const c of DETAIL_COLUMNS) values.push(encoded[c] ?? null);
    }
    const result = await trx.executeQuery<LooseRow>(
      CompiledQuery.raw(insertSql(dialect, CALL_DETAILS, DETAIL_COLUMNS, chunk.length, ' on conflict ("call_id") do nothing returning "call_id"'), values),
    );
    for (const r of result.rows) inserted.add(text(r.call_id));
  }
  return rows.filter((r) => inserted.has(r.details.call_id));
}

/** The spend log columns Tollgate fills, in statement order (those a database lacks are left out). */
const LOG_COLUMNS = [
  'request_id', 'call_type', 'api_key', 'spend', 'total_tokens', 'prompt_tokens', 'completion_tokens', 'startTime', 'endTime', 'request_duration_ms',
  'completionStartTime', 'model', 'model_id', 'model_group', 'custom_llm_provider', 'api_base', 'user', 'metadata', 'cache_hit', 'cache_key',
  'request_tags', 'team_id', 'organization_id', 'end_user', 'requester_ip_address', 'session_id', 'status', 'mcp_namespaced_tool_name', 'agent_id',
  'messages', 'response', 'proxy_server_request',
] as const;

const DETAIL_COLUMNS = [
  'call_id', 'request_id', 'litellm_call_id', 'start_time', 'surface', 'route', 'requested_model', 'upstream_model', 'provider', 'retries', 'fallbacks',
  'stream', 'passthrough', 'status_code', 'outcome', 'error_class', 'error_message', 'input_uncached_tokens', 'cache_read_tokens', 'cache_write_5m_tokens',
  'cache_write_1h_tokens', 'cache_write_unknown_ttl_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nano_usd', 'cost_missing_reason', 'ttft_ms',
  'upstream_ms', 'duration_ms', 'user_agent', 'client_disconnected', 'attempts',
] as const;

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
