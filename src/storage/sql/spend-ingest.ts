/**
 * The ingest table's side of the spend log: the payload codec and the few statements the writer
 * and the fold run against `tollgate_spend_ingest` and `tollgate_spend_daily_pending`
 * (spend-migration.ts). Statements are plain positional SQL built once per shape and run as
 * compiled queries: appending 500 calls is one multi-row INSERT of two values per row, with no
 * query-builder work per row.
 *
 * The payload is the call's LiteLLM row and details as JSON arrays in a fixed field order (no key
 * names: about a third smaller and cheaper to stringify than the objects), tagged with a version so
 * a later encoding can still read rows an older Tollgate left behind.
 */
import { CompiledQuery } from 'kysely';
import type { CallDetails, DatabaseDialect, LiteLLMSpendLog, SpendLogRow } from '../ports.js';

export const INGEST = 'tollgate_spend_ingest';
export const DAILY_PENDING = 'tollgate_spend_daily_pending';

const LOG_FIELDS = [
  'request_id', 'call_type', 'api_key', 'spend', 'total_tokens', 'prompt_tokens', 'completion_tokens', 'startTime', 'endTime', 'request_duration_ms',
  'completionStartTime', 'model', 'model_id', 'model_group', 'custom_llm_provider', 'api_base', 'user', 'metadata', 'cache_hit', 'cache_key',
  'request_tags', 'team_id', 'organization_id', 'end_user', 'requester_ip_address', 'session_id', 'status', 'mcp_namespaced_tool_name', 'agent_id',
] as const satisfies readonly (keyof LiteLLMSpendLog)[];

const DETAIL_FIELDS = [
  'call_id', 'request_id', 'litellm_call_id', 'surface', 'route', 'requested_model', 'upstream_model', 'provider', 'retries', 'fallbacks', 'stream',
  'passthrough', 'status_code', 'outcome', 'error_class', 'error_message', 'input_uncached_tokens', 'cache_read_tokens', 'cache_write_5m_tokens',
  'cache_write_1h_tokens', 'cache_write_unknown_ttl_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nano_usd', 'cost_missing_reason', 'ttft_ms',
  'upstream_ms', 'duration_ms', 'user_agent', 'client_disconnected', 'attempts',
] as const satisfies readonly (keyof CallDetails)[];

// A field added to either interface and not to its list fails to compile here (it would be lost in the ingest table).
type Covers<T, L extends readonly (keyof T)[]> = [Exclude<keyof T, L[number]>] extends [never] ? true : false;
const complete: [Covers<LiteLLMSpendLog, typeof LOG_FIELDS>, Covers<CallDetails, typeof DETAIL_FIELDS>] = [true, true];
void complete;

const VERSION = 1;

export function encodePayload(row: SpendLogRow): string {
  const { log, details } = row;
  const l: unknown[] = new Array(LOG_FIELDS.length);
  for (let i = 0; i < LOG_FIELDS.length; i++) l[i] = log[LOG_FIELDS[i] as keyof LiteLLMSpendLog];
  const d: unknown[] = new Array(DETAIL_FIELDS.length);
  for (let i = 0; i < DETAIL_FIELDS.length; i++) d[i] = details[DETAIL_FIELDS[i] as keyof CallDetails];
  return JSON.stringify([VERSION, l, d]);
}

/** The row back from its payload; throws on a payload this version cannot read. */
export function decodePayload(text: string): SpendLogRow {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || parsed[0] !== VERSION || !Array.isArray(parsed[1]) || !Array.isArray(parsed[2])) throw new Error('spend ingest: unknown payload encoding');
  const l = parsed[1] as unknown[];
  const d = parsed[2] as unknown[];
  const log: Record<string, unknown> = {};
  for (let i = 0; i < LOG_FIELDS.length; i++) log[LOG_FIELDS[i] as string] = l[i] ?? null;
  const details: Record<string, unknown> = {};
  for (let i = 0; i < DETAIL_FIELDS.length; i++) details[DETAIL_FIELDS[i] as string] = d[i] ?? null;
  // Written by encodePayload from a SpendLogRow: the shapes are ours.
  return { log: log as unknown as LiteLLMSpendLog, details: details as unknown as CallDetails };
}

/** Rows per append statement: 2 parameters each, far below either database's limit. */
export const APPEND_ROWS = 500;

/** The ingest statements of one dialect (placeholders differ: `?` on SQLite, `$n` on Postgres). */
export class IngestStatements {
  private readonly appendSql = new Map<number, string>();

  constructor(private readonly dialect: DatabaseDialect) {}

  private placeholders(count: number, perRow: number, start = 1): string {
    const rows: string[] = [];
    let n = start;
    for (let r = 0; r < count; r++) {
      const cells: string[] = [];
      for (let c = 0; c < perRow; c++) cells.push(this.dialect === 'sqlite' ? '?' : `$${n++}`);
      rows.push(`(${cells.join(', ')})`);
    }
    return rows.join(', ');
  }

  /** Appends of the rows, APPEND_ROWS per statement; the payloads are encoded here. */
  append(rows: readonly SpendLogRow[], recordedAt: number): CompiledQuery[] {
    const out: CompiledQuery[] = [];
    for (let i = 0; i < rows.length; i += APPEND_ROWS) {
      const chunk = rows.slice(i, i + APPEND_ROWS);
      let text = this.appendSql.get(chunk.length);
      if (text === undefined) {
        text = `insert into "${INGEST}" ("recorded_at", "payload") values ${this.placeholders(chunk.length, 2)}`;
        this.appendSql.set(chunk.length, text);
      }
      const params: unknown[] = new Array(chunk.length * 2);
      for (let r = 0; r < chunk.length; r++) {
        params[2 * r] = recordedAt;
        params[2 * r + 1] = encodePayload(chunk[r] as SpendLogRow);
      }
      out.push(CompiledQuery.raw(text, params));
    }
    return out;
  }

  /** The highest id appended so far (null: the table is empty). */
  maxId(): CompiledQuery {
    return CompiledQuery.raw(`select max("id") as "id" from "${INGEST}"`);
  }

  /**
   * The oldest unparked rows up to `maxId`. On Postgres the rows are locked and rows another
   * instance is folding are skipped, so two instances never fold the same call.
   */
  slice(limit: number, maxId: number): CompiledQuery {
    const p = this.dialect === 'sqlite' ? ['?', '?'] : ['$1', '$2'];
    const lock = this.dialect === 'postgres' ? ' for update skip locked' : '';
    return CompiledQuery.raw(`select "id", "payload" from "${INGEST}" where "parked" = 0 and "id" <= ${p[0]} order by "id" limit ${p[1]}${lock}`, [maxId, limit]);
  }

  /** Unparked rows up to `maxId` that are still there (folded by no one yet, or being folded elsewhere). */
  remaining(maxId: number): CompiledQuery {
    return CompiledQuery.raw(`select count(*) as "n" from "${INGEST}" where "parked" = 0 and "id" <= ${this.dialect === 'sqlite' ? '?' : '$1'}`, [maxId]);
  }

  delete(table: string, ids: readonly number[]): CompiledQuery {
    return CompiledQuery.raw(`delete from "${table}" where "id" in (${this.placeholders(ids.length, 1).replace(/[()]/g, '')})`, [...ids]);
  }

  park(id: number): CompiledQuery {
    return CompiledQuery.raw(`update "${INGEST}" set "parked" = 1 where "id" = ${this.dialect === 'sqlite' ? '?' : '$1'}`, [id]);
  }

  addPending(payloads: readonly string[]): CompiledQuery {
    return CompiledQuery.raw(`insert into "${DAILY_PENDING}" ("payload") values ${this.placeholders(payloads.length, 1)}`, [...payloads]);
  }

  pending(limit: number): CompiledQuery {
    const lock = this.dialect === 'postgres' ? ' for update skip locked' : '';
    return CompiledQuery.raw(`select "id", "payload" from "${DAILY_PENDING}" order by "id" limit ${this.dialect === 'sqlite' ? '?' : '$1'}${lock}`, [limit]);
  }
}
