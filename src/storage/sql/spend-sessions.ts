/**
 * The session report's one grouped query: per `session_id` of `LiteLLM_SpendLogs`, with Tollgate's
 * `tollgate_call_details` joined for the token kinds LiteLLM's columns cannot tell apart
 * (`prompt_tokens` there is uncached + cache reads + cache writes), summed in the database, most
 * spent first, one page of sessions at a time. Both dialects run the same statement except for the
 * distinct-value lists and the timestamp text (see `distinctList` and `startText`).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DatabaseDialect, SessionAggregate } from '../ports.js';
import { CALL_DETAILS, decodeJson, decodeTime, num, SPEND_LOGS, text, type DbValue, type SpendSchema } from './spend-tables.js';

/** Between the start time and the user agent in the "earliest user agent" aggregate (never in a timestamp). */
const UA_SEPARATOR = '|';

export interface SessionRead {
  db: Kysely<SpendSchema>;
  dialect: DatabaseDialect;
  /** The columns LiteLLM_SpendLogs has here (old LiteLLM schemas lack session_id and status). */
  columns: ReadonlySet<string>;
  /** The report's filters as conditions on `l` (the store's own filter translation). */
  conditions: readonly RawBuilder<boolean>[];
  limit?: number | undefined;
  offset?: number | undefined;
}

export async function readSessions(r: SessionRead): Promise<SessionAggregate[]> {
  if (!r.columns.has('session_id')) return [];
  const write = sql`(coalesce(d.cache_write_5m_tokens, 0) + coalesce(d.cache_write_1h_tokens, 0) + coalesce(d.cache_write_unknown_ttl_tokens, 0))`;
  // A row without a status column (an old LiteLLM schema) is a failure only when Tollgate's details say so.
  const status = r.columns.has('status') ? sql`coalesce(l.status, d.outcome)` : sql`d.outcome`;
  let q = r.db
    .selectFrom(`${SPEND_LOGS} as l`)
    .leftJoin(`${CALL_DETAILS} as d`, (j) => j.on(sql<boolean>`d.request_id = l.request_id`))
    .select([
      sql<string>`l.session_id`.as('session_id'),
      sql<number>`count(*)`.as('requests'),
      sql<number>`sum(case when ${status} = 'failure' then 1 else 0 end)`.as('failed'),
      sql<number>`sum(case when d.call_id is not null and d.cost_nano_usd is null then 1 else 0 end)`.as('unpriced'),
      sql<number>`coalesce(sum(l.spend), 0)`.as('total_spend'),
      // Without Tollgate's split (LiteLLM's rows, a provider that gave only a total) the rest of prompt_tokens is uncached.
      sql<number>`sum(coalesce(d.input_uncached_tokens, l.prompt_tokens - coalesce(d.cache_read_tokens, 0) - ${write}))`.as('input_uncached'),
      sql<number>`sum(coalesce(d.cache_read_tokens, 0))`.as('cache_read'),
      sql<number>`sum(${write})`.as('cache_write'),
      sql<number>`sum(coalesce(d.output_tokens, l.completion_tokens))`.as('output'),
      sql<number>`sum(coalesce(d.reasoning_tokens, 0))`.as('reasoning'),
      sql<DbValue>`min(l."startTime")`.as('first_start'),
      sql<DbValue>`max(l."startTime")`.as('last_start'),
      sql<DbValue>`max(l."endTime")`.as('last_end'),
      distinctList(r.dialect, sql.ref('l.model_group')).as('model_groups'),
      distinctList(r.dialect, sql.ref('l.api_key')).as('api_keys'),
      distinctList(r.dialect, sql.ref('l.user')).as('users'),
      // The earliest call's user agent without a second query: the smallest "start|agent" text
      // (fixed-width timestamps sort as text in time order; a null agent makes the text null).
      sql<string | null>`min(${startText(r.dialect)} || ${UA_SEPARATOR} || d.user_agent)`.as('first_ua'),
    ])
    .where(sql<boolean>`l.session_id is not null`)
    .where(sql<boolean>`l.session_id <> ''`)
    // Tollgate names a call that came without a session by its own call id: not a session.
    .where(sql<boolean>`(d.call_id is null or l.session_id <> d.call_id)`);
  for (const c of r.conditions) q = q.where(c);
  q = q.groupBy(sql`l.session_id`).orderBy(sql`total_spend`, 'desc').orderBy(sql`l.session_id`);
  if (r.limit !== undefined) q = q.limit(r.limit);
  if (r.offset !== undefined && r.offset > 0) q = q.offset(r.offset);
  const rows = await q.execute();
  return rows.map((row) => {
    const ua = row.first_ua;
    const cut = typeof ua === 'string' ? ua.indexOf(UA_SEPARATOR) : -1;
    return {
      sessionId: text(row.session_id),
      requests: num(row.requests),
      failedRequests: num(row.failed),
      spendUsd: num(row.total_spend),
      unpricedRequests: num(row.unpriced),
      modelGroups: listOf(row.model_groups),
      apiKeys: listOf(row.api_keys),
      users: listOf(row.users),
      firstUserAgent: typeof ua === 'string' && cut >= 0 ? ua.slice(cut + 1) : null,
      firstStart: decodeTime(row.first_start) ?? 0,
      lastStart: decodeTime(row.last_start) ?? 0,
      lastEnd: decodeTime(row.last_end) ?? 0,
      inputUncachedTokens: num(row.input_uncached),
      cacheReadTokens: num(row.cache_read),
      cacheWriteTokens: num(row.cache_write),
      outputTokens: num(row.output),
      reasoningTokens: num(row.reasoning),
    };
  });
}

/** The distinct non-empty values of a text column in the group: a JSON array text (SQLite) or a text[] (Postgres). */
function distinctList(dialect: DatabaseDialect, column: RawBuilder<unknown>): RawBuilder<DbValue> {
  return dialect === 'sqlite'
    ? sql<DbValue>`json_group_array(distinct case when ${column} <> '' then ${column} end)`
    : sql<DbValue>`array_agg(distinct ${column}) filter (where ${column} <> '')`;
}

/** startTime as fixed-width text (`YYYY-MM-DDTHH:MM:SS.sss…`), whose text order is time order. */
function startText(dialect: DatabaseDialect): RawBuilder<string> {
  return dialect === 'sqlite' ? sql<string>`l."startTime"` : sql<string>`to_char(l."startTime", 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;
}

function listOf(value: DbValue | undefined): string[] {
  const list = Array.isArray(value) ? value : decodeJson(value);
  if (!Array.isArray(list)) return [];
  return list.filter((v): v is string => typeof v === 'string' && v !== '').sort();
}
