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

/** One row of `spend_logs`: one finished call record. Column names are the database's. */
export interface SpendLogRow {
  /** The call's `x-litellm-call-id`. */
  /** Unique per call record (the row's key). */
  call_id: string;
  /** The x-litellm-call-id the client saw. */
  request_id: string;
  /** LiteLLM's name for the kind of call (`acompletion`, `anthropic_messages`, …). */
  call_type: string;
  /** Tollgate's client surface (`openai-chat`, `anthropic-messages`, …). */
  surface: string;
  /** Epoch milliseconds, UTC. Integers rather than timestamps so both databases compare and bucket them alike. */
  start_time: number;
  end_time: number;
  /** SHA-256 hex of the presented key. Never the key itself. */
  api_key: string | null;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  end_user: string | null;
  requested_model: string;
  model_group: string | null;
  /** The deployment id that answered (or was tried last). */
  model_id: string | null;
  provider: string | null;
  upstream_model: string | null;
  api_base: string | null;
  retries: number;
  fallbacks: number;
  stream: boolean;
  status_code: number;
  outcome: 'success' | 'failure';
  error_class: string | null;
  error_message: string | null;
  /** Token kinds as reported by the provider; null = the provider did not say (unknown is not zero). */
  input_uncached_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_5m_tokens: number | null;
  cache_write_1h_tokens: number | null;
  cache_write_unknown_ttl_tokens: number | null;
  output_tokens: number | null;
  reasoning_tokens: number | null;
  /** OpenAI convention (prompt = every input token incl. cache reads and writes), for LiteLLM-shaped output. */
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Integer nano-USD; null = no price known for the model (never silently 0). */
  cost_nano_usd: number | null;
  ttft_ms: number | null;
  duration_ms: number;
  user_agent: string | null;
  /** JSON object text, or null. */
  metadata: string | null;
  /** JSON array text of request tags. */
  tags: string;
  client_disconnected: boolean;
}

export interface SpendLogFilter {
  requestId?: string | undefined;
  /** SHA-256 hex of a key. */
  apiKey?: string | undefined;
  userId?: string | undefined;
  teamId?: string | undefined;
  endUser?: string | undefined;
  /** Inclusive lower bound on start_time, epoch ms. */
  from?: number | undefined;
  /** Exclusive upper bound on start_time, epoch ms. */
  to?: number | undefined;
  /** Newest first; at most this many rows. */
  limit?: number | undefined;
}

/**
 * A dimension a spend report can be grouped by. `day` is the UTC calendar day of start_time;
 * `model` is what LiteLLM calls the model (the upstream model, or the requested one when no
 * deployment was reached).
 */
export type SpendDimension = 'day' | 'api_key' | 'user_id' | 'team_id' | 'end_user' | 'model' | 'model_group';

export interface SpendReportQuery extends Omit<SpendLogFilter, 'requestId' | 'limit'> {
  by: readonly SpendDimension[];
}

export interface SpendAggregate {
  /** The group's value for each requested dimension (`day` as `YYYY-MM-DD`). */
  keys: Partial<Record<SpendDimension, string | null>>;
  requests: number;
  /** Sum of the known costs. */
  costNanoUsd: number;
  /** Requests in the group whose cost is unknown: when non-zero, costNanoUsd is a lower bound. */
  unpricedRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface SpendLogStore {
  /**
   * Insert rows atomically. A row whose call_id is already stored is skipped, so a batch that
   * was written but whose acknowledgement was lost can be retried without failing.
   */
  insertMany(rows: readonly SpendLogRow[]): Promise<void>;
  /** Rows matching every given filter, newest first. */
  query(filter: SpendLogFilter): Promise<SpendLogRow[]>;
  /** Sums grouped by the requested dimensions, computed in the database. */
  report(query: SpendReportQuery): Promise<SpendAggregate[]>;
}

export type DatabaseDialect = 'sqlite' | 'postgres';

export interface Database {
  readonly dialect: DatabaseDialect;
  readonly spendLogs: SpendLogStore;
  /** Keys, users, teams, customers, stored models and budget counters (see tenancy-ports.ts). */
  readonly tenancy: TenancyStores;
  /** Apply pending migrations. Idempotent, and safe when several instances start at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
