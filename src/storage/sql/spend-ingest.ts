/**
 * The ingest table's side of the spend log: the payload codec and the few statements the writer
 * and the fold run against `tollgate_spend_ingest` and `tollgate_spend_daily_pending`
 * (spend-migration.ts). Statements are plain positional SQL built once per shape and run as
 * compiled queries: appending 500 calls is one multi-row INSERT of two values per row, with no
 * query-builder work per row.
 *
 * The payload is the call's LiteLLM row and details as JSON arrays in a fixed field order (no key
 * names: about a third smaller and cheaper to stringify than the objects; LiteLLM's metadata object
 * too, see VERSION), tagged with a version so a later encoding can still read rows an older
 * Tollgate left behind.
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

/**
 * Version 2 (this one): as version 1, but LiteLLM's metadata object, when it has exactly the keys
 * spendLogRow gives it (in its order), is a positional array too, and its
 * `additional_usage_values` (the usage object less its three totals) is 0 when it is exactly that:
 * the payload is ~40% smaller, which is most of what appending, reading and deleting it costs.
 * Version 1 payloads (an older Tollgate's, left in the table) are still read.
 */
const VERSION = 2;

/** LiteLLM's SpendLogsMetadata keys in the order spend-row.ts fills them. */
const METADATA_FIELDS = [
  'user_api_key', 'user_api_key_alias', 'user_api_key_team_id', 'user_api_key_org_id', 'user_api_key_user_id', 'user_api_key_team_alias',
  'user_api_key_end_user_id', 'spend_logs_metadata', 'requester_ip_address', 'applied_guardrails', 'batch_models', 'mcp_tool_call_metadata',
  'vector_store_request_metadata', 'guardrail_information', 'usage_object', 'model_map_information', 'cold_storage_object_key',
  'litellm_overhead_time_ms', 'cost_breakdown', 'additional_usage_values', 'status', 'error_information', 'proxy_server_request',
] as const;
const METADATA_INDEX = LOG_FIELDS.indexOf('metadata');
const USAGE = METADATA_FIELDS.indexOf('usage_object');
const ADDITIONAL = METADATA_FIELDS.indexOf('additional_usage_values');
const TOTALS = new Set(['prompt_tokens', 'completion_tokens', 'total_tokens']);

/** Whether `additional` is `usage` less its totals, key for key and in order (then it need not be stored). */
function isUsageLessTotals(usage: unknown, additional: unknown): boolean {
  if (typeof usage !== 'object' || usage === null || typeof additional !== 'object' || additional === null || Array.isArray(usage) || Array.isArray(additional)) return false;
  const a = additional as Record<string, unknown>;
  const u = usage as Record<string, unknown>;
  const aKeys = Object.keys(a);
  let i = 0;
  for (const key of Object.keys(u)) {
    if (TOTALS.has(key)) continue;
    if (aKeys[i] !== key || a[key] !== u[key]) return false;
    i++;
  }
  return i === aKeys.length;
}

function usageLessTotals(usage: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(usage as Record<string, unknown>)) if (!TOTALS.has(key)) out[key] = value;
  return out;
}

/** The metadata as a positional array when its keys are exactly METADATA_FIELDS in order, else as it is. */
function encodeMetadata(metadata: Record<string, unknown>): unknown {
  const keys = Object.keys(metadata);
  if (keys.length !== METADATA_FIELDS.length) return metadata;
  const out: unknown[] = new Array(METADATA_FIELDS.length);
  for (let i = 0; i < METADATA_FIELDS.length; i++) {
    if (keys[i] !== METADATA_FIELDS[i]) return metadata;
    out[i] = metadata[METADATA_FIELDS[i] as string];
  }
  // undefined would come back as null (JSON arrays): keep such a value in an object.
  // A literal 0 there would read back as the derived object.
  if (out.includes(undefined) || out[ADDITIONAL] === 0) return metadata;
  if (isUsageLessTotals(out[USAGE], out[ADDITIONAL])) out[ADDITIONAL] = 0;
  return out;
}

function decodeMetadata(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < METADATA_FIELDS.length; i++) out[METADATA_FIELDS[i] as string] = value[i] ?? null;
  if (value[ADDITIONAL] === 0) out.additional_usage_values = usageLessTotals(out.usage_object);
  return out;
}

export function encodePayload(row: SpendLogRow): string {
  const { log, details } = row;
  const l: unknown[] = new Array(LOG_FIELDS.length);
  for (let i = 0; i < LOG_FIELDS.length; i++) l[i] = log[LOG_FIELDS[i] as keyof LiteLLMSpendLog];
  l[METADATA_INDEX] = encodeMetadata(log.metadata);
  const d: unknown[] = new Array(DETAIL_FIELDS.length);
  for (let i = 0; i < DETAIL_FIELDS.length; i++) d[i] = details[DETAIL_FIELDS[i] as keyof CallDetails];
  return JSON.stringify([VERSION, l, d]);
}

/** The row back from its payload; throws on a payload this version cannot read. */
export function decodePayload(text: string): SpendLogRow {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || (parsed[0] !== 1 && parsed[0] !== VERSION) || !Array.isArray(parsed[1]) || !Array.isArray(parsed[2])) throw new Error('spend ingest: unknown payload encoding');
  const l = parsed[1] as unknown[];
  const d = parsed[2] as unknown[];
  const log: Record<string, unknown> = {};
  for (let i = 0; i < LOG_FIELDS.length; i++) log[LOG_FIELDS[i] as string] = l[i] ?? null;
  // Version 1 kept the metadata as an object, which decodeMetadata leaves as it is.
  log.metadata = decodeMetadata(log.metadata);
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
