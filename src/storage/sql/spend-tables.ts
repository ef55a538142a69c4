/**
 * How the spend store talks to LiteLLM's tables on both databases: their Kysely types, which
 * columns a given database actually has, and the encoding of DateTime and JSON values.
 *
 * The LiteLLM tables may have been created by LiteLLM itself, at any of its schema versions (the
 * `endpoint`, `session_id`, `status`, `organization_id` … columns arrived over time), so the store
 * asks the database which columns exist and writes only those.
 *
 * Encodings: Postgres (Prisma's migrations) has TIMESTAMP(3) *without* time zone holding UTC, and
 * JSONB; SQLite has TEXT for both. Timestamps are written as `YYYY-MM-DDTHH:MM:SS.sssZ` on SQLite
 * and as the same UTC wall clock without the zone on Postgres (a JS Date would be sent in the
 * process's local zone).
 */
import { sql, type Kysely } from 'kysely';
import type { DatabaseDialect } from '../ports.js';

export const SPEND_LOGS = 'LiteLLM_SpendLogs';
export const CALL_DETAILS = 'tollgate_call_details';

/** The daily tables and their entity column, as LiteLLM names them. */
export const DAILY_TABLES = {
  user: { table: 'LiteLLM_DailyUserSpend', column: 'user_id' },
  team: { table: 'LiteLLM_DailyTeamSpend', column: 'team_id' },
  organization: { table: 'LiteLLM_DailyOrganizationSpend', column: 'organization_id' },
  end_user: { table: 'LiteLLM_DailyEndUserSpend', column: 'end_user_id' },
  tag: { table: 'LiteLLM_DailyTagSpend', column: 'tag' },
} as const;

/** A value as it comes back from either driver. */
export type DbValue = string | number | bigint | boolean | Date | null | Record<string, unknown> | unknown[];

/** Rows are read and written as plain records; which columns exist is known only at run time. */
export type LooseRow = Record<string, DbValue | undefined>;

/** Kysely's view: every table a loose record (the store checks names against the live columns). */
export type SpendSchema = Record<string, LooseRow>;

/** Columns and unique keys of each table, asked once per store (tables do not change shape while we run). */
export class ColumnCatalog {
  private readonly cache = new Map<string, Promise<ReadonlySet<string>>>();
  private readonly uniqueCache = new Map<string, Promise<string[][]>>();

  constructor(
    private readonly db: Kysely<SpendSchema>,
    private readonly dialect: DatabaseDialect,
  ) {}

  columns(table: string): Promise<ReadonlySet<string>> {
    let found = this.cache.get(table);
    if (found === undefined) {
      found = this.load(table);
      this.cache.set(table, found);
      // A failed look-up (table not created yet) is asked again next time.
      found.catch(() => this.cache.delete(table));
    }
    return found;
  }

  /**
   * The column lists of the table's unique indexes other than its primary key (expression members,
   * such as LiteLLM's newest COALESCE(model_group, ''), are left out).
   */
  uniqueKeys(table: string): Promise<string[][]> {
    let found = this.uniqueCache.get(table);
    if (found === undefined) {
      found = this.loadUnique(table);
      this.uniqueCache.set(table, found);
      found.catch(() => this.uniqueCache.delete(table));
    }
    return found;
  }

  private async loadUnique(table: string): Promise<string[][]> {
    if (this.dialect === 'sqlite') {
      const indexes = (await sql<{ name: string }>`select name from pragma_index_list(${table}) where "unique" = 1 and origin <> 'pk'`.execute(this.db)).rows;
      const out: string[][] = [];
      for (const { name } of indexes) {
        const cols = (await sql<{ name: string | null }>`select name from pragma_index_info(${name}) order by seqno`.execute(this.db)).rows;
        out.push(cols.map((c) => c.name).filter((c): c is string => c !== null));
      }
      return out;
    }
    const rows = (
      await sql<{ cols: string }>`
        select string_agg(a.attname, ',' order by k.ord) as cols
        from pg_index x
        join pg_class t on t.oid = x.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        cross join lateral unnest(x.indkey) with ordinality as k(attnum, ord)
        join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
        where n.nspname = current_schema() and t.relname = ${table} and x.indisunique and not x.indisprimary
        group by x.indexrelid`.execute(this.db)
    ).rows;
    return rows.map((r) => r.cols.split(','));
  }

  private async load(table: string): Promise<ReadonlySet<string>> {
    const names =
      this.dialect === 'sqlite'
        ? (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(this.db)).rows.map((r) => r.name)
        : (
            await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(
              this.db,
            )
          ).rows.map((r) => r.name);
    if (names.length === 0) throw new Error(`table "${table}" does not exist (the LiteLLM schema migration has not run)`);
    return new Set(names);
  }
}

/** Only the entries of `row` whose column exists. */
export function existing(row: LooseRow, columns: ReadonlySet<string>): LooseRow {
  const out: LooseRow = {};
  for (const [k, v] of Object.entries(row)) if (columns.has(k) && v !== undefined) out[k] = v;
  return out;
}

export function encodeTime(dialect: DatabaseDialect, epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return dialect === 'sqlite' ? iso : iso.slice(0, -1).replace('T', ' ');
}

/**
 * Epoch ms from a stored DateTime: an ISO text (SQLite; a missing zone is UTC), or a Date that pg
 * built from a zone-less UTC wall clock as if it were local time.
 */
export function decodeTime(value: DbValue | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime() - value.getTimezoneOffset() * 60_000;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const iso = value.includes('T') ? value : value.replace(' ', 'T');
    const t = Date.parse(/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(iso) ? iso : `${iso}Z`);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** The stored text for a timestamp bound in a WHERE clause (same encoding as written, so text order is time order on SQLite). */
export const timeParam = encodeTime;

export function encodeJson(value: unknown): string {
  return JSON.stringify(value);
}

/** JSONB comes back parsed (pg), TEXT as a string (SQLite). */
export function decodeJson(value: DbValue | undefined): unknown {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value ?? null;
}

export function text(value: DbValue | undefined): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

export function textOrNull(value: DbValue | undefined): string | null {
  return value === null || value === undefined ? null : text(value);
}

/** Counts and sums: pg returns BIGINT as number (our parser) and SUM()/NUMERIC as text. */
export function num(value: DbValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') {
    const n = Number(value);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

export function numOrNull(value: DbValue | undefined): number | null {
  return value === null || value === undefined ? null : num(value);
}
