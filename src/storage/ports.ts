/**
 * Storage ports: what the rest of the gateway may ask of the store, independent of the database
 * behind it (SQLite by default, Postgres when several instances share one). Only `server.ts` picks
 * the implementation (`openDatabase`); policy and accounting depend on these interfaces alone.
 *
 * `Database` is the one handle on the store. Each kind of record gets its own store port as a
 * property of it (`spendLogs`, and `tenancy` for keys, users, teams, customers and budgets), so one
 * connection pool, one migration run and one `close()` serve them all.
 */
import type { TenancyStores } from './tenancy-ports.js';
import type { SharedState } from './shared-state.js';
import type { ChangeSignal } from './change-signal.js';

/**
 * One `LiteLLM_SpendLogs` row, column for column, with the values LiteLLM's proxy puts there
 * (`get_logging_payload` in litellm/proxy/spend_tracking/spend_tracking_utils.py): empty strings
 * where LiteLLM writes `""`, spend in USD, JSON columns as values. Times are epoch milliseconds
 * here and DateTime (UTC) in the table.
 */
export interface LiteLLMSpendLog {
  /** The response id when the answer had one (LiteLLM's rule), else the x-litellm-call-id. Primary key. */
  request_id: string;
  call_type: string;
  /** SHA-256 hex of the presented key, or "" (LiteLLM's default). Never the key itself. */
  api_key: string;
  /** USD. 0 when the price is unknown (LiteLLM's column is NOT NULL); the details say whether it was known. */
  spend: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  startTime: number;
  endTime: number;
  request_duration_ms: number | null;
  completionStartTime: number | null;
  model: string;
  model_id: string;
  model_group: string;
  custom_llm_provider: string;
  api_base: string;
  user: string;
  /** LiteLLM's SpendLogsMetadata keys (`user_api_key_*`, `usage_object`, `status`, …). */
  metadata: Record<string, unknown>;
  cache_hit: string;
  cache_key: string;
  request_tags: string[];
  team_id: string;
  organization_id: string;
  end_user: string;
  requester_ip_address: string | null;
  session_id: string | null;
  status: 'success' | 'failure';
  mcp_namespaced_tool_name: string | null;
  agent_id: string | null;
}

/**
 * Tollgate's own detail of the same call (`tollgate_call_details`, keyed by call_id): what the
 * LiteLLM columns cannot say exactly. Also the ledger that makes a retried batch idempotent.
 */
export interface CallDetails {
  /** Unique per call record. */
  call_id: string;
  /** The LiteLLM_SpendLogs row of this call. */
  request_id: string;
  /** The x-litellm-call-id the client saw (differs from request_id when the answer had an id). */
  litellm_call_id: string;
  surface: string;
  route: string;
  requested_model: string;
  upstream_model: string | null;
  provider: string | null;
  retries: number;
  fallbacks: number;
  stream: boolean;
  passthrough: boolean;
  status_code: number;
  outcome: 'success' | 'failure';
  error_class: string | null;
  /** Secrets masked. */
  error_message: string | null;
  /** Token kinds as reported by the provider; null = the provider did not say (unknown is not zero). */
  input_uncached_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_5m_tokens: number | null;
  cache_write_1h_tokens: number | null;
  cache_write_unknown_ttl_tokens: number | null;
  output_tokens: number | null;
  reasoning_tokens: number | null;
  /** Integer nano-USD; null = no price known for the model (never silently 0). */
  cost_nano_usd: number | null;
  cost_missing_reason: string | null;
  ttft_ms: number | null;
  upstream_ms: number | null;
  duration_ms: number;
  user_agent: string | null;
  client_disconnected: boolean;
  /** JSON array text: every attempt (deployment, outcome, status, error code, duration). */
  attempts: string;
}

/** What the spend writer hands the store for one call. */
export interface SpendLogRow {
  log: LiteLLMSpendLog;
  details: CallDetails;
}

/** A stored spend log: LiteLLM's row, and Tollgate's detail when Tollgate wrote it (LiteLLM's own rows have none). */
export interface StoredSpendLog {
  log: LiteLLMSpendLog;
  details: CallDetails | null;
}

export interface SpendLogFilter {
  requestId?: string | undefined;
  /** SHA-256 hex of a key. */
  apiKey?: string | undefined;
  userId?: string | undefined;
  teamId?: string | undefined;
  endUser?: string | undefined;
  sessionId?: string | undefined;
  /** Inclusive lower bound on startTime, epoch ms. */
  from?: number | undefined;
  /** Exclusive upper bound on startTime, epoch ms. */
  to?: number | undefined;
  /** Newest first; at most this many rows. */
  limit?: number | undefined;
  /** Rows to skip (pagination). */
  offset?: number | undefined;
}

/**
 * A dimension a spend report can be grouped by. `day` is the UTC calendar day of startTime;
 * `model` is LiteLLM's `model` column (the upstream model, or the requested one when no
 * deployment was reached).
 */
export type SpendDimension = 'day' | 'api_key' | 'user_id' | 'team_id' | 'end_user' | 'model' | 'model_group';

export interface SpendReportQuery extends Omit<SpendLogFilter, 'requestId' | 'limit' | 'offset' | 'sessionId'> {
  by: readonly SpendDimension[];
}

export interface SpendAggregate {
  /** The group's value for each requested dimension (`day` as `YYYY-MM-DD`); "" where LiteLLM stores "". */
  keys: Partial<Record<SpendDimension, string | null>>;
  requests: number;
  /** Sum of the spend column, USD. */
  spendUsd: number;
  /** Requests in the group Tollgate logged without a known price: when non-zero, spendUsd is a lower bound. */
  unpricedRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** Which rows a session report sums (the report's filters) and which page of sessions it answers. */
export interface SessionReportQuery extends Omit<SpendLogFilter, 'requestId' | 'limit' | 'offset'> {
  /** At most this many sessions, most spent first. */
  limit?: number | undefined;
  offset?: number | undefined;
}

/**
 * One coding session's sums over its rows. Token kinds come from Tollgate's details; a row a
 * LiteLLM proxy wrote has none, so its `prompt_tokens` count as uncached input.
 */
export interface SessionAggregate {
  sessionId: string;
  requests: number;
  failedRequests: number;
  /** USD, the sum of the spend column. */
  spendUsd: number;
  unpricedRequests: number;
  /** Distinct non-empty values, sorted. */
  modelGroups: string[];
  apiKeys: string[];
  users: string[];
  /** The User-Agent of the session's earliest call that recorded one. */
  firstUserAgent: string | null;
  /** Epoch ms: the earliest startTime, the latest startTime, the latest endTime. */
  firstStart: number;
  lastStart: number;
  lastEnd: number;
  inputUncachedTokens: number;
  cacheReadTokens: number;
  /** Every TTL. */
  cacheWriteTokens: number;
  /** Reasoning included. */
  outputTokens: number;
  reasoningTokens: number;
}

/** The entity a LiteLLM daily table aggregates by. */
export type DailyEntity = 'user' | 'team' | 'organization' | 'end_user' | 'tag';

export interface DailyActivityQuery {
  entity: DailyEntity;
  /** Only these entity ids (empty or absent: all). */
  ids?: readonly string[] | undefined;
  /** Inclusive `YYYY-MM-DD` bounds. */
  startDate: string;
  endDate: string;
  apiKey?: string | undefined;
  model?: string | undefined;
}

/** One row of a LiteLLM daily table, as stored. */
export interface DailySpendRow {
  entity_id: string | null;
  date: string;
  api_key: string;
  model: string | null;
  model_group: string | null;
  custom_llm_provider: string | null;
  mcp_namespaced_tool_name: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  spend: number;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
}

/** What a drain did. */
export interface DrainResult {
  /** Calls moved from the ingest table into the spend tables. */
  folded: number;
  /** Calls the tables refused on their own (kept in the ingest table, marked, no longer retried). */
  parked: number;
}

export interface SpendLogStore {
  /**
   * Record the calls, atomically and durably, as a cheap append (the SQL store's ingest table; what
   * the spend writer calls). They reach the spend tables — their LiteLLM_SpendLogs rows, Tollgate's
   * details and the additions to LiteLLM's daily tables — when they are folded (`drain`, and before
   * every read). A call whose call_id is already stored is skipped entirely when folded, so a batch
   * whose acknowledgement was lost can be appended again without counting anything twice.
   */
  append(rows: readonly SpendLogRow[]): Promise<void>;
  /** `append`, then `drain`: when it resolves the calls are in the spend tables (imports, tools, tests). */
  insertMany(rows: readonly SpendLogRow[]): Promise<void>;
  /**
   * Fold every call appended so far, by this process or before a restart, in steps that hold the
   * event loop briefly. Rejects when the database fails; the calls stay and the next drain goes on.
   */
  drain(): Promise<DrainResult>;
  /** Rows matching every given filter, newest first (calls appended before the read included). */
  query(filter: SpendLogFilter): Promise<StoredSpendLog[]>;
  /** Sums grouped by the requested dimensions, computed in the database from LiteLLM_SpendLogs. */
  report(query: SpendReportQuery): Promise<SpendAggregate[]>;
  /** Rows of one LiteLLM daily table in a date range. */
  daily(query: DailyActivityQuery): Promise<DailySpendRow[]>;
  /**
   * Per coding session (`session_id`), sums over the matching rows, most spent first, in one grouped
   * query. Rows without a session are left out: a null or empty `session_id`, and Tollgate's
   * fallback of the call's own id when the client named no session.
   */
  sessions(query: SessionReportQuery): Promise<SessionAggregate[]>;
}

export type DatabaseDialect = 'sqlite' | 'postgres';

export interface Database {
  readonly dialect: DatabaseDialect;
  readonly spendLogs: SpendLogStore;
  /** Keys, users, teams, customers, stored models and budget counters (see tenancy-ports.ts). */
  readonly tenancy: TenancyStores;
  /** Apply pending migrations. Idempotent, and safe when several instances start at once. */
  migrate(): Promise<void>;
  /** Admission counters kept in this database, exact across instances (Postgres only; undefined on SQLite). */
  sharedCounters(): SharedState | undefined;
  /** Admin changes announced to the other instances on this database (Postgres LISTEN/NOTIFY; undefined on SQLite). */
  changeSignal(log?: (message: string) => void): ChangeSignal | undefined;
  close(): Promise<void>;
}
