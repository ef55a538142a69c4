/**
 * `SpendLogStore` over Kysely, for SQLite and Postgres. A batch of calls is appended to the ingest
 * table in one or a few positional statements (spend-ingest.ts); the fold (spend-fold.ts) moves
 * them, in short slices, where LiteLLM's UI and reports read them — one `LiteLLM_SpendLogs` row
 * each, additions to LiteLLM's daily tables — with Tollgate's exact detail beside them in
 * `tollgate_call_details`. Every read first folds what was appended before it, so it sees every
 * call recorded so far. Reads join the two tables, so rows a LiteLLM proxy wrote (no details) are
 * listed and summed alike.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type {
  CallDetails,
  DailyActivityQuery,
  DrainResult,
  DailySpendRow,
  DatabaseDialect,
  LiteLLMSpendLog,
  SessionAggregate,
  SessionReportQuery,
  SpendAggregate,
  SpendDimension,
  SpendLogFilter,
  SpendLogRow,
  SpendLogStore,
  SpendReportQuery,
  StoredSpendLog,
} from '../ports.js';
import type { StorageSchema } from './schema.js';
import { readDaily } from './spend-daily.js';
import { SpendFolder } from './spend-fold.js';
import { IngestStatements } from './spend-ingest.js';
import { readSessions } from './spend-sessions.js';
import {
  CALL_DETAILS,
  ColumnCatalog,
  decodeJson,
  decodeTime,
  encodeTime,
  num,
  numOrNull,
  SPEND_LOGS,
  text,
  textOrNull,
  type LooseRow,
  type SpendSchema,
} from './spend-tables.js';

export class SqlSpendLogStore implements SpendLogStore {
  private readonly db: Kysely<SpendSchema>;
  private readonly catalog: ColumnCatalog;
  private readonly ingest: IngestStatements;
  private readonly folder: SpendFolder;

  constructor(
    db: Kysely<StorageSchema>,
    private readonly dialect: DatabaseDialect,
    private readonly now: () => number = Date.now,
  ) {
    // The LiteLLM tables' columns are known only at run time (see spend-tables.ts).
    this.db = db as unknown as Kysely<SpendSchema>;
    this.catalog = new ColumnCatalog(this.db, dialect);
    this.ingest = new IngestStatements(dialect);
    this.folder = new SpendFolder(this.db, dialect, this.catalog, now);
  }

  async append(rows: readonly SpendLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const statements = this.ingest.append(rows, this.now());
    if (statements.length === 1 && statements[0] !== undefined) {
      await this.db.executeQuery(statements[0]);
      return;
    }
    // Bigger than one statement: still all or nothing.
    await this.db.transaction().execute(async (trx) => {
      for (const s of statements) await trx.executeQuery(s);
    });
  }

  async insertMany(rows: readonly SpendLogRow[]): Promise<void> {
    await this.append(rows);
    await this.drain();
  }

  drain(): Promise<DrainResult> {
    return this.folder.drain();
  }

  /** The longest single fold step so far, ms (bench/spend-writer.mjs reports it). */
  get longestFoldSliceMs(): number {
    return this.folder.longestSliceMs;
  }

  set longestFoldSliceMs(ms: number) {
    this.folder.longestSliceMs = ms;
  }

  async query(filter: SpendLogFilter): Promise<StoredSpendLog[]> {
    await this.drain();
    const columns = await this.catalog.columns(SPEND_LOGS);
    let q = this.db
      .selectFrom(`${SPEND_LOGS} as l`)
      .leftJoin(`${CALL_DETAILS} as d`, (j) => j.on(sql<boolean>`d.request_id = l.request_id`))
      .selectAll('l')
      .select(DETAIL_COLUMNS.map((c) => sql.ref(`d.${c}`).as(`d_${c}`)));
    for (const c of this.conditions(filter, columns, filter.requestId === undefined ? undefined : await this.requestIdsFor(filter.requestId))) q = q.where(c);
    q = q.orderBy(sql.ref('l.startTime'), 'desc').orderBy(sql.ref('l.request_id'), 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    if (filter.offset !== undefined && filter.offset > 0) q = q.offset(filter.offset);
    const rows = await q.execute();
    return rows.map((r) => ({ log: decodeLog(r), details: decodeDetails(r) }));
  }

  /**
   * A request id asked for may be LiteLLM's (the response id when there was one) or the
   * x-litellm-call-id the client saw; both are indexed, so this is two index look-ups, not a scan.
   */
  private async requestIdsFor(id: string): Promise<string[]> {
    const viaCallId = await this.db.selectFrom(CALL_DETAILS).select(sql<string>`request_id`.as('request_id')).where(sql<boolean>`litellm_call_id = ${id}`).execute();
    return [...new Set([id, ...viaCallId.map((r) => text(r.request_id))])];
  }

  /** The filter as SQL conditions on the spend log table aliased `l`. */
  private conditions(f: Omit<SpendLogFilter, 'requestId'>, columns: ReadonlySet<string>, requestIds?: readonly string[]): RawBuilder<boolean>[] {
    const out: RawBuilder<boolean>[] = [];
    const eq = (c: string, v: string | undefined): void => {
      if (v !== undefined) out.push(sql<boolean>`${sql.ref(`l.${c}`)} = ${v}`);
    };
    if (requestIds !== undefined) out.push(requestIds.length === 0 ? sql<boolean>`1 = 0` : sql<boolean>`${sql.ref('l.request_id')} in (${sql.join([...requestIds])})`);
    eq('api_key', f.apiKey);
    eq('user', f.userId);
    eq('team_id', f.teamId);
    eq('end_user', f.endUser);
    if (f.sessionId !== undefined) {
      // A LiteLLM schema from before session_id cannot match a session.
      out.push(columns.has('session_id') ? sql<boolean>`${sql.ref('l.session_id')} = ${f.sessionId}` : sql<boolean>`1 = 0`);
    }
    if (f.from !== undefined) out.push(sql<boolean>`${sql.ref('l.startTime')} >= ${encodeTime(this.dialect, f.from)}`);
    if (f.to !== undefined) out.push(sql<boolean>`${sql.ref('l.startTime')} < ${encodeTime(this.dialect, f.to)}`);
    return out;
  }

  async report(query: SpendReportQuery): Promise<SpendAggregate[]> {
    await this.drain();
    const columns = await this.catalog.columns(SPEND_LOGS);
    const dims = [...new Set(query.by)];
    const dimSql = (d: SpendDimension) => (d === 'day' ? this.daySql() : sql.ref(`l.${DIMENSION_COLUMNS[d]}`));
    let q = this.db
      .selectFrom(`${SPEND_LOGS} as l`)
      .leftJoin(`${CALL_DETAILS} as d`, (j) => j.on(sql<boolean>`d.request_id = l.request_id`))
      .select([
        ...dims.map((d) => dimSql(d).as(`k_${d}`)),
        sql<number>`count(*)`.as('requests'),
        // A Tollgate row without a known price: its details say so. LiteLLM's own rows are taken as priced.
        sql<number>`sum(case when d.call_id is not null and d.cost_nano_usd is null then 1 else 0 end)`.as('unpriced'),
        sql<number>`coalesce(sum(l.spend), 0)`.as('spend'),
        sql<number>`coalesce(sum(l.prompt_tokens), 0)`.as('prompt'),
        sql<number>`coalesce(sum(l.completion_tokens), 0)`.as('completion'),
        sql<number>`coalesce(sum(l.total_tokens), 0)`.as('total'),
      ]);
    for (const c of this.conditions(query, columns)) q = q.where(c);
    for (const d of dims) q = q.groupBy(dimSql(d)).orderBy(dimSql(d));
    const rows = await q.execute();
    return rows.map((r) => {
      const keys: SpendAggregate['keys'] = {};
      for (const d of dims) keys[d] = textOrNull((r as LooseRow)[`k_${d}`]);
      return {
        keys,
        requests: num(r.requests),
        spendUsd: num(r.spend),
        unpricedRequests: num(r.unpriced),
        promptTokens: num(r.prompt),
        completionTokens: num(r.completion),
        totalTokens: num(r.total),
      };
    });
  }

  async sessions(query: SessionReportQuery): Promise<SessionAggregate[]> {
    await this.drain();
    const columns = await this.catalog.columns(SPEND_LOGS);
    return readSessions({ db: this.db, dialect: this.dialect, columns, conditions: this.conditions(query, columns), limit: query.limit, offset: query.offset });
  }

  async daily(query: DailyActivityQuery): Promise<DailySpendRow[]> {
    await this.drain();
    return readDaily(this.db, this.catalog, query);
  }

  /** The UTC day of startTime as YYYY-MM-DD. */
  private daySql() {
    return this.dialect === 'sqlite' ? sql<string>`substr(l."startTime", 1, 10)` : sql<string>`to_char(l."startTime", 'YYYY-MM-DD')`;
  }
}

const DIMENSION_COLUMNS: Record<Exclude<SpendDimension, 'day'>, string> = {
  api_key: 'api_key',
  user_id: 'user',
  team_id: 'team_id',
  end_user: 'end_user',
  model: 'model',
  model_group: 'model_group',
};

const DETAIL_COLUMNS = [
  'call_id', 'request_id', 'litellm_call_id', 'surface', 'route', 'requested_model', 'upstream_model', 'provider', 'retries', 'fallbacks',
  'stream', 'passthrough', 'status_code', 'outcome', 'error_class', 'error_message', 'input_uncached_tokens', 'cache_read_tokens',
  'cache_write_5m_tokens', 'cache_write_1h_tokens', 'cache_write_unknown_ttl_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nano_usd',
  'cost_missing_reason', 'ttft_ms', 'upstream_ms', 'duration_ms', 'user_agent', 'client_disconnected', 'attempts',
] as const satisfies readonly (keyof CallDetails)[];

function decodeDetails(r: LooseRow): CallDetails | null {
  if (r.d_call_id === null || r.d_call_id === undefined) return null;
  const v = (c: (typeof DETAIL_COLUMNS)[number]) => r[`d_${c}`];
  return {
    call_id: text(v('call_id')),
    request_id: text(v('request_id')),
    litellm_call_id: text(v('litellm_call_id')),
    surface: text(v('surface')),
    route: text(v('route')),
    requested_model: text(v('requested_model')),
    upstream_model: textOrNull(v('upstream_model')),
    provider: textOrNull(v('provider')),
    retries: num(v('retries')),
    fallbacks: num(v('fallbacks')),
    stream: num(v('stream')) === 1,
    passthrough: num(v('passthrough')) === 1,
    status_code: num(v('status_code')),
    outcome: text(v('outcome')) === 'failure' ? 'failure' : 'success',
    error_class: textOrNull(v('error_class')),
    error_message: textOrNull(v('error_message')),
    input_uncached_tokens: numOrNull(v('input_uncached_tokens')),
    cache_read_tokens: numOrNull(v('cache_read_tokens')),
    cache_write_5m_tokens: numOrNull(v('cache_write_5m_tokens')),
    cache_write_1h_tokens: numOrNull(v('cache_write_1h_tokens')),
    cache_write_unknown_ttl_tokens: numOrNull(v('cache_write_unknown_ttl_tokens')),
    output_tokens: numOrNull(v('output_tokens')),
    reasoning_tokens: numOrNull(v('reasoning_tokens')),
    cost_nano_usd: numOrNull(v('cost_nano_usd')),
    cost_missing_reason: textOrNull(v('cost_missing_reason')),
    ttft_ms: numOrNull(v('ttft_ms')),
    upstream_ms: numOrNull(v('upstream_ms')),
    duration_ms: num(v('duration_ms')),
    user_agent: textOrNull(v('user_agent')),
    client_disconnected: num(v('client_disconnected')) === 1,
    attempts: text(v('attempts')) || '[]',
  };
}

function decodeLog(r: LooseRow): LiteLLMSpendLog {
  const metadata = decodeJson(r.metadata);
  const tags = decodeJson(r.request_tags);
  return {
    request_id: text(r.request_id),
    call_type: text(r.call_type),
    api_key: text(r.api_key),
    spend: num(r.spend),
    total_tokens: num(r.total_tokens),
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    startTime: decodeTime(r.startTime) ?? 0,
    endTime: decodeTime(r.endTime) ?? 0,
    request_duration_ms: numOrNull(r.request_duration_ms),
    completionStartTime: decodeTime(r.completionStartTime),
    model: text(r.model),
    model_id: text(r.model_id),
    model_group: text(r.model_group),
    custom_llm_provider: text(r.custom_llm_provider),
    api_base: text(r.api_base),
    user: text(r.user),
    metadata: typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {},
    cache_hit: text(r.cache_hit),
    cache_key: text(r.cache_key),
    request_tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
    team_id: text(r.team_id),
    organization_id: text(r.organization_id),
    end_user: text(r.end_user),
    requester_ip_address: textOrNull(r.requester_ip_address),
    session_id: textOrNull(r.session_id),
    status: text(r.status) === 'failure' ? 'failure' : 'success',
    mcp_namespaced_tool_name: textOrNull(r.mcp_namespaced_tool_name),
    agent_id: textOrNull(r.agent_id),
  };
}
