/**
 * `SpendLogStore` over Kysely: one implementation for SQLite and Postgres. Everything dialect-
 * specific (connection, BIGINT parsing) is settled in `sqlite/` and `postgres/` before a `Kysely`
 * handle reaches here, and the schema avoids constructs whose SQL differs between the two.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { SpendAggregate, SpendDimension, SpendLogFilter, SpendLogRow, SpendLogStore, SpendReportQuery } from '../ports.js';
import type { SpendLogsTable, StorageSchema } from './schema.js';

const DAY_MS = 86_400_000;
/**
 * Rows per INSERT statement: 44 columns × 250 stays far below both databases' bound-parameter
 * limits (SQLite 32766, Postgres 65535).
 */
const ROWS_PER_STATEMENT = 250;

type Eb = ExpressionBuilder<StorageSchema, 'spend_logs'>;

function filterExpression(eb: Eb, f: Omit<SpendLogFilter, 'limit'>): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (f.requestId !== undefined) conditions.push(eb('request_id', '=', f.requestId));
  if (f.apiKey !== undefined) conditions.push(eb('api_key', '=', f.apiKey));
  if (f.userId !== undefined) conditions.push(eb('user_id', '=', f.userId));
  if (f.teamId !== undefined) conditions.push(eb('team_id', '=', f.teamId));
  if (f.endUser !== undefined) conditions.push(eb('end_user', '=', f.endUser));
  if (f.from !== undefined) conditions.push(eb('start_time', '>=', f.from));
  if (f.to !== undefined) conditions.push(eb('start_time', '<', f.to));
  return eb.and(conditions);
}

/** SQL for each report dimension; integer division by a day gives the UTC day on both databases. */
const DIMENSION_SQL: Record<SpendDimension, RawBuilder<unknown>> = {
  day: sql`(start_time / ${sql.lit(DAY_MS)})`,
  api_key: sql.ref('api_key'),
  user_id: sql.ref('user_id'),
  team_id: sql.ref('team_id'),
  end_user: sql.ref('end_user'),
  model: sql`coalesce(upstream_model, requested_model)`,
  model_group: sql`coalesce(model_group, requested_model)`,
};

export class SqlSpendLogStore implements SpendLogStore {
  constructor(private readonly db: Kysely<StorageSchema>) {}

  async insertMany(rows: readonly SpendLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map(toTable);
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
        await trx
          .insertInto('spend_logs')
          .values(values.slice(i, i + ROWS_PER_STATEMENT))
          .onConflict((oc) => oc.column('call_id').doNothing())
          .execute();
      }
    });
  }

  async query(filter: SpendLogFilter): Promise<SpendLogRow[]> {
    let q = this.db
      .selectFrom('spend_logs')
      .selectAll()
      .where((eb) => filterExpression(eb, filter))
      .orderBy('start_time', 'desc')
      .orderBy('request_id', 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    const rows = await q.execute();
    return rows.map(fromTable);
  }

  async report(query: SpendReportQuery): Promise<SpendAggregate[]> {
    const dims = [...new Set(query.by)];
    let q = this.db
      .selectFrom('spend_logs')
      .select([
        ...dims.map((d) => DIMENSION_SQL[d].as(`d_${d}`)),
        sql<number>`count(*)`.as('requests'),
        sql<number>`count(cost_nano_usd)`.as('priced'),
        sql<number | string>`coalesce(sum(cost_nano_usd), 0)`.as('cost'),
        sql<number | string>`coalesce(sum(prompt_tokens), 0)`.as('prompt'),
        sql<number | string>`coalesce(sum(completion_tokens), 0)`.as('completion'),
        sql<number | string>`coalesce(sum(total_tokens), 0)`.as('total'),
      ])
      .where((eb) => filterExpression(eb, query));
    for (const d of dims) q = q.groupBy(DIMENSION_SQL[d]).orderBy(DIMENSION_SQL[d]);
    const rows = await q.execute();
    return rows.map((row) => {
      const record = row as Record<string, unknown>;
      const keys: SpendAggregate['keys'] = {};
      for (const d of dims) {
        const value = record[`d_${d}`];
        keys[d] = value === null || value === undefined ? null : d === 'day' ? dayString(toNumber(value)) : typeof value === 'string' ? value : JSON.stringify(value);
      }
      const requests = toNumber(row.requests);
      return {
        keys,
        requests,
        costNanoUsd: toNumber(row.cost),
        unpricedRequests: requests - toNumber(row.priced),
        promptTokens: toNumber(row.prompt),
        completionTokens: toNumber(row.completion),
        totalTokens: toNumber(row.total),
      };
    });
  }
}

/** Postgres returns SUM(bigint) as NUMERIC text; counts and sums are whole numbers either way. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  return 0;
}

function dayString(epochDay: number): string {
  return new Date(epochDay * DAY_MS).toISOString().slice(0, 10);
}

function toTable(row: SpendLogRow): SpendLogsTable {
  return { ...row, stream: row.stream ? 1 : 0, client_disconnected: row.client_disconnected ? 1 : 0 };
}

function fromTable(row: SpendLogsTable): SpendLogRow {
  return {
    ...row,
    start_time: toNumber(row.start_time),
    end_time: toNumber(row.end_time),
    cost_nano_usd: row.cost_nano_usd === null ? null : toNumber(row.cost_nano_usd),
    stream: row.stream === 1,
    client_disconnected: row.client_disconnected === 1,
  };
}
